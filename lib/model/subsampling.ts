/**
 * WeNet's `Conv2dSubsampling4` (`_encoder.embed`, spec §3.1 row 2): two valid 3x3 stride-2 convolutions with
 * ReLU over (time, frequency), a channel-major flatten, and a Linear to the model width.
 * time' = ((T - 1) // 2 - 1) // 2 (1125 -> 280); frequency' = ((F - 1) // 2 - 1) // 2 (96 -> 23).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ForwardContext } from "./_context.ts";
import { getParam } from "./params.ts";

/** Frames after subsampling: ((T - 1) // 2 - 1) // 2, i.e. ⌊(⌊(T−3)/2⌋+1−3)/2⌋+1. */
export function subsampledLength(t: number): number {
  return Math.floor((Math.floor((t - 1) / 2) - 1) / 2);
}

/** PyTorch Conv2d weight (out, in, kh, kw) -> tfjs filter (kh, kw, in, out). */
function convFilter(weight: tf.Tensor): tf.Tensor4D {
  return tf.transpose(weight, [2, 3, 1, 0]) as tf.Tensor4D;
}

/**
 * x (B,T,F) -> (B,T',D).
 *
 * @throws {RangeError} when T < 7 (no frame would survive)
 */
export function conv2dSubsampling4(x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
  const [b, t] = x.shape;
  if (subsampledLength(t) < 1) throw new RangeError(`subsampling needs at least 7 frames, got ${t}`);
  const p = (name: string) => getParam(ctx.params, `_encoder.embed.${name}`);
  return tf.tidy(() => {
    const x4 = tf.expandDims(x, 3) as tf.Tensor4D; // (B,T,F) -> (B,T,F,1): NHWC, H = time, W = frequency
    let h = tf.relu(tf.add(ctx.ops.conv2d(x4, convFilter(p("conv.0.weight")), 2), p("conv.0.bias"))); // (B,T1,F1,D)
    h = tf.relu(tf.add(ctx.ops.conv2d(h as tf.Tensor4D, convFilter(p("conv.2.weight")), 2), p("conv.2.bias"))); // (B,T',F',D)
    const [, tOut, fOut, d] = h.shape as [number, number, number, number];
    h = tf.transpose(h, [0, 1, 3, 2]); // (B,T',F',D) -> (B,T',D,F')
    h = tf.reshape(h, [b, tOut, d * fOut]); // (B,T',D·F'): index c·F' + f, PyTorch's channel-major flatten
    return ctx.ops.linear(h, p("out.0.weight"), p("out.0.bias")) as tf.Tensor3D; // (B,T',D)
  });
}
