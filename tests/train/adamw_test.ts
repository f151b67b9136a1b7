import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { type AdamWState, createAdamW } from "../../lib/train/adamw.ts";
import { createPrng } from "../../lib/data/prng.ts";

await tf.setBackend("cpu");

/** torch.optim.AdamW's single-tensor update in float64, one state per parameter. */
class ReferenceAdamW {
  state = new Map<string, { step: number; m: number[]; v: number[] }>();
  constructor(readonly b1: number, readonly b2: number, readonly eps: number, readonly wd: number) {}
  step(params: Record<string, number[]>, grads: Record<string, number[] | undefined>, lr: number): void {
    for (const [name, g] of Object.entries(grads)) {
      if (g === undefined) continue;
      const p = params[name]!;
      const s = this.state.get(name) ?? { step: 0, m: p.map(() => 0), v: p.map(() => 0) };
      this.state.set(name, s);
      s.step += 1;
      const bc1 = 1 - this.b1 ** s.step;
      const bc2 = 1 - this.b2 ** s.step;
      for (let i = 0; i < p.length; i++) {
        p[i] = p[i]! * (1 - lr * this.wd);
        s.m[i] = this.b1 * s.m[i]! + (1 - this.b1) * g[i]!;
        s.v[i] = this.b2 * s.v[i]! + (1 - this.b2) * g[i]! * g[i]!;
        const denom = Math.sqrt(s.v[i]!) / Math.sqrt(bc2) + this.eps;
        p[i] = p[i]! - (lr / bc1) * s.m[i]! / denom;
      }
    }
  }
}

function randomArray(prng: ReturnType<typeof createPrng>, n: number, scale: number): number[] {
  return Array.from({ length: n }, () => Math.fround(prng.normal() * scale));
}

Deno.test("AdamW.step() matches PyTorch's AdamW formula (float64) over several steps", async () => {
  const prng = createPrng(11);
  const init = { w: randomArray(prng, 6, 1), b: randomArray(prng, 3, 0.1), frozen: randomArray(prng, 2, 1) };
  const ref = new ReferenceAdamW(0.8, 0.99, 1e-8, 0.01);
  const refParams = { w: [...init.w], b: [...init.b], frozen: [...init.frozen] };
  const vars = {
    w: tf.variable(tf.tensor2d(init.w, [2, 3]), true, "adamw_test_w"),
    b: tf.variable(tf.tensor1d(init.b), true, "adamw_test_b"),
    frozen: tf.variable(tf.tensor1d(init.frozen), true, "adamw_test_frozen"),
  };
  const opt = createAdamW(); // defaults: 0.8, 0.99, 1e-8, 0.01
  const lrs = [1e-3, 1e-3, 5e-2, 2e-2, 1e-3, 0.1];
  lrs.forEach((lr, step) => {
    const gw = randomArray(prng, 6, 0.5);
    // b gets no gradient on step 2: its own step count (bias correction) must lag w's.
    const gb = step === 2 ? undefined : randomArray(prng, 3, 2);
    ref.step(refParams, { w: gw, b: gb, frozen: undefined }, lr);
    const gwT = tf.tensor2d(gw, [2, 3]);
    const gbT = gb === undefined ? undefined : tf.tensor1d(gb);
    opt.step(vars, { w: gwT, b: gbT, frozen: undefined }, lr);
    tf.dispose([gwT, ...(gbT ? [gbT] : [])]);
  });
  for (const name of ["w", "b"] as const) {
    const got = vars[name].dataSync();
    refParams[name].forEach((want, i) => assertAlmostEquals(got[i]!, want, 2e-6 * Math.max(1, Math.abs(want)), name));
  }
  // No gradient ever: untouched (no weight decay), and no state.
  assertEquals(Array.from(vars.frozen.dataSync()), init.frozen);
  const state = await opt.adamwState();
  assertEquals(Object.keys(state.params).sort(), ["b", "w"]);
  assertEquals(state.params.w!.step, 6);
  assertEquals(state.params.b!.step, 5);
  opt.dispose();
  tf.dispose(Object.values(vars));
});

