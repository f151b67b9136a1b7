/**
 * WeNet's `ConformerEncoderLayer` with the macaron FFN, pre-LayerNorm, conv module and a final LayerNorm
 * (spec §3.2): ½FFN -> MHSA -> Conv -> ½FFN -> LayerNorm, each sub-block in a residual with dropout.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dropout, type ForwardContext } from "./_context.ts";
import { relPositionAttention } from "./attention.ts";
import { convolutionModule } from "./convolution.ts";
import { feedForward } from "./feed_forward.ts";
import { layerNorm } from "./layer_norm.ts";

/** Weight of each FFN's output in its residual (macaron style). */
export const FF_SCALE = 0.5;

/**
 * Block `index`: x (B,T,D), posEmb (1,T,D) -> (B,T,D), weights under `_encoder.encoders.{index}.`.
 */
export function conformerLayer(x: tf.Tensor3D, posEmb: tf.Tensor3D, index: number, ctx: ForwardContext): tf.Tensor3D {
  const p = `_encoder.encoders.${index}.`;
  return tf.tidy(() => {
    let h: tf.Tensor3D = x;
    const ffm = feedForward(layerNorm(h, `${p}norm_ff_macaron`, ctx) as tf.Tensor3D, `${p}feed_forward_macaron`, ctx);
    h = tf.add(h, tf.mul(dropout(ffm, ctx), FF_SCALE));
    const att = relPositionAttention(layerNorm(h, `${p}norm_mha`, ctx) as tf.Tensor3D, posEmb, `${p}self_attn`, ctx);
    h = tf.add(h, dropout(att, ctx));
    const conv = convolutionModule(layerNorm(h, `${p}norm_conv`, ctx) as tf.Tensor3D, `${p}conv_module`, ctx);
    h = tf.add(h, dropout(conv, ctx));
    const ff = feedForward(layerNorm(h, `${p}norm_ff`, ctx) as tf.Tensor3D, `${p}feed_forward`, ctx);
    h = tf.add(h, tf.mul(dropout(ff, ctx), FF_SCALE));
    return layerNorm(h, `${p}norm_final`, ctx) as tf.Tensor3D;
  });
}
