import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { ROOT, runTask, tempDataDir } from "./_run.ts";
import { GOLDEN } from "../_golden.ts";
import { writeSynthDataset } from "../../lib/data/synth_dataset.ts";
import { extractFeatures } from "../../lib/data/extract.ts";
import { createJobRunner } from "../../lib/data/job_runner.ts";
import { parseNpy } from "../../lib/io/npy.ts";

Deno.test("deno task eval: an original PyTorch model folder as is, self-retrieval, bootstrap, files out; audio-only lines", async () => {
  const data = await tempDataDir("eval");
  const out = data.replace(/^data\//, "egs/");
  const modelDir = await Deno.makeTempDir({ prefix: "orig_model_" });
  try {
    // The original's layout: config/hparams.yaml + pt_model/g_XXXXXXXX (JSON is YAML).
    await Deno.mkdir(join(modelDir, "config"), { recursive: true });
    await Deno.mkdir(join(modelDir, "pt_model"), { recursive: true });
    await Deno.copyFile(GOLDEN("model_tiny_hparams.json"), join(modelDir, "config", "hparams.yaml"));
    await Deno.copyFile(GOLDEN("g_00000003"), join(modelDir, "pt_model", "g_00000003"));
    const cwd = Deno.cwd();
    Deno.chdir(ROOT);
    try {
      await writeSynthDataset(data, { works: 3, versions: 2, seconds: 4, seed: 6 });
      await Deno.writeTextFile(join(data, "hparams.yaml"), "aug_speed_mode: [1.0]\n");
      const runner = createJobRunner({
        frontEnd: { kind: "pycqt", fmin: 32, nBins: 96, binsPerOctave: 12 },
        workers: 0,
      });
      await extractFeatures(data, { runner });
      await runner.close();
    } finally {
      Deno.chdir(cwd);
    }
    const full = join(data, "full.txt");
    const r = await runTask("eval", [modelDir, full, full, "--bootstrap", "50", "--out", out, "--device", "wasm"]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assertOk(r.stdout.includes("pt_model/g_00000003") && r.stdout.includes("mAP "), r.stdout);
    const metrics = JSON.parse(await Deno.readTextFile(join(ROOT, out, "metrics.json")));
    assertOk(metrics.mAP >= 0 && metrics.mAP <= 1 && metrics.bootstrap.iterations === 50, JSON.stringify(metrics));
    const dist = parseNpy(await Deno.readFile(join(ROOT, out, "dist.npy")), "dist.npy", true);
    assertEquals(dist.shape, [6, 6]);
    assertEquals(dist.data[0], -1); // the diagonal is excluded
    assertEquals((await Deno.readTextFile(join(ROOT, out, "ranks.txt"))).trim().split("\n").length, 6);

    // The same recordings as dataset.txt lines (only 'wav' and 'song'): features computed and cached by eval, works
    // numbered from the song names; the metrics are those of the extracted features.
    const dataset = join(data, "dataset.txt");
    const out2 = `${out}_wav`;
    const r2 = await runTask("eval", [modelDir, dataset, dataset, "--out", out2, "--device", "wasm"]);
    assertEquals(r2.code, 0, r2.stdout + r2.stderr);
    const metrics2 = JSON.parse(await Deno.readTextFile(join(ROOT, out2, "metrics.json")));
    assertOk(Math.abs(metrics2.mAP - metrics.mAP) < 1e-9, `${metrics2.mAP} vs ${metrics.mAP}`);
    const cache = join(ROOT, out2, "feat_cache");
    const cached = [...Deno.readDirSync(cache)].filter((e) => e.name.endsWith(".npy")).map((e) => e.name);
    assertEquals(cached.length, 6);
    const mtime = (await Deno.stat(join(cache, cached[0]!))).mtime;
    const r3 = await runTask("eval", [modelDir, dataset, dataset, "--out", out2, "--device", "wasm"]);
    assertEquals(r3.code, 0, r3.stdout + r3.stderr);
    assertEquals((await Deno.stat(join(cache, cached[0]!))).mtime, mtime); // read back, not recomputed
    await Deno.remove(join(ROOT, out2), { recursive: true });
  } finally {
    await Deno.remove(join(ROOT, data), { recursive: true });
    await Deno.remove(join(ROOT, out), { recursive: true }).catch(() => {});
    await Deno.remove(modelDir, { recursive: true });
  }
});
