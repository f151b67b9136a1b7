/**
 * Batch-hard triplet loss (spec §4.2; `HardTripletLoss(margin=0.3)` on the raw embedding, Euclidean), differentiable
 * in tfjs:
 *
 * ```
 * G = f fᵀ;  D² = relu(diag(G)ᵢ − 2G + diag(G)ⱼ);  Z = [D² == 0];  D = sqrt(D² + 1e-16·Z) · (1 − Z)
 * hp_i = max_j D·pos          pos = (yᵢ == yⱼ) ∧ (i ≠ j)     (0 when the anchor has no positive)
 * hn_i = min_j (D + max_j(D)·(1 − neg))    neg = (yᵢ ≠ yⱼ)
 * loss = mean_i relu(hp_i − hn_i + margin)
 * ```
 *
 * As in PyTorch, `max`/`min` along a row pass their gradient to the first maximal/minimal element only (tfjs's own
 * `max`/`min` gradients would go to every tied element), and `max_j(D)` is not detached. The zero mask `Z` carries no
 * gradient (it is built with `step`), and the label masks are constants.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { tripletLoss } from "./triplet_loss.ts";
 * await tf.setBackend("cpu");
 * // 1-D embeddings 0 and 2 (class 0), 1 (class 1). Each class-0 anchor: hp = 2, hn = 1 → 2 − 1 + 0.3 = 1.3;
 * // the class-1 anchor has no positive: hp = 0, hn = 1 → relu(−0.7) = 0. Mean: 2.6 / 3.
 * const f = tf.tensor2d([[0], [2], [1]]);
 * const loss = tf.tidy(() => tripletLoss(f, Int32Array.of(0, 0, 1)).dataSync()[0]!);
 * if (Math.abs(loss - 2.6 / 3) > 1e-6) throw new Error(String(loss));
 * f.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Options of {@linkcode tripletLoss}. */
export interface TripletLossOptions {
  /**
   * Margin between the hardest positive and the hardest negative distance.
   * @default {0.3}
   */
  margin?: number;
}

/**
 * Per-row maximum (or minimum) whose gradient goes to the first extreme element, like `torch.max(x, dim=1)`.
 * `(B, N)` → `(B,)`.
 */
function firstExtreme(x: tf.Tensor2D, kind: "max" | "min"): tf.Tensor1D {
  const index = kind === "max" ? tf.argMax(x, 1) : tf.argMin(x, 1); // (B,) int32, first occurrence
  const pick = tf.oneHot(index, x.shape[1]).toFloat(); // (B, N)
  return tf.sum(tf.mul(x, pick), 1);
}

/**
 * Pairwise Euclidean distances with the reference's zero-mask trick: exactly 0 (and a zero gradient) where the
 * squared distance is 0, e.g. on the diagonal. `(B, D)` → `(B, B)`.
 *
 * @param f `(B, D)` embeddings
 * @returns `(B, B)` distances
 */
export function pairwiseDistance(f: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const batch = f.shape[0];
    const gram = tf.matMul(f, f, false, true); // (B, B)
    const sq = tf.sum(tf.mul(gram, tf.eye(batch)), 1); // (B,) = diag(G), read from G itself so D²ᵢᵢ is exactly 0
    const d2 = tf.relu(tf.add(tf.sub(sq.reshape([batch, 1]), tf.mul(gram, 2)), sq.reshape([1, batch]))); // (B, B)
    const zero = tf.sub(1, tf.step(d2)); // [D² == 0] (D² >= 0), no gradient
    return tf.mul(tf.sqrt(tf.add(d2, tf.mul(zero, 1e-16))), tf.sub(1, zero)) as tf.Tensor2D;
  });
}

/**
 * Batch-hard triplet loss of a batch of embeddings.
 *
 * @param embeddings `(B, D)` float32 embeddings (un-normalised)
 * @param labels `(B,)` class ids, as an Int32Array or an int32 tensor
 * @param options `margin`
 * @returns a scalar tensor (differentiable with respect to `embeddings`)
 * @throws {RangeError} when the label count differs from B or the margin is not finite
 */
export function tripletLoss(
  embeddings: tf.Tensor2D,
  labels: Int32Array | tf.Tensor1D,
  options: TripletLossOptions = {},
): tf.Scalar {
  const { margin = 0.3 } = options;
  if (!Number.isFinite(margin)) {
    throw new RangeError(`tripletLoss: 'margin' must be finite: current value is ${margin}`);
  }
  if (embeddings.rank !== 2) {
    throw new RangeError(`tripletLoss: embeddings must be (B, D), got shape [${embeddings.shape}]`);
  }
  const batch = embeddings.shape[0];
  const y = labels instanceof Int32Array ? labels : labels.dataSync();
  if (y.length !== batch) throw new RangeError(`tripletLoss: ${y.length} labels for a batch of ${batch}`);
  // Label masks, built on the CPU: constants for the tape.
  const pos = new Float32Array(batch * batch);
  const notNeg = new Float32Array(batch * batch); // 1 − neg = [yᵢ == yⱼ]
  for (let i = 0; i < batch; i++) {
    for (let j = 0; j < batch; j++) {
      const same = y[i] === y[j];
      pos[i * batch + j] = same && i !== j ? 1 : 0;
      notNeg[i * batch + j] = same ? 1 : 0;
    }
  }
  return tf.tidy(() => {
    const dist = pairwiseDistance(embeddings); // (B, B)
    const posMask = tf.tensor2d(pos, [batch, batch]);
    const notNegMask = tf.tensor2d(notNeg, [batch, batch]);
    const hardestPos = firstExtreme(tf.mul(dist, posMask) as tf.Tensor2D, "max"); // (B,)
    const rowMax = firstExtreme(dist, "max").reshape([batch, 1]); // (B, 1), not detached
    const hardestNeg = firstExtreme(tf.add(dist, tf.mul(rowMax, notNegMask)) as tf.Tensor2D, "min"); // (B,)
    return tf.mean(tf.relu(tf.add(tf.sub(hardestPos, hardestNeg), margin))) as tf.Scalar;
  });
}
