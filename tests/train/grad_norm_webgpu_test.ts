import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertOk, relErr } from "../_assert.ts";
import { webgpuTest } from "../_webgpu.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { SUM_SQUARES_GROUP, sumSquaresValues, sumSquaresWebGpu } from "../../lib/train/grad_norm_webgpu.ts";
import { gradNormScale } from "../../lib/train/clip.ts";

/** 13 arrays (three dispatch groups) of sizes 1 to 300000: fresh values each run. */
function arrays(): Float32Array[] {
  const p = createPrng(Date.now() % 100000);
  const sizes = [1, 7, 255, 256, 257, 1000, 300000, 3, 64, 4096, 12, 5000, 2];
  return sizes.map((n) => Float32Array.from({ length: n }, () => p.normal()));
}

Deno.test("sumSquaresValues() is the sum of squares; gradNormScale() on cpu is its square root", async () => {
  await initBackend("cpu");
  const a = arrays();
  const want = sumSquaresValues(a);
  assertEquals(want.length, a.length);
  assertOk(Math.abs(want[0]! - a[0]![0]! ** 2) <= 1e-6 * want[0]!);
  const grads = Object.fromEntries(a.map((x, i) => [`g${i}`, tf.tensor(x)]));
  const { norm, scale } = gradNormScale(grads, 1);
  const total = want.reduce((s, v) => s + v, 0);
  assertOk(Math.abs((await norm.data())[0]! - Math.sqrt(total)) <= 1e-5 * Math.sqrt(total));
  tf.dispose([norm, scale, ...Object.values(grads)]);
});

webgpuTest("sum-of-squares WGSL kernel equals its TS twin; gradNormScale() on webgpu equals cpu", async () => {
  assertOk(13 > 2 * SUM_SQUARES_GROUP); // three groups, the last one partial
  const a = arrays();
  const ts = a.map((x, i) => tf.tensor(x, i === 6 ? [300, 1000] : [x.length]));
  const s = sumSquaresWebGpu(ts);
  assertEquals(s.shape, [a.length]);
  const err = relErr(await s.data(), sumSquaresValues(a));
  assertOk(err < 1e-5, `rel err ${err}`);
  const gpu = gradNormScale(Object.fromEntries(ts.map((t, i) => [`g${i}`, t])), 1);
  const gpuNorm = (await gpu.norm.data())[0]!;
  tf.dispose([s, gpu.norm, gpu.scale, ...ts]);
  await initBackend("cpu");
  const grads = Object.fromEntries(a.map((x, i) => [`g${i}`, tf.tensor(x)]));
  const { norm, scale } = gradNormScale(grads, 1);
  const cpuNorm = (await norm.data())[0]!;
  assertOk(Math.abs(gpuNorm - cpuNorm) <= 1e-5 * cpuNorm, `${gpuNorm} vs ${cpuNorm}`);
  tf.dispose([norm, scale, ...Object.values(grads)]);
});
