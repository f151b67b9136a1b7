import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { centerLoss } from "../../lib/train/center_loss.ts";
import { createPrng } from "../../lib/data/prng.ts";

await tf.setBackend("cpu");

function random(seed: number, n: number, dim: number): number[][] {
  const prng = createPrng(seed);
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => Math.fround(prng.normal())));
}

/** CenterLoss.forward in float64: Σ_b ‖f_b − c_{y_b}‖², masked-out entries clamped up to 1e-12, / B. */
function reference(f: number[][], y: number[], c: number[][]): number {
  let sum = 0;
  f.forEach((row, b) =>
    c.forEach((center, k) => {
      const d = k === y[b] ? row.reduce((s, v, i) => s + (v - center[i]!) ** 2, 0) : 0;
      sum += Math.min(Math.max(d, 1e-12), 1e12);
    })
  );
  return sum / f.length;
}

Deno.test("centerLoss() matches the float64 formula on random features and centers", () => {
  const f = random(1, 5, 8);
  const c = random(2, 7, 8);
  const y = [0, 6, 3, 3, 1];
  const got = tf.tidy(() => centerLoss(tf.tensor2d(f), Int32Array.from(y), tf.tensor2d(c)).dataSync()[0]!);
  assertAlmostEquals(got, reference(f, y, c), 1e-5 * reference(f, y, c));
});

Deno.test("centerLoss() adds C·1e-12 per sample when every distance is 0 (30000 classes)", () => {
  const classes = 30000;
  const centers = tf.tidy(() => tf.concat([tf.tensor2d([[1, 2], [3, 4]]), tf.zeros([classes - 2, 2])])) as tf.Tensor2D;
  const got = tf.tidy(() => centerLoss(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.of(0, 1), centers).dataSync()[0]!);
  // Σ over the 2 × 30000 clamped entries = 60000·1e-12, divided by B = 2 (float32 summation: 1e-3 relative).
  assertAlmostEquals(got, 3e-8, 3e-11);
  centers.dispose();
});

Deno.test("centerLoss() gradients are 2(f − c)/B for features and the opposite, summed, for centers", () => {
  const f = [[1, 0], [0, 3], [2, 2]];
  const c = [[0, 0], [0, 1], [5, 5]];
  const y = Int32Array.of(0, 1, 0);
  const [gf, gc] = tf.tidy(() => {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => centerLoss(a as tf.Tensor2D, y, b as tf.Tensor2D));
    return g([tf.tensor2d(f), tf.tensor2d(c)]).map((t) => Array.from(t.dataSync()));
  });
  const b = 3;
  [2 / b, 0, 0, 4 / b, 4 / b, 4 / b].forEach((w, i) => assertAlmostEquals(gf![i]!, w, 1e-6));
  // c0 ← samples 0 and 2: −2((1,0) + (2,2))/3; c1 ← sample 1: −2(0,2)/3; c2: no sample → 0.
  const want = [-6 / b, -4 / b, 0, -4 / b, 0, 0];
  want.forEach((w, i) => assertAlmostEquals(gc![i]!, w, 1e-6));
});

Deno.test("centerLoss() leaks no tensors and rejects bad labels and shapes", () => {
  const f = tf.tensor2d([[1, 2]]);
  const c = tf.variable(tf.tensor2d([[0, 0], [1, 1]]));
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => centerLoss(f, Int32Array.of(1), c), [c]);
  tf.dispose([value, ...Object.values(grads)]);
  assertEquals(tf.memory().numTensors, before);
  assertThrows(() => centerLoss(f, Int32Array.of(2), c), "label 2 is outside [0, 2)");
  assertThrows(() => centerLoss(f, Int32Array.of(0, 1), c), "2 labels for a batch of 1");
  const wrong = tf.zeros([2, 3]) as tf.Tensor2D;
  assertThrows(() => centerLoss(f, Int32Array.of(0), wrong), "must share D");
  tf.dispose([f, c, wrong]);
});
