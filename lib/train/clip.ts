/**
 * Global-norm gradient clipping, like PyTorch's `clip_grad_norm_(params, max_norm)` (spec §4.6): the total L2 norm
 * over all gradients is `‖(‖g₁‖, ‖g₂‖, …)‖`, and every gradient is multiplied by
 * `min(1, maxNorm / (total + 1e-6))`. That factor is below 1 exactly when `total > maxNorm − 1e-6`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipGradNorm } from "./clip.ts";
 * await tf.setBackend("cpu");
 * const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) };
 * const { grads: clipped, norm } = clipGradNorm(grads, 1);
 * // norm = 5; every gradient scaled by 1 / (5 + 1e-6)
 * if (Math.abs(norm - 5) > 1e-6) throw new Error(String(norm));
 * tf.dispose([grads.a, grads.b, clipped.a!, clipped.b!]);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { sumSquaresWebGpu } from "./grad_norm_webgpu.ts";
import { ownWebGpuKernels } from "../model/kernels.ts";

/** Options of {@linkcode clipGradNorm}. */
export interface ClipOptions {
  /**
   * Throw when the total norm is NaN or infinite (PyTorch's `error_if_nonfinite`). When false, the gradients are
   * scaled anyway and come out NaN, as in PyTorch; the caller must check the returned norm.
   * @default {false}
   */
  errorIfNonfinite?: boolean;
}

/** Result of {@linkcode clipGradNorm}. */
export interface ClipResult {
  /** The scaled gradients: new tensors, same keys; the caller disposes them (and its inputs). */
  grads: Record<string, tf.Tensor>;
  /** The total L2 norm before clipping. */
  norm: number;
}

/**
 * Scales a set of gradients so that their global L2 norm is at most `maxNorm`.
 *
 * @param grads gradients by parameter name (not modified, not disposed)
 * @param maxNorm the largest allowed global norm (> 0)
 * @param options `errorIfNonfinite`
 * @returns the scaled gradients and the pre-clip global norm
 * @throws {RangeError} when `maxNorm` is not positive, or the norm is not finite and `errorIfNonfinite` is set
 */
export function clipGradNorm(
  grads: Readonly<Record<string, tf.Tensor>>,
  maxNorm: number,
  options: ClipOptions = {},
): ClipResult {
  const { errorIfNonfinite = false } = options;
  const r = clipGradNormTensor(grads, maxNorm);
  const norm = r.norm.dataSync()[0]!;
  r.norm.dispose();
  if (!Number.isFinite(norm) && errorIfNonfinite) {
    tf.dispose(Object.values(r.grads));
    throw new RangeError(`clipGradNorm: the total gradient norm is ${norm}`);
  }
  return { grads: r.grads, norm };
}

/**
 * {@linkcode clipGradNorm} without reading the norm back: the norm stays a tensor, so a training step on WebGPU
 * needs no synchronous read (Deno's WebGPU has none) and no extra round trip.
 *
 * @param grads gradients by parameter name (not modified, not disposed)
 * @param maxNorm the largest allowed global norm (> 0)
 * @returns the scaled gradients and the pre-clip global norm as a scalar tensor (the caller disposes both)
 */
export function clipGradNormTensor(
  grads: Readonly<Record<string, tf.Tensor>>,
  maxNorm: number,
): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: 'maxNorm' must be > 0: current value is ${maxNorm}`);
  const names = Object.keys(grads);
  if (names.length === 0) return { grads: {}, norm: tf.scalar(0) };
  const { norm, scale } = gradNormScale(grads, maxNorm);
  const out: Record<string, tf.Tensor> = {};
  for (const k of names) out[k] = tf.tidy(() => tf.mul(grads[k]!, scale));
  scale.dispose();
  return { grads: out, norm };
}

/**
 * The global L2 norm of `grads`, `sqrt(Σ_k Σ g_k²)`: the same quantity as PyTorch's norm of per-tensor norms, with no
 * square root per tensor. On webgpu with our kernels the per-tensor sums come from `sumSquaresWebGpu` (a few dispatches
 * instead of two per gradient).
 *
 * @param grads gradients by parameter name (not modified, not disposed; at least one)
 * @returns a scalar tensor (the caller disposes it)
 * @throws {RangeError} when there is no gradient
 */
export function gradNorm(grads: Readonly<Record<string, tf.Tensor>>): tf.Scalar {
  const all = Object.values(grads);
  if (all.length === 0) throw new RangeError("gradNorm: no gradient");
  return tf.tidy(() => {
    const squares = ownWebGpuKernels(tf.getBackend())
      ? sumSquaresWebGpu(all)
      : tf.stack(all.map((g) => tf.sum(tf.square(g))));
    return tf.sqrt(tf.sum(squares)) as tf.Scalar;
  });
}

/**
 * The global L2 norm of `grads` ({@linkcode gradNorm}) and the clip factor `min(1, maxNorm / (norm + 1e-6))`, both as
 * scalar tensors (the caller disposes them), without scaling anything: a training step hands the factor to the
 * optimiser, which folds it into its update (on webgpu inside the AdamW kernels, no kernel per gradient).
 *
 * @param grads gradients by parameter name (not modified, not disposed; at least one)
 * @param maxNorm the largest allowed global norm (> 0)
 * @throws {RangeError} when `maxNorm` is not positive or there is no gradient
 */
export function gradNormScale(
  grads: Readonly<Record<string, tf.Tensor>>,
  maxNorm: number,
): { norm: tf.Scalar; scale: tf.Scalar } {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: 'maxNorm' must be > 0: current value is ${maxNorm}`);
  const norm = gradNorm(grads);
  // min(1, maxNorm / (norm + 1e-6)); NaN when the norm is NaN, as in PyTorch.
  const scale = tf.tidy(() => tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6))) as tf.Scalar);
  return { norm, scale };
}
