import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertOk } from "../_assert.ts";
import { webgpuTest } from "../_webgpu.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { createAdamW } from "../../lib/train/adamw.ts";
import { adamwMomentValues, adamwParamValues, adamwUpdateWebGpu } from "../../lib/train/adamw_webgpu.ts";

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-6, Math.abs(b[i]!)));
  return worst;
}

/** Random parameter, gradient, moments (v >= 0) of `n` values, fresh each run. */
function randomState(n: number, seed: number) {
  const prng = createPrng(seed);
  const r = (s: number) => Float32Array.from({ length: n }, () => s * prng.normal());
  return { p: r(1), g: r(0.1), m: r(0.01), v: Float32Array.from(r(0.01), (x) => x * x) };
}

/** Two AdamW steps with a clip scale on the current backend; returns p, m, v of each parameter. */
async function twoSteps(seed: number): Promise<Float32Array[]> {
  const shapes = [[3, 5], [7], [2, 3, 4]];
  const prng = createPrng(seed);
  const params = Object.fromEntries(
    shapes.map((s, i) => [`w${i}`, tf.variable(tf.randomNormal(s, 0, 1, "float32", seed + i), true, `aw${seed}_${i}`)]),
  );
  const opt = createAdamW();
  for (let step = 0; step < 2; step++) {
    const grads = Object.fromEntries(
      shapes.map((
        s,
        i,
      ) => [`w${i}`, tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b) }, () => prng.normal()), s)]),
    );
    const scale = tf.scalar(0.37);
    opt.step(params, grads, 1e-3 * (step + 1), { gradScale: scale });
    tf.dispose([scale, ...Object.values(grads)]);
  }
  const state = await opt.adamwState();
  const out: Float32Array[] = [];
  for (const [name, v] of Object.entries(params)) {
    out.push(Float32Array.from(await v.data()), state.params[name]!.m, state.params[name]!.v);
  }
  opt.dispose();
  tf.dispose(Object.values(params));
  return out;
}

Deno.test("AdamW twins: the kernels' arithmetic equals the optimiser's tfjs-op path on cpu", async () => {
  await initBackend("cpu");
  const seed = Date.now() % 100000; // fresh each run
  const { p, g, m, v } = randomState(500, seed);
  const scale = 0.37, lr = 1e-3, wd = 0.01, b1 = 0.8, b2 = 0.99, t = 3;
  const m1 = adamwMomentValues(m, g, scale, b1, false);
  const v1 = adamwMomentValues(v, g, scale, b2, true);
  const p1 = adamwParamValues(p, m1, v1, {
    decay: 1 - lr * wd,
    stepSize: lr / (1 - b1 ** t),
    bc2Sqrt: Math.sqrt(1 - b2 ** t),
    eps: 1e-8,
  });
  // The op path, seeded with the same state at step t - 1.
  const opt = createAdamW({ beta1: b1, beta2: b2, weightDecay: wd });
  opt.loadAdamwState({ params: { w: { step: t - 1, shape: [500], m, v } } });
  const w = tf.variable(tf.tensor(p), true, `twin${seed}`);
  const gt = tf.tensor(g), st = tf.scalar(scale);
  opt.step({ w }, { w: gt }, lr, { gradScale: st });
  const state = (await opt.adamwState()).params.w!;
  assertOk(maxRel(state.m, m1) < 1e-6, `m ${maxRel(state.m, m1)}`);
  assertOk(maxRel(state.v, v1) < 1e-6, `v ${maxRel(state.v, v1)}`);
  assertOk(maxRel(await w.data(), p1) < 1e-6, `p ${maxRel(await w.data(), p1)}`);
  tf.dispose([w, gt, st]);
  opt.dispose();
});

webgpuTest("AdamW WGSL kernels equal their TS twins; two fused webgpu steps equal the cpu op path", async () => {
  const seed = Date.now() % 100000; // fresh each run
  const n = 1000;
  const { p, g, m, v } = randomState(n, seed);
  const hp = {
    beta1: 0.8,
    beta2: 0.99,
    decay: 1 - 2e-3 * 0.01,
    stepSize: 2e-3 / (1 - 0.8 ** 2),
    bc2Sqrt: Math.sqrt(1 - 0.99 ** 2),
    eps: 1e-8,
  };
  const ts = [
    tf.tensor(p, [10, 100]),
    tf.tensor(g, [10, 100]),
    tf.tensor(m, [10, 100]),
    tf.tensor(v, [10, 100]),
    tf.scalar(0.37),
  ];
  const r = adamwUpdateWebGpu(ts[0]!, ts[1]!, ts[2]!, ts[3]!, ts[4]!, hp);
  assertEquals(r.p.shape, [10, 100]);
  const m1 = adamwMomentValues(m, g, 0.37, hp.beta1, false);
  const v1 = adamwMomentValues(v, g, 0.37, hp.beta2, true);
  const p1 = adamwParamValues(p, m1, v1, hp);
  assertOk(maxRel(await r.m.data(), m1) < 1e-4, `m ${maxRel(await r.m.data(), m1)}`);
  assertOk(maxRel(await r.v.data(), v1) < 1e-4, `v ${maxRel(await r.v.data(), v1)}`);
  assertOk(maxRel(await r.p.data(), p1) < 1e-4, `p ${maxRel(await r.p.data(), p1)}`);
  tf.dispose([...ts, r.p, r.m, r.v]);
  const gpu = await twoSteps(seed);
  await initBackend("cpu");
  const cpu = await twoSteps(seed);
  for (let i = 0; i < cpu.length; i++) {
    assertOk(maxRel(gpu[i]!, cpu[i]!) < 1e-4, `array ${i}: ${maxRel(gpu[i]!, cpu[i]!)}`);
  }
});