Deno.test("AdamW first step moves each weight by about lr·sign(g) and decays it by lr·wd", () => {
  const w = tf.variable(tf.tensor1d([2, -2]));
  const g = tf.tensor1d([1e-3, -5]);
  const opt = createAdamW({ beta1: 0.9, beta2: 0.999, weightDecay: 0.1 });
  opt.step({ w }, { w: g }, 0.01);
  const [a, b] = w.dataSync();
  // p·(1 − 0.01·0.1) − 0.01·g/(|g| + eps)
  assertAlmostEquals(a!, 2 * (1 - 1e-3) - 0.01 * 1e-3 / (1e-3 + 1e-8), 1e-6);
  assertAlmostEquals(b!, -2 * (1 - 1e-3) + 0.01, 1e-6);
  opt.dispose();
  tf.dispose([w, g]);
});

Deno.test("AdamW state round-trips through plain arrays: a restored optimiser continues identically", async () => {
  const prng = createPrng(3);
  const init = randomArray(prng, 4, 1);
  const grads = Array.from({ length: 5 }, () => randomArray(prng, 4, 1));
  const a = tf.variable(tf.tensor1d(init));
  const optA = createAdamW();
  for (const g of grads.slice(0, 3)) tf.tidy(() => optA.step({ p: a }, { p: tf.tensor1d(g) }, 0.01));
  const saved: AdamWState = await optA.adamwState();
  // A JSON-like copy (what a checkpoint writer would store), then a fresh optimiser and parameter.
  const copy: AdamWState = {
    params: Object.fromEntries(
      Object.entries(saved.params).map(([k, s]) => [k, { ...s, m: Float32Array.from(s.m), v: Float32Array.from(s.v) }]),
    ),
  };
  const b = tf.variable(tf.tensor1d(Array.from(a.dataSync())));
  const optB = createAdamW();
  optB.loadAdamwState(copy);
  copy.params.p!.m.fill(99); // the optimiser holds its own copy
  for (const g of grads.slice(3)) {
    tf.tidy(() => optA.step({ p: a }, { p: tf.tensor1d(g) }, 0.01));
    tf.tidy(() => optB.step({ p: b }, { p: tf.tensor1d(g) }, 0.01));
  }
  assertEquals(Array.from(b.dataSync()), Array.from(a.dataSync()));
  assertEquals((await optB.adamwState()).params.p!.step, 5);
  saved.params.p!.v.fill(7); // snapshots share no memory with the optimiser
  assertEquals((await optA.adamwState()).params.p!.v.some((x) => x === 7), false);
  assertThrows(
    () =>
      optB.loadAdamwState({ params: { p: { step: 1, shape: [3], m: new Float32Array(4), v: new Float32Array(4) } } }),
    "shape [3]",
  );
  optA.dispose();
  optB.dispose();
  tf.dispose([a, b]);
});

Deno.test("AdamW.step() keeps tf.memory() steady and validates before updating", () => {
  const p = tf.variable(tf.zeros([3]));
  const q = tf.variable(tf.ones([2]));
  const opt = createAdamW();
  const g = tf.ones([3]);
  const bad = tf.ones([3]);
  opt.step({ p }, { p: g }, 1e-3); // creates the moments
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) opt.step({ p }, { p: g }, 1e-3);
  assertEquals(tf.memory().numTensors, before);
  const snapshot = Array.from(p.dataSync());
  assertThrows(() => opt.step({ p, q }, { p: g, q: bad }, 1e-3), "'q' has shape [2] but its gradient [3]");
  assertEquals(Array.from(p.dataSync()), snapshot); // p untouched although its gradient was fine
  assertThrows(() => opt.step({ p }, { r: g }, 1e-3), "gradient 'r' has no parameter");
  assertThrows(() => opt.step({ p }, { p: g }, Number.NaN), "'lr'");
  assertThrows(() => createAdamW({ beta1: 1 }), "'beta1'");
  opt.dispose();
  assertEquals(tf.memory().numTensors, before - 2);
  tf.dispose([p, q, g, bad]);
});
