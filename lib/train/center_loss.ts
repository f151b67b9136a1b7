/**
 * Center loss (spec §4.3; `src/loss.py::CenterLoss`), differentiable in tfjs with respect to both the features and
 * the centers:
 *
 * ```
 * distmat = ‖f_b‖² + ‖c_k‖² − 2 f_b·c_k                      (B, C)
 * loss    = Σ clamp(distmat · [y_b == k], 1e-12, 1e12) / B
 * ```
 *
 * The clamp covers the whole masked `B×C` matrix, so every masked-out entry adds 1e-12 (`C·B·1e-12` in all, before
 * the division) and carries no gradient, exactly as in the reference. It is applied only when `center.weight > 0`
 * (default 0); the centers are an ordinary parameter updated by AdamW.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { centerLoss } from "./center_loss.ts";
 * await tf.setBackend("cpu");
 * const loss = tf.tidy(() => {
 *   const f = tf.tensor2d([[1, 0], [0, 3]]);
 *   const centers = tf.tensor2d([[0, 0], [0, 1]]);
 *   return centerLoss(f, Int32Array.of(0, 1), centers).dataSync()[0]!;
 * });
 * // (‖(1,0) − (0,0)‖² + ‖(0,3) − (0,1)‖²) / 2 = (1 + 4) / 2, plus 2·2·1e-12 / 2
 * if (Math.abs(loss - 2.5) > 1e-6) throw new Error(String(loss));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Mean (over the batch) squared distance of each feature to its class center.
 *
 * @param features `(B, D)` embeddings
 * @param labels `(B,)` class ids in `[0, C)`, as an Int32Array or an int32 tensor
 * @param centers `(C, D)` class centers (usually a trainable `tf.Variable`)
 * @returns a scalar tensor
 * @throws {RangeError} on a shape mismatch or a label outside `[0, C)`
 */
export function centerLoss(
  features: tf.Tensor2D,
  labels: Int32Array | tf.Tensor1D,
  centers: tf.Tensor2D,
): tf.Scalar {
  if (features.rank !== 2 || centers.rank !== 2 || features.shape[1] !== centers.shape[1]) {
    throw new RangeError(
      `centerLoss: features (B, D) and centers (C, D) must share D, got [${features.shape}] and [${centers.shape}]`,
    );
  }
  const [batch] = features.shape;
  const classes = centers.shape[0];
  const y = labels instanceof Int32Array ? labels : labels.dataSync();
  if (y.length !== batch) throw new RangeError(`centerLoss: ${y.length} labels for a batch of ${batch}`);
  const mask = new Float32Array(batch * classes); // (B, C) one-hot, a constant
  for (let b = 0; b < batch; b++) {
    const k = y[b]!;
    if (!Number.isInteger(k) || k < 0 || k >= classes) {
      throw new RangeError(`centerLoss: label ${k} is outside [0, ${classes})`);
    }
    mask[b * classes + k] = 1;
  }
  return tf.tidy(() => {
    const fNorm = tf.sum(tf.square(features), 1, true); // (B, 1)
    const cNorm = tf.sum(tf.square(centers), 1).reshape([1, classes]); // (1, C)
    const cross = tf.matMul(features, centers, false, true); // (B, C)
    const distmat = tf.add(tf.add(fNorm, cNorm), tf.mul(cross, -2)); // (B, C)
    const masked = tf.mul(distmat, tf.tensor2d(mask, [batch, classes]));
    return tf.div(tf.sum(tf.clipByValue(masked, 1e-12, 1e12)), batch) as tf.Scalar;
  });
}
