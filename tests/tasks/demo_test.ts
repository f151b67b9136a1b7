import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { ROOT, runTask, tempDataDir } from "./_run.ts";

Deno.test("deno task demo runs end to end on a small built-in set: synth, extract, train, retrieval, report, identify", async () => {
  const rel = await tempDataDir("demo");
  const egs = rel.replace(/^data\//, "egs/");
  try {
    const r = await runTask("demo", [
      ...["--dir", rel, "--egs", egs, "--works", "8", "--versions", "2", "--seconds", "8", "--epochs", "1"],
      ...["--device", "cpu"],
    ]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    const wants = [
      "demo 1/6",
      "16 recordings, 8 works, 48 feature files",
      "demo 3/6: training",
      "epoch 0 (untrained) heldout: mAP",
      "epoch 1/1 done",
      "CoverHunter model, trained (epoch 1): mAP",
      "demo 5/6: report",
      "demo 6/6: identify",
      "added 15 tracks",
      "index egs/",
      "demo done",
    ];
    for (const want of wants) assertOk(r.stdout.includes(want), `'${want}' missing from:\n${r.stdout}`);
    // The report page and the index exist; identify printed a verdict for the held-out recording.
    assertOk((await Deno.stat(join(ROOT, egs, "report.html"))).size > 10000);
    assertOk(/\(1 chunk\): (version of|no version)/.test(r.stdout), r.stdout);
  } finally {
    await Deno.remove(join(ROOT, rel), { recursive: true });
    await Deno.remove(join(ROOT, egs), { recursive: true }).catch(() => {});
  }
});

Deno.test("the CLI lists its commands and rejects unknown ones", async () => {
  const r = await runTask("cli", ["--help"]);
  assertEquals(r.code, 0);
  for (const c of ["synth", "extract", "train", "bench", "demo", "eval", "index", "identify", "align", "report"]) {
    assertOk(r.stdout.includes(`  ${c} `), c);
  }
  const t = await runTask("cli", ["idnetify", "egs/covers80"]);
  assertEquals(t.code, 2);
  assertOk(t.stderr.includes("unknown command 'idnetify'"), t.stderr);
});
