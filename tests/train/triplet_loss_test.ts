import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { pairwiseDistance, tripletLoss } from "../../lib/train/triplet_loss.ts";
import { createPrng } from "../../lib/data/prng.ts";

await tf.setBackend("cpu");

/** Which element each max/min picked, per anchor (PyTorch: the first extreme element). */
interface Picks {
  hp: number[];
  rowMax: number[];
  hn: number[];
}

function firstArg(row: number[], kind: "max" | "min"): number {
  let k = 0;
  for (let j = 1; j < row.length; j++) if (kind === "max" ? row[j]! > row[k]! : row[j]! < row[k]!) k = j;
  return k;
}

/**
 * HardTripletLoss.forward in float64, written from the spec's formula. With `frozen`, the picked indices are
 * fixed, so central differences give exactly the gradient PyTorch's max/min backward computes.
 */
function reference(x: number[][], y: number[], margin: number, frozen?: Picks): { loss: number; picks: Picks } {
  const n = x.length;
  const d = x.map((a) => x.map((b) => Math.sqrt(a.reduce((s, v, k) => s + (v - b[k]!) ** 2, 0))));
  const picks: Picks = { hp: [], rowMax: [], hn: [] };
  let total = 0;
  for (let i = 0; i < n; i++) {
    const posRow = d[i]!.map((v, j) => (y[i] === y[j] && i !== j ? v : 0));
    const hpIdx = frozen?.hp[i] ?? firstArg(posRow, "max");
    const maxIdx = frozen?.rowMax[i] ?? firstArg(d[i]!, "max");
    const negRow = d[i]!.map((v, j) => v + d[i]![maxIdx]! * (y[i] === y[j] ? 1 : 0));
    const hnIdx = frozen?.hn[i] ?? firstArg(negRow, "min");
    picks.hp.push(hpIdx);
    picks.rowMax.push(maxIdx);
    picks.hn.push(hnIdx);
    total += Math.max(0, posRow[hpIdx]! - negRow[hnIdx]! + margin);
  }
  return { loss: total / n, picks };
}

function lossOf(x: number[][], y: number[], margin = 0.3): number {
  return tf.tidy(() => tripletLoss(tf.tensor2d(x), Int32Array.from(y), { margin }).dataSync()[0]!);
}

function gradOf(x: number[][], y: number[], margin = 0.3): number[] {
  return tf.tidy(() => {
    const g = tf.grad((e: tf.Tensor) => tripletLoss(e as tf.Tensor2D, Int32Array.from(y), { margin }));
    return Array.from(g(tf.tensor2d(x)).dataSync());
  });
}

/** Central differences of the reference with the picks of `x` frozen. */
function fdGrad(x: number[][], y: number[], margin: number): number[] {
  const { picks } = reference(x, y, margin);
  const h = 1e-6;
  const out: number[] = [];
  x.forEach((row, i) =>
    row.forEach((v, k) => {
      const plus = x.map((r) => [...r]);
      const minus = x.map((r) => [...r]);
      plus[i]![k] = v + h;
      minus[i]![k] = v - h;
      out.push((reference(plus, y, margin, picks).loss - reference(minus, y, margin, picks).loss) / (2 * h));
    })
  );
  return out;
}

function randomEmbeddings(seed: number, n: number, dim: number): number[][] {
  const prng = createPrng(seed);
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => Math.fround(prng.normal() * 0.5)));
}

Deno.test("tripletLoss() matches hand-computed 1-D cases", () => {
  // 0 and 2 (class 0), 1 (class 1): class-0 anchors 2 − 1 + 0.3 = 1.3, class-1 anchor has no positive: 0.
  assertAlmostEquals(lossOf([[0], [2], [1]], [0, 0, 1]), 2.6 / 3, 1e-6);
  // 0, 1 (class 0) and 3 (class 1): every term is negative before the relu.
  assertEquals(lossOf([[0], [1], [3]], [0, 0, 1]), 0);
  // 2-D, 3-4-5 triangle: anchor (0,0) class 0, positive (3,4) at 5, negative (3,0) at 3 → 5 − 3 + 0.3 = 2.3;
  // anchor (3,4): positive 5, negative 4 → 1.3; anchor (3,0), no positive: hp 0, hn 3 → 0. Mean 3.6 / 3.
  assertAlmostEquals(lossOf([[0, 0], [3, 4], [3, 0]], [0, 0, 1]), 3.6 / 3, 1e-6);
});

