import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { ROOT, runTask, tempDataDir } from "./_run.ts";

Deno.test("deno task demo runs end to end on a small built-in set", async () => {
  const rel = await tempDataDir("demo");
  try {
    const r = await runTask("demo", [
      "--dir",
      rel,
      "--works",
      "3",
      "--versions",
      "2",
      "--seconds",
      "3",
      "--device",
      "cpu",
    ]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    for (
      const want of [
        "demo 1/3",
        "demo 2/3",
        "6 recordings, 3 works, 18 feature files",
        "demo 3/3: baseline",
        "demo done",
      ]
    ) {
      assertOk(r.stdout.includes(want), `'${want}' missing from:\n${r.stdout}`);
    }
  } finally {
    await Deno.remove(join(ROOT, rel), { recursive: true });
  }
});

Deno.test("the CLI lists its commands and says which are not available yet", async () => {
  const r = await runTask("cli", ["--help"]);
  assertEquals(r.code, 0);
  for (const c of ["synth", "extract", "bench", "demo", "train", "eval", "identify", "align"]) {
    assertOk(r.stdout.includes(c));
  }
  const t = await runTask("cli", ["eval", "egs/covers80"]);
  assertEquals(t.code, 2);
  assertOk(t.stderr.includes("'eval' is not available in this version"), t.stderr);
});
