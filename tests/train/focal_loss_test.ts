import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { FOCAL_EPS_FLOAT32, FOCAL_EPS_FLOAT64, focalLoss } from "../../lib/train/focal_loss.ts";
import { createPrng } from "../../lib/data/prng.ts";

await tf.setBackend("cpu");

/** PyTorch's FocalLoss.forward in float64: p = softmax + eps; mean((1 − p_y)^γ · −log p_y). */
function reference(logits: number[][], labels: number[], gamma: number, eps: number): number {
  let total = 0;
  logits.forEach((row, b) => {
    const max = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - max), 0);
    const p = Math.exp(row[labels[b]!]! - max) / z + eps;
    total += (1 - p) ** gamma * -Math.log(p);
  });
  return total / logits.length;
}

function randomLogits(seed: number, batch: number, classes: number, scale: number): number[][] {
  const prng = createPrng(seed);
  return Array.from({ length: batch }, () => Array.from({ length: classes }, () => Math.fround(prng.normal() * scale)));
}

function lossOf(logits: number[][], labels: number[], options: { gamma?: number; eps?: number } = {}): number {
  return tf.tidy(() => focalLoss(tf.tensor2d(logits), Int32Array.from(labels), options).dataSync()[0]!);
}

Deno.test("focalLoss() matches hand values: p_y = 1/2 gives (1/2 − eps)² · −log(1/2 + eps)", () => {
  // Original eps: 0.25 · ln 2 to float32 precision.
  assertAlmostEquals(lossOf([[0, 0]], [0], { eps: FOCAL_EPS_FLOAT64 }), 0.1732867951399863, 1e-7);
  // Fork eps (the default): (0.5 − 2^-23)² · −ln(0.5 + 2^-23) = 0.17328672...
  const e = FOCAL_EPS_FLOAT32;
  assertAlmostEquals(lossOf([[0, 0]], [0]), (0.5 - e) ** 2 * -Math.log(0.5 + e), 1e-7);
  // gamma 0 is the cross-entropy of p + eps.
  assertAlmostEquals(lossOf([[Math.log(3), 0]], [1], { gamma: 0, eps: FOCAL_EPS_FLOAT64 }), Math.log(4), 1e-6);
});

Deno.test("focalLoss() matches a float64 computation within 1e-6 relative, for both eps values", () => {
  for (const [seed, scale] of [[1, 1], [2, 3], [3, 0.1]] as const) {
    const logits = randomLogits(seed, 6, 11, scale);
    const labels = [0, 3, 10, 5, 5, 7];
    for (const eps of [FOCAL_EPS_FLOAT32, FOCAL_EPS_FLOAT64]) {
      for (const gamma of [2, 1.5, 0]) {
        const want = reference(logits, labels, gamma, eps);
        const got = lossOf(logits, labels, { gamma, eps });
        assertAlmostEquals(got, want, 1e-6 * Math.abs(want), `seed ${seed} eps ${eps} gamma ${gamma}`);
      }
    }
  }
});

Deno.test("focalLoss() stays finite when p_y underflows: −log(eps), as the reference gives", () => {
  // p_y = e^-200 underflows float32 softmax to 0; the reference then returns (1 − eps)² · −log(eps).
  const e32 = FOCAL_EPS_FLOAT32;
  assertAlmostEquals(lossOf([[0, 200]], [0]), (1 - e32) ** 2 * -Math.log(e32), 1e-5);
  assertAlmostEquals(lossOf([[0, 200]], [0], { eps: FOCAL_EPS_FLOAT64 }), -Math.log(FOCAL_EPS_FLOAT64), 1e-5);
  // p_y → 1: p_y + eps exceeds 1, so (as in PyTorch) the loss is eps² · −log(1 + eps) ≈ −1.7e-21, not NaN.
  const e = FOCAL_EPS_FLOAT32;
  assertAlmostEquals(lossOf([[200, 0]], [0]), e * e * -Math.log1p(e), 1e-24);
});

Deno.test("focalLoss() gradient matches central finite differences of the float64 reference", () => {
  const logits = randomLogits(7, 4, 5, 2);
  const labels = [1, 4, 0, 2];
  for (const eps of [FOCAL_EPS_FLOAT32, FOCAL_EPS_FLOAT64]) {
    const grad = tf.tidy(() => {
      const g = tf.grad((x: tf.Tensor) => focalLoss(x as tf.Tensor2D, Int32Array.from(labels), { eps }));
      return Array.from(g(tf.tensor2d(logits)).dataSync());
    });
    const h = 1e-6;
    logits.forEach((row, b) =>
      row.forEach((v, c) => {
        const plus = logits.map((r) => [...r]);
        const minus = logits.map((r) => [...r]);
        plus[b]![c] = v + h;
        minus[b]![c] = v - h;
        const fd = (reference(plus, labels, 2, eps) - reference(minus, labels, 2, eps)) / (2 * h);
        assertAlmostEquals(grad[b * 5 + c]!, fd, 2e-6, `d/dlogit[${b},${c}] eps ${eps}`);
      })
    );
  }
});

Deno.test("focalLoss() accepts an int32 label tensor and leaks no tensors through loss + grad", () => {
  const logits = randomLogits(9, 3, 4, 1);
  const x = tf.tensor2d(logits);
  const y = tf.tensor1d([3, 0, 1], "int32");
  const before = tf.memory().numTensors;
  const a = tf.tidy(() => focalLoss(x, y).dataSync()[0]!);
  const b = tf.tidy(() => focalLoss(x, Int32Array.of(3, 0, 1)).dataSync()[0]!);
  assertEquals(a, b);
  const { value, grads } = tf.tidy(() => {
    const v = tf.variable(x);
    const out = tf.variableGrads(() => focalLoss(v, y), [v]);
    v.dispose();
    return out;
  });
  tf.dispose([value, ...Object.values(grads)]);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y]);
});

Deno.test("focalLoss() rejects labels outside [0, C), a label count mismatch and bad options", () => {
  const x = tf.tensor2d([[0, 1], [1, 0]]);
  assertThrows(() => focalLoss(x, Int32Array.of(0, 2)), "label 2 is outside [0, 2)");
  assertThrows(() => focalLoss(x, Int32Array.of(0)), "1 labels for a batch of 2");
  assertThrows(() => focalLoss(x, Int32Array.of(0, 1), { gamma: -1 }), "'gamma'");
  assertThrows(() => focalLoss(x, Int32Array.of(0, 1), { eps: 0 }), "'eps'");
  x.dispose();
});
