import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { runTask } from "./_run.ts";

Deno.test("deno task bundle: the single-file build runs synth, extract and train (worker threads and shader inside)", async () => {
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
    // Training split over 2 threads: the bundle is also the training workers' entry.
    await Deno.mkdir(join(dir, "egs", "config"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "egs", "config", "hparams.yaml"),
      "train_path: set/full.txt\nchunk_frame: [20]\nchunk_s: 2.4\nm_per_class: 2\nbatch_size: 4\nmax_epochs: 1\n" +
        "embed_dim: 16\nencoder: {output_dims: 16, num_blocks: 1, attention_dim: 16}\ndevice: cpu\n",
    );
    const t = await run(["train", "egs", "--workers", "2", "--max-steps", "1"]);
    const trainText = new TextDecoder().decode(t.stdout) + new TextDecoder().decode(t.stderr);
    assertEquals(t.code, 0, trainText);
    assertOk(trainText.includes("split over 2 thread") && trainText.includes("stopped by max steps"), trainText);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
