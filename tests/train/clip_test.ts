import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { clipGradNorm } from "../../lib/train/clip.ts";

await tf.setBackend("cpu");

Deno.test("clipGradNorm() scales by max/(total + 1e-6) over all gradients and returns the pre-clip norm", () => {
  const grads = { a: tf.tensor2d([[3, 0], [0, 0]]), b: tf.tensor1d([0, 4]), c: tf.tensor1d([12]) };
  const { grads: out, norm } = clipGradNorm(grads, 1);
  assertAlmostEquals(norm, 13, 1e-5); // sqrt(9 + 16 + 144)
  const coef = 1 / (13 + 1e-6);
  assertAlmostEquals(out.a!.dataSync()[0]!, 3 * coef, 1e-7);
  assertAlmostEquals(out.b!.dataSync()[1]!, 4 * coef, 1e-7);
  assertAlmostEquals(out.c!.dataSync()[0]!, 12 * coef, 1e-7);
  assertEquals(out.a!.shape, [2, 2]);
  assertEquals(Array.from(grads.c.dataSync()), [12]); // inputs untouched
  const total = tf.tidy(() => tf.norm(tf.concat(Object.values(out).map((t) => t.flatten()))).dataSync()[0]!);
  assertAlmostEquals(total, 1, 1e-6);
  tf.dispose([...Object.values(grads), ...Object.values(out)]);
});

Deno.test("clipGradNorm() leaves gradients whose norm is below the maximum unchanged", () => {
  const grads = { a: tf.tensor1d([0.3, 0.4]) };
  const { grads: out, norm } = clipGradNorm(grads, 1);
  assertAlmostEquals(norm, 0.5, 1e-7);
  assertEquals(Array.from(out.a!.dataSync()), Array.from(grads.a.dataSync()));
  // The golden step's pre-clip norm (45.38) with max 1: factor 1/45.380719.
  const big = { g: tf.tensor1d([45.38071823120117]) };
  const clipped = clipGradNorm(big, 1);
  assertAlmostEquals(clipped.grads.g!.dataSync()[0]!, 45.38071823120117 / (45.38071823120117 + 1e-6), 1e-7);
  tf.dispose([grads.a, out.a!, big.g, clipped.grads.g!]);
});

Deno.test("clipGradNorm() reports non-finite norms, leaks nothing, rejects a bad maximum", () => {
  const grads = { a: tf.tensor1d([Number.NaN, 1]) };
  const before = tf.memory().numTensors;
  const { grads: out, norm } = clipGradNorm(grads, 1);
  assertEquals(Number.isNaN(norm), true);
  assertEquals(Number.isNaN(out.a!.dataSync()[1]!), true); // like PyTorch without error_if_nonfinite
  out.a!.dispose();
  assertEquals(tf.memory().numTensors, before);
  assertThrows(() => clipGradNorm(grads, 1, { errorIfNonfinite: true }), "norm is NaN");
  assertEquals(tf.memory().numTensors, before);
  assertThrows(() => clipGradNorm(grads, 0), "'maxNorm'");
  assertEquals(clipGradNorm({}, 1), { grads: {}, norm: 0 });
  grads.a.dispose();
});
