import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { createFrontEnd } from "../../lib/features/front_end.ts";
import { createJobRunner } from "../../lib/data/job_runner.ts";
import { extractFeatures } from "../../lib/data/extract.ts";
import { writeSynthDataset } from "../../lib/data/synth_dataset.ts";
import { readLines } from "../../lib/io/lines.ts";
import { readNpy } from "../../lib/io/npy.ts";
import { createPrng } from "../../lib/data/prng.ts";

// GPU tests are ignored (never passed) without an adapter.
const adapter = await navigator.gpu?.requestAdapter();
const ignore = adapter === null || adapter === undefined;
const OPTS = { kind: "pycqt", fmin: 32, nBins: 96, binsPerOctave: 12 } as const;

function maxDiffAbove100(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (b[i]! > -100) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test("createFrontEnd() nnaudio: bins and frames follow nnAudio (T = floor(N/640) + 1)", async () => {
  const fe = await createFrontEnd({ ...OPTS, kind: "nnaudio", nBins: 84 });
  const prng = createPrng(1);
  const y = Float32Array.from({ length: 16000 }, () => prng.normal() * 0.1);
  const [f] = await fe.computeMany([y]);
  assertEquals([f!.frames, f!.bins], [26, 84]);
});

Deno.test({
  name: "createFrontEnd() on WebGPU equals the CPU front end within 0.01 dB above -100 dB, in extract too",
  ignore,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "fe_gpu_" });
    await writeSynthDataset(dir, { works: 2, versions: 1, seconds: 2, seed: 9 });
    const feats: Record<string, Float32Array[]> = {};
    const runs = [["cpu", 0], ["webgpu", 0], ["webgpu", 1]] as const;
    for (const [device, workers] of runs) {
      await Deno.writeTextFile(join(dir, "hparams.yaml"), `aug_speed_mode: [0.9, 1.0]\ndevice: ${device}\n`);
      await Deno.remove(join(dir, "cqt_feat"), { recursive: true }).catch(() => {});
      const runner = createJobRunner({ frontEnd: { ...OPTS, device }, workers });
      const s = await extractFeatures(dir, { runner });
      await runner.close();
      assertEquals(s.failures, []);
      const full = await readLines(join(dir, "full.txt"));
      feats[`${device}${workers}`] = await Promise.all(full.map(async (l) => (await readNpy(String(l.feat))).data));
    }
    let worst = 0;
    feats.cpu0!.forEach((c, i) => worst = Math.max(worst, maxDiffAbove100(feats.webgpu0![i]!, c)));
    await t.step(`extract on WebGPU vs CPU: max |Δ| ${worst.toExponential(2)} dB over 4 feature files`, () => {
      assertOk(worst <= 0.01);
    });
    await t.step("extract on WebGPU in a worker thread gives the same features as in-process", () => {
      assertEquals(feats.webgpu1, feats.webgpu0);
    });
    await Deno.remove(dir, { recursive: true });
  },
});
