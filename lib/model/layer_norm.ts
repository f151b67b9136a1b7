/**
 * LayerNorm over the last axis (PyTorch `nn.LayerNorm(d, eps=1e-5)`): population variance, then an affine
 * map with the module's `weight` and `bias`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
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
  const p = (name: string) => getParam(ctx.params, `${prefix}.${name}`);
  return ctx.ops.layerNorm(x, p("weight"), p("bias"), LAYER_NORM_EPS);
}
