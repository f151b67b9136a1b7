/**
 * ESPnet/WeNet `RelPositionMultiHeadedAttention` exactly as CoverHunter runs it (spec §3.2): the positional
 * term uses `linear_pos(pe)` and the learned biases `pos_bias_u`/`pos_bias_v`, but the reference code has
 * `rel_shift` commented out, so the second score term depends only on the key's absolute position. That is
 * reproduced on purpose; "fixing" it would break the pretrained weights. No mask (every frame is valid) and
 * attention dropout 0.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ForwardContext } from "./_context.ts";
import { getParam } from "./params.ts";

/**
 * x (B,T,D), posEmb (1,T,D) -> (B,T,D), with the weights under `prefix` (`..._encoder.encoders.l.self_attn`):
 * scores = ((q + u)·kᵀ + (q + v)·pᵀ) / sqrt(d_k), softmax over keys, weighted sum of values, linear_out.
 */
export function relPositionAttention(
  x: tf.Tensor3D,
  posEmb: tf.Tensor3D,
  prefix: string,
  ctx: ForwardContext,
): tf.Tensor3D {
  const p = (name: string) => getParam(ctx.params, `${prefix}.${name}`);
  const { ops } = ctx;
  const [b, t, d] = x.shape;
  const h = ctx.params.config.numHeads;
  const dk = d / h;
  return tf.tidy(() => {
    const heads = (y: tf.Tensor) => tf.reshape(y, [b, t, h, dk]); // (B,T,D) -> (B,T,H,dk)
    const byHead = (y: tf.Tensor) => tf.transpose(heads(y), [0, 2, 1, 3]); // (B,T,D) -> (B,H,T,dk)
    const q = byHead(ops.linear(x, p("linear_q.weight"), p("linear_q.bias"))); // (B,H,T,dk)
    const k = byHead(ops.linear(x, p("linear_k.weight"), p("linear_k.bias"))); // (B,H,T,dk)
    const v = byHead(ops.linear(x, p("linear_v.weight"), p("linear_v.bias"))); // (B,H,T,dk)
    const pos = tf.transpose(tf.reshape(ops.linear(posEmb, p("linear_pos.weight")), [t, h, dk]), [1, 0, 2]); // (1,T,D) -> (H,T,dk)
    const biasU = tf.reshape(p("pos_bias_u"), [h, 1, dk]), biasV = tf.reshape(p("pos_bias_v"), [h, 1, dk]); // (H,1,dk)
    // (q + u)·kᵀ + (q + v)·posᵀ = q·(k + pos)ᵀ + (u·kᵀ + v·posᵀ): one product per head instead of two (no rel_shift,
    // so the second part is a per-key bias); same sums in another order.
    const keyBias = tf.sum(tf.add(tf.mul(k, biasU), tf.mul(pos, biasV)), -1, true); // (B,H,T,1)
    const qk = ops.matMul(q, tf.add(k, pos), true); // (B,H,T,dk)·(B,H,dk,T) -> (B,H,T,T)
    const scores = tf.div(tf.add(qk, tf.reshape(keyBias, [b, h, 1, t])), Math.sqrt(dk)); // (B,H,T,T)
    const attn = tf.softmax(scores, -1); // over keys
    const ctxv = ops.matMul(attn, v); // (B,H,T,T)·(B,H,T,dk) -> (B,H,T,dk)
    const merged = tf.reshape(tf.transpose(ctxv, [0, 2, 1, 3]), [b, t, d]); // (B,H,T,dk) -> (B,T,H,dk) -> (B,T,D)
    return ops.linear(merged, p("linear_out.weight"), p("linear_out.bias")) as tf.Tensor3D; // (B,T,D)
  });
}
