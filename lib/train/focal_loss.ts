/**
 * Focal loss (spec §4.1; `src/loss.py::FocalLoss`, `gamma=2`, no `alpha`, mean reduction), differentiable in tfjs:
 *
 * ```
 * p    = softmax(logits) + eps
 * loss = mean_b( (1 − p[b, y_b])^γ · −log(p[b, y_b]) )
 * ```
 *
 * `−log(p_y + eps)` is evaluated from the log-softmax as `−logaddexp(log p_y, log eps)`, so it stays finite and
 * accurate when `p_y` underflows, and `1 − p_y` as `−expm1(log p_y)`, so it keeps its precision when `p_y` is near 1.
 * For a non-integer γ the base `1 − p_y − eps` is clamped at 0 (PyTorch would return NaN when `p_y` rounds to 1).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { focalLoss } from "./focal_loss.ts";
 * await tf.setBackend("cpu");
 * const loss = tf.tidy(() => focalLoss(tf.tensor2d([[0, 0]]), Int32Array.of(0)).dataSync()[0]!);
 * // p_y = 0.5: 0.25 · ln 2 ≈ 0.1733
 * if (Math.abs(loss - 0.25 * Math.LN2) > 1e-6) throw new Error(String(loss));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** float32 machine epsilon, `torch.finfo(torch.float32).eps`: CoverHunterMPS's `eps`. */
export const FOCAL_EPS_FLOAT32 = 1.1920928955078125e-7;
/** float64 machine epsilon, `np.finfo(float).eps`: the original CoverHunter's `eps`. */
export const FOCAL_EPS_FLOAT64 = 2.220446049250313e-16;

/** Options of {@linkcode focalLoss}. */
export interface FocalLossOptions {
  /**
   * Focusing exponent γ.
   * @default {2}
   */
  gamma?: number;
  /**
   * Added to the softmax before the log and inside the weight, as the reference does. Use
   * {@linkcode FOCAL_EPS_FLOAT64} to reproduce the original CoverHunter (e.g. its golden training step).
   * @default {FOCAL_EPS_FLOAT32}
   */
  eps?: number;
}

/**
 * Mean focal loss of a batch of logits.
 *
 * @param logits `(B, C)` float32 class scores
 * @param labels `(B,)` class indices in `[0, C)`, as an Int32Array or an int32 tensor
 * @param options `gamma` and `eps`
 * @returns a scalar tensor (differentiable with respect to `logits`)
 * @throws {RangeError} on a shape mismatch, a label outside `[0, C)`, a negative `gamma` or an `eps` not in (0, 1)
 */
export function focalLoss(
  logits: tf.Tensor2D,
  labels: Int32Array | tf.Tensor1D,
  options: FocalLossOptions = {},
): tf.Scalar {
  const { gamma = 2, eps = FOCAL_EPS_FLOAT32 } = options;
  if (!(Number.isFinite(gamma) && gamma >= 0)) {
    throw new RangeError(`focalLoss: 'gamma' must be a finite number >= 0: current value is ${gamma}`);
  }
  if (!(eps > 0 && eps < 1)) throw new RangeError(`focalLoss: 'eps' must be in (0, 1): current value is ${eps}`);
  if (logits.rank !== 2) throw new RangeError(`focalLoss: logits must be (B, C), got shape [${logits.shape}]`);
  const [batch, classes] = logits.shape;
  const labelValues = labels instanceof Int32Array ? labels : labels.dataSync();
  if (labelValues.length !== batch) {
    throw new RangeError(`focalLoss: ${labelValues.length} labels for a batch of ${batch}`);
  }
  for (const y of labelValues) {
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new RangeError(`focalLoss: label ${y} is outside [0, ${classes})`);
    }
  }
  return tf.tidy(() => {
    const labelTensor = labels instanceof Int32Array ? tf.tensor1d(labels, "int32") : labels.toInt();
    const oneHot = tf.oneHot(labelTensor, classes).toFloat(); // (B, C), constant
    const logP = tf.logSoftmax(logits, 1); // (B, C)
    const logPy = tf.sum(tf.mul(logP, oneHot), 1); // (B,)
    // ce = −log(p_y + eps) = −logaddexp(log p_y, log eps)
    const logEps = Math.log(eps);
    const ce = tf.neg(
      tf.add(tf.maximum(logPy, logEps), tf.log1p(tf.exp(tf.neg(tf.abs(tf.sub(logPy, logEps)))))),
    );
    // weight = (1 − (p_y + eps))^γ, with 1 − p_y = −expm1(log p_y)
    const base = tf.sub(tf.neg(tf.expm1(logPy)), eps);
    const weight = Number.isInteger(gamma) ? tf.pow(base, gamma) : tf.pow(tf.relu(base), gamma);
    return tf.mean(tf.mul(weight, ce)) as tf.Scalar;
  });
}