Deno.test("tripletLoss() matches the float64 formula on random batches (m = 2 and m = 4)", () => {
  for (const [seed, labels] of [[1, [0, 0, 1, 1, 2, 2, 3, 3]], [2, [5, 5, 5, 5, 9, 9, 9, 9]]] as const) {
    const x = randomEmbeddings(seed, 8, 16);
    for (const margin of [0.3, 2]) {
      const want = reference(x, [...labels], margin).loss;
      assertAlmostEquals(lossOf(x, [...labels], margin), want, 2e-6, `seed ${seed} margin ${margin}`);
    }
  }
});

Deno.test("tripletLoss() with m = 1 (no positives): hp = 0, loss = mean relu(0.3 − nearest distance)", () => {
  const x = [[0, 0], [0.1, 0], [1, 0], [1, 0.2]];
  const y = [3, 1, 4, 0];
  // nearest other point: 0.1, 0.1, 0.2, 0.2
  assertAlmostEquals(lossOf(x, y), (0.2 + 0.2 + 0.1 + 0.1) / 4, 1e-6);
  assertAlmostEquals(lossOf(x, y), reference(x, y, 0.3).loss, 1e-6);
});

Deno.test("tripletLoss() without negatives uses hn = max_j D (the diagonal term), giving the margin", () => {
  // All one class: hn_i = min_j(D + max D) = max D (j = i), hp_i = max D → relu(0.3) for every anchor.
  assertAlmostEquals(lossOf(randomEmbeddings(3, 4, 3), [7, 7, 7, 7]), 0.3, 1e-6);
});

Deno.test("tripletLoss() gradient matches finite differences of the float64 formula", () => {
  for (const [seed, labels, margin] of [[4, [0, 0, 1, 1, 2, 2], 0.3], [5, [0, 0, 0, 1, 2, 2], 3]] as const) {
    const x = randomEmbeddings(seed, 6, 5);
    const got = gradOf(x, [...labels], margin);
    const want = fdGrad(x, [...labels], margin);
    want.forEach((w, i) => assertAlmostEquals(got[i]!, w, 2e-5, `seed ${seed} element ${i}`));
  }
});

Deno.test("tripletLoss() sends a tied max/min gradient to the first element only, like PyTorch", () => {
  // Anchor 0 at the origin has two negatives at distance exactly 1 (indices 2 and 3) and its positive at 0.5.
  const x = [[0, 0], [0.5, 0], [1, 0], [0, 1]];
  const y = [0, 0, 1, 2];
  const margin = 2; // keep every term active
  const got = gradOf(x, y, margin);
  const want = fdGrad(x, y, margin);
  want.forEach((w, i) => assertAlmostEquals(got[i]!, w, 2e-5, `element ${i}`));
});

Deno.test("tripletLoss() gives finite gradients for duplicate embeddings (zero-distance mask)", () => {
  const x = [[1, 2], [1, 2], [0, 0], [0, 1]];
  const y = [0, 0, 1, 1];
  const got = gradOf(x, y);
  assertEquals(got.every(Number.isFinite), true);
  const want = fdGrad(x, y, 0.3); // reference: D between the duplicates is a constant 0
  want.forEach((w, i) => assertAlmostEquals(got[i]!, w, 2e-5, `element ${i}`));
  const d = tf.tidy(() => Array.from(pairwiseDistance(tf.tensor2d(x)).dataSync()));
  assertEquals([d[0], d[1], d[4], d[5], d[10], d[15]], [0, 0, 0, 0, 0, 0]);
});

Deno.test("tripletLoss() leaks no tensors through loss + grad and accepts an int32 label tensor", () => {
  const x = tf.tensor2d(randomEmbeddings(6, 4, 3));
  const y = tf.tensor1d([0, 0, 1, 1], "int32");
  const before = tf.memory().numTensors;
  const a = tf.tidy(() => tripletLoss(x, y).dataSync()[0]!);
  const b = tf.tidy(() => tripletLoss(x, Int32Array.of(0, 0, 1, 1)).dataSync()[0]!);
  assertEquals(a, b);
  const v = tf.variable(x);
  const { value, grads } = tf.variableGrads(() => tripletLoss(v, y), [v]);
  tf.dispose([value, v, ...Object.values(grads)]);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y]);
  assertThrows(() => tripletLoss(tf.zeros([2, 3]) as tf.Tensor2D, Int32Array.of(0)), "1 labels for a batch of 2");
});
