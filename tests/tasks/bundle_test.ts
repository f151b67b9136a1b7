import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { runTask } from "./_run.ts";

Deno.test("deno task bundle: the single-file build runs synth and extract (worker threads and shader inside)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bundle_test_" });
  try {
    const out = join(dir, "coverhunter.js");
    const b = await runTask("bundle", ["-o", out]);
    assertEquals(b.code, 0, b.stderr);
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", `--allow-write=${dir}`, "--allow-env=LOG_TOKENS,LOG_STREAM", out, ...args],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
    assertEquals((await run(["synth", "set", "--works", "2", "--versions", "2", "--seconds", "2"])).code, 0);
    await Deno.writeTextFile(join(dir, "set", "hparams.yaml"), "aug_speed_mode: [1.0]\ndevice: cpu\n");
    const e = await run(["extract", "set", "--workers", "2"]);
    const text = new TextDecoder().decode(e.stdout) + new TextDecoder().decode(e.stderr);
    assertEquals(e.code, 0, text);
    assertOk(text.includes("4 recordings, 2 works, 4 feature files (4 computed, 0 reused)"), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
