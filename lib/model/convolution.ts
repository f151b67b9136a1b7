/**
 * WeNet's Conformer `ConvolutionModule` (non-causal, batch_norm): pointwise Conv1d D -> 2D, GLU over channels,
 * depthwise Conv1d (kernel K, padding (K-1)/2), BatchNorm1d, SiLU, pointwise Conv1d D -> D. Channel-last
 * throughout: PyTorch's (B, C, T) transposes are not needed, and a 1x1 Conv1d is a Linear.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ForwardContext } from "./_context.ts";
import { batchNorm } from "./batch_norm.ts";
import { getParam } from "./params.ts";

/** x (B,T,D) -> (B,T,D), with the weights under `prefix` (`..._encoder.encoders.l.conv_module`). */
export function convolutionModule(x: tf.Tensor3D, prefix: string, ctx: ForwardContext): tf.Tensor3D {
  const p = (name: string) => getParam(ctx.params, `${prefix}.${name}`);
  const [b, t, d] = x.shape;
  return tf.tidy(() => {
    const pw1 = tf.reshape(p("pointwise_conv1.weight"), [2 * d, d]); // (2D,D,1) -> (2D,D)
    const h = ctx.ops.linear(x, pw1, p("pointwise_conv1.bias")); // (B,T,2D)
    // GLU over channels: first half · sigmoid(second half).
    const glu = tf.mul(tf.slice(h, [0, 0, 0], [b, t, d]), tf.sigmoid(tf.slice(h, [0, 0, d], [b, t, d]))); // (B,T,D)
    const dw = tf.add(
      ctx.ops.depthwiseConv1d(glu as tf.Tensor3D, p("depthwise_conv.weight") as tf.Tensor3D),
      p("depthwise_conv.bias"),
    ); // (B,T,D)
    const normed = batchNorm(dw, `${prefix}.norm`, ctx);
    const act = tf.mul(normed, tf.sigmoid(normed)); // SiLU
    const pw2 = tf.reshape(p("pointwise_conv2.weight"), [d, d]); // (D,D,1) -> (D,D)
    return ctx.ops.linear(act, pw2, p("pointwise_conv2.bias")) as tf.Tensor3D; // (B,T,D)
  });
}
