/**
 * LayerNorm over the last axis (PyTorch `nn.LayerNorm(d, eps=1e-5)`): population variance, then an affine
 * map with the module's `weight` and `bias`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ForwardContext } from "./_context.ts";
import { getParam } from "./params.ts";

/** PyTorch's LayerNorm epsilon. */
export const LAYER_NORM_EPS = 1e-5;

/**
 * Normalises x (..., D) over D with the LayerNorm stored under `prefix` (`<prefix>.weight`, `<prefix>.bias`).
 *
 * @returns (..., D)
 */
export function layerNorm(x: tf.Tensor, prefix: string, ctx: ForwardContext): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true); // (..., 1) each
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LAYER_NORM_EPS)));
    return tf.add(tf.mul(normed, getParam(ctx.params, `${prefix}.weight`)), getParam(ctx.params, `${prefix}.bias`));
  });
}
