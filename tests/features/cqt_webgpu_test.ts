import { assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { GOLDEN } from "../_golden.ts";
import { readNpy } from "../../lib/io/npy.ts";
import { requestGpuDevice } from "../../lib/gpu/device.ts";
import { createCqtKernel } from "../../lib/features/cqt_kernel.ts";
import { cqt, type CqtResult } from "../../lib/features/cqt.ts";
import {
  cqtDispatchSizes,
  createCqtPipeline,
  FFT_WORKGROUP_SIZE,
  planCqtPairs,
  PRODUCT_WORKGROUP_SIZE,
  stockhamPasses,
} from "../../lib/features/cqt_webgpu.ts";

// GPU tests are ignored (never passed) without an adapter; the arithmetic tests below need no device.
const adapter = await navigator.gpu?.requestAdapter();
const ignore = adapter === null || adapter === undefined;

const kernel = createCqtKernel();

/** max and mean |gpu − cpu| over cells where the CPU value is above −100 dB. */
function compare(gpu: CqtResult, cpu: CqtResult): { max: number; mean: number } {
  assertEquals([gpu.frames, gpu.bins], [cpu.frames, cpu.bins]);
  let max = 0, sum = 0, n = 0;
  for (let i = 0; i < cpu.data.length; i++) {
    if (cpu.data[i]! <= -100) continue;
    const d = Math.abs(gpu.data[i]! - cpu.data[i]!);
    if (!(d <= max)) max = d;
    sum += d;
    n++;
  }
  return { max, mean: sum / n };
}

Deno.test("stockhamPasses() covers log2 L with radix-4 passes and a final radix-2 when needed", () => {
  assertEquals(stockhamPasses(16384), [1, 4, 16, 64, 256, 1024, 4096].map((ns) => ({ radix: 4, ns })));
  assertEquals(stockhamPasses(8192).map((p) => `${p.radix}:${p.ns}`), [
    "4:1",
    "4:4",
    "4:16",
    "4:64",
    "4:256",
    "4:1024",
    "2:4096",
  ]);
});

Deno.test("planCqtPairs() pairs consecutive frames per signal; cqtDispatchSizes() covers every invocation", () => {
  assertEquals(planCqtPairs([3, 2, 0, 1]), [
    { signal: 0, frame: 0, hasB: true },
    { signal: 0, frame: 2, hasB: false },
    { signal: 1, frame: 0, hasB: true },
    { signal: 3, frame: 0, hasB: false },
  ]);
  const s = cqtDispatchSizes(3, 16384, 96);
  assertEquals(s.radix4 * FFT_WORKGROUP_SIZE >= 3 * 4096, true);
  assertEquals(s.radix2 * FFT_WORKGROUP_SIZE >= 3 * 8192, true);
  assertEquals(s.product, Math.ceil((3 * 96) / PRODUCT_WORKGROUP_SIZE));
});

Deno.test({
  name: "CqtPipeline matches cpu cqt() within 0.01 dB above -100 dB (software adapter ok)",
  ignore,
  async fn(t) {
    const gpu = await requestGpuDevice();
    assertOk(gpu !== null);
    try {
      const t0 = performance.now();
      // Small chunks so that one run spans several chunks and chunks mix signals.
      const pipe = await createCqtPipeline(gpu, kernel, { maxPairsPerChunk: 16 });
      const buildMs = performance.now() - t0;
      const lena = (await readNpy(GOLDEN("cqt_lena_input.npy"))).data.subarray(16000 * 3, 16000 * 5);
      const tone = (await readNpy(GOLDEN("cqt_two_tone_input.npy"))).data.subarray(0, 16000 + 300); // 25 frames
      const chirp = Float64Array.from((await readNpy(GOLDEN("cqt_chirp_input.npy"))).data.subarray(0, 16000));
      const signals = [lena, tone, chirp];
      const t1 = performance.now();
      const results = await pipe.runMany(signals);
      const runS = (performance.now() - t1) / 1000;
      const audioS = signals.reduce((a, x) => a + x.length, 0) / 16000;
      await t.step(
        `${gpu.description}: build + precision probe ${buildMs.toFixed(0)} ms, ${audioS.toFixed(1)} s of audio ` +
          `in ${(runS * 1000).toFixed(0)} ms (${(audioS / runS).toFixed(1)}x real time)`,
        () => {},
      );
      for (const [i, name] of ["lena 3-5 s", "two_tone 0-1.02 s (odd T)", "chirp 0-1 s (float64 input)"].entries()) {
        const { max, mean } = compare(results[i]!, cqt(signals[i]!, kernel));
        await t.step(`${name}: max |Δ| ${max.toFixed(5)} dB, mean |Δ| ${mean.toExponential(2)} dB`, () => {
          assertOk(max <= 0.01, `${name}: max |Δ| ${max} dB`);
        });
      }
      const single = await pipe.run(tone);
      assertEquals(Array.from(single.data), Array.from(results[1]!.data), "run() equals runMany() for the same signal");
      assertEquals((await pipe.run(new Float32Array(100))).frames, 0);
      pipe.destroy();
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "CqtPipeline with an L = 8192 kernel (final radix-2 pass) matches cpu cqt() within 0.01 dB",
  ignore,
  async fn(t) {
    const gpu = await requestGpuDevice();
    assertOk(gpu !== null);
    try {
      const k = createCqtKernel({ fmin: 64, nBins: 84 });
      assertEquals(k.fftLength, 8192);
      const pipe = await createCqtPipeline(gpu, k);
      const x = (await readNpy(GOLDEN("cqt_lena_input.npy"))).data.subarray(16000 * 6, 16000 * 7);
      const { max, mean } = compare(await pipe.run(x), cqt(x, k));
      await t.step(
        `lena 6-7 s, fmin 64, 84 bins: max |Δ| ${max.toFixed(5)} dB, mean |Δ| ${mean.toExponential(2)} dB`,
        () => {
          assertOk(max <= 0.01, `max |Δ| ${max} dB`);
        },
      );
      pipe.destroy();
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "CqtPipeline runs reject after the device is destroyed (no silent zeros)",
  ignore,
  async fn() {
    const gpu = await requestGpuDevice();
    assertOk(gpu !== null);
    const pipe = await createCqtPipeline(gpu, kernel, { maxPairsPerChunk: 2 });
    gpu.destroy();
    await assertRejects(() => pipe.run(new Float32Array(3200)), "destroyed");
  },
});

Deno.test({
  name: "CqtPipeline timing mode: the same magnitudes, and milliseconds booked for every pass and host phase",
  ignore,
  async fn() {
    const gpu = await requestGpuDevice();
    assertOk(gpu !== null);
    try {
      const x = Float32Array.from({ length: 16000 }, (_, i) => Math.sin(i * 0.05) + 0.1 * Math.sin(i * 1.3));
      const plain = await createCqtPipeline(gpu, kernel, { maxPairsPerChunk: 4 });
      const timed = await createCqtPipeline(gpu, kernel, { maxPairsPerChunk: 4, timing: true });
      assertEquals(timed.timings.size, 0); // the construction probe is not booked
      const [a] = await plain.runManyMagnitudes([x]);
      const [b] = await timed.runManyMagnitudes([x]);
      assertEquals(Array.from(b!.data), Array.from(a!.data));
      const phases = [...timed.timings.keys()];
      assertEquals(phases.filter((p) => p.startsWith("GPU: FFT pass")).length, stockhamPasses(kernel.fftLength).length);
      for (const p of ["host: pack samples and parameters", "GPU: kernel product", "GPU: copy + map for readback"]) {
        assertOk(phases.includes(p), `missing phase ${p}: ${phases}`);
      }
      assertOk([...timed.timings.values()].every((ms) => ms >= 0));
      assertEquals(plain.timings.size, 0);
      plain.destroy();
      timed.destroy();
    } finally {
      gpu.destroy();
    }
  },
});
