/**
 * WeNet's `ConformerEncoder` as configured by CoverHunter (`_encoder`): Conv2dSubsampling4, the relative
 * positional encoding, `numBlocks` Conformer layers and the final `after_norm` LayerNorm. No masks: every
 * frame is valid (the -100 end padding is ordinary input).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ForwardContext } from "./_context.ts";
import { conformerLayer } from "./conformer_layer.ts";
import { layerNorm } from "./layer_norm.ts";
import { relPositionalEncoding } from "./positional.ts";
import { conv2dSubsampling4 } from "./subsampling.ts";

/** Encoder output plus the intermediate tensors the golden vectors check. */
export interface EncoderOutput {
  /** After `after_norm` (B,T',D). */
  output: tf.Tensor3D;
  /** Input of block 0: subsampled, scaled by sqrt(D) (and dropped out in training) (B,T',D). */
  afterSubsampling: tf.Tensor3D;
  /** Output of block 0 (B,T',D). */
  afterBlock0: tf.Tensor3D;
}

/** x (B,T,F), already through the input BatchNorm -> (B,T',D) with T' = ((T-1)//2-1)//2. */
export function conformerEncoder(x: tf.Tensor3D, ctx: ForwardContext): EncoderOutput {
  return tf.tidy(() => {
    const enc = relPositionalEncoding(conv2dSubsampling4(x, ctx), ctx); // (B,T',D), (1,T',D)
    let h = enc.x;
    let afterBlock0 = h;
    for (let l = 0; l < ctx.params.config.numBlocks; l++) {
      h = conformerLayer(h, enc.posEmb, l, ctx);
      if (l === 0) afterBlock0 = h;
    }
    const output = layerNorm(h, "_encoder.after_norm", ctx) as tf.Tensor3D;
    return { output, afterSubsampling: enc.x, afterBlock0 };
  });
}
