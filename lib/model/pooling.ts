/**
 * Attentive statistics pooling (`_pool_layer`, spec §3.3): per-channel attention over time from the frames
 * and their global mean and std, then the attention-weighted mean and std, projected to the embedding.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ForwardContext } from "./_context.ts";
import { getParam } from "./params.ts";

/** Floor of the variances before the square root (the reference's clamp). */
export const STD_EPS = 1e-12;

/**
 * x (B,L,C) -> embedding (B,C):
 * h = tanh(Linear_3C→C([x, mean, std])), a = softmax_L(Conv1x1(h)), emb = Linear_2C→C([Σa·x, sqrt(Σa·(x-μ')²)]).
 */
export function attentiveStatisticsPooling(x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor2D {
  const p = (name: string) => getParam(ctx.params, `_pool_layer.${name}`);
  const { ops } = ctx;
  const [b, , c] = x.shape;
  return tf.tidy(() => {
    const mean = tf.mean(x, 1, true); // (B,1,C), uniform weights 1/L
    const std = tf.sqrt(tf.maximum(tf.mean(tf.square(tf.sub(x, mean)), 1, true), STD_EPS)); // (B,1,C)
    // Linear over concat([x, mean, std]) along channels == x·W_xᵀ + (mean·W_μᵀ + std·W_σᵀ + b): the weight's
    // three column blocks (C,C) are applied separately, so the mean/std columns need no tiling over L.
    const w = p("_linear.linear_layer.weight"); // (C,3C)
    const wx = tf.slice(w, [0, 0], [c, c]), wm = tf.slice(w, [0, c], [c, c]), ws = tf.slice(w, [0, 2 * c], [c, c]);
    const global = tf.add(ops.linear(mean, wm, p("_linear.linear_layer.bias")), ops.linear(std, ws)); // (B,1,C)
    const hidden = tf.tanh(tf.add(ops.linear(x, wx), global)); // (B,L,C)
    const conv = tf.reshape(p("_conv.conv.weight"), [c, c]); // (C,C,1) -> (C,C)
    const logits = ops.linear(hidden, conv, p("_conv.conv.bias")); // (B,L,C)
    // Softmax over time per channel: move L last, (B,L,C) -> (B,C,L) -> softmax -> (B,L,C).
    const attn = tf.transpose(tf.softmax(tf.transpose(logits, [0, 2, 1]), -1), [0, 2, 1]);
    const wMean = tf.sum(tf.mul(attn, x), 1, true); // (B,1,C)
    const wVar = tf.sum(tf.mul(attn, tf.square(tf.sub(x, wMean))), 1, true); // (B,1,C)
    const wStd = tf.sqrt(tf.maximum(wVar, STD_EPS));
    const stats = tf.reshape(tf.concat([wMean, wStd], 2), [b, 2 * c]); // (B,1,2C) -> (B,2C)
    return ops.linear(stats, p("_final_layer.weight")) as tf.Tensor2D; // (B,C)
  });
}
