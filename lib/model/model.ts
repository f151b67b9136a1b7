/**
 * The CoverHunter model (spec §3): `embed` maps CQT chunks (B,T,F) to the 128-d embedding used for retrieval
 * and the triplet loss; `classify` is the training head (BNNeck with its bias frozen at 0, then a bias-free
 * Linear to the classes) whose logits feed the focal loss.
 *
 * Training mode: dropout with masks drawn from the given prng, BatchNorm on batch statistics. The statistics
 * come back in `bnStats` (kept tensors the caller disposes); pass them to {@linkcode updateRunningStats} after
 * the step to reproduce PyTorch's running-stat update. They are created with `tf.keep`, so they survive the
 * tidy of `tf.variableGrads` when `embed` runs inside its loss function.
 *
 * Gradients: differentiable with respect to every trainable Variable on cpu, webgpu and wasm (through the
 * per-backend primitives of `_ops.ts`). Select the backend with `initBackend` first; the primitives are chosen
 * from `tf.getBackend()` at each call.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createPrng } from "../data/prng.ts";
 * import { initBackend } from "./backend.ts";
 * import { COVERS80_MODEL_CONFIG } from "./config.ts";
 * import { embed } from "./model.ts";
 * import { disposeParams, initParams } from "./params.ts";
 * await initBackend("cpu");
 * const params = initParams({ ...COVERS80_MODEL_CONFIG, numBlocks: 1, numClasses: 10 }, createPrng(1));
 * const { embedding } = embed(params, tf.zeros([2, 100, 96]));
 * console.log(embedding.shape); // [2, 128]
 * tf.dispose(embedding);
 * disposeParams(params);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Prng } from "../data/prng.ts";
import type { ForwardContext } from "./_context.ts";
import { createOps } from "./_ops.ts";
import { batchNorm, type BatchNormStats } from "./batch_norm.ts";
import { conformerEncoder } from "./encoder.ts";
import { getParam, type ModelParams } from "./params.ts";
import { attentiveStatisticsPooling } from "./pooling.ts";

export { type BatchNormStats, updateRunningStats } from "./batch_norm.ts";

/** Options of {@linkcode embed}. */
export interface EmbedOptions {
  /** Training mode (dropout on, BatchNorm on batch statistics). @default false */
  training?: boolean;
  /** Dropout probability in training mode. @default params.config.dropout */
  dropout?: number;
  /** Source of dropout masks; required when training with dropout > 0. */
  prng?: Prng;
  /** Also return the intermediate tensors of the golden vectors. @default false */
  intermediates?: boolean;
}

/** Intermediate tensors (eval mode: those of the golden vectors). */
export interface EmbedIntermediates {
  /** After input BatchNorm, subsampling, Linear and the ·sqrt(D) of the positional step (B,T',D); in training
   * mode also after its dropout (the input of block 0). */
  afterSubsampling: tf.Tensor3D;
  /** After Conformer block 0 (B,T',D). */
  afterBlock0: tf.Tensor3D;
  /** After the encoder's final LayerNorm (B,T',D). */
  afterEncoder: tf.Tensor3D;
}

/** Result of {@linkcode embed}; the caller disposes every tensor in it. */
export interface EmbedResult {
  /** The embedding f_t (B, embedDim), before the BNNeck. */
  embedding: tf.Tensor2D;
  /** Present when `intermediates` was requested. */
  intermediates?: EmbedIntermediates;
  /** Training mode only: batch statistics of `_global_cmvn` and every conv-module BatchNorm. */
  bnStats?: Record<string, BatchNormStats>;
}

function context(params: ModelParams, training: boolean, dropout: number, prng: Prng | undefined): ForwardContext {
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`dropout must be within [0, 1), got ${dropout}`);
  if (training && dropout > 0 && prng === undefined) {
    throw new TypeError("training with dropout > 0 needs a prng (createPrng(seed))");
  }
  return { params, training, dropout, prng, ops: createOps(tf.getBackend()), bnStats: {} };
}

function disposeStats(stats: Record<string, BatchNormStats>): void {
  for (const s of Object.values(stats)) tf.dispose([s.mean, s.varUnbiased]);
}

/**
 * Embeds a batch of CQT chunks: input BatchNorm over frequency, Conformer encoder, attentive statistics
 * pooling.
 *
 * @param params model tensors
 * @param x (B,T,F) features (dB after `shorter`), T >= 7
 * @param options mode, dropout, prng, intermediates
 * @returns the embedding (B, embedDim) and, on request, intermediates and batch statistics
 * @throws {RangeError} for a wrong input shape
 * @throws {TypeError} when training with dropout but without a prng
 */
export function embed(params: ModelParams, x: tf.Tensor, options: EmbedOptions = {}): EmbedResult {
  const { training = false, dropout = params.config.dropout, prng, intermediates = false } = options;
  if (x.rank !== 3 || x.shape[2] !== params.config.inputDim) {
    throw new RangeError(`embed: expected input (B, T, ${params.config.inputDim}), got [${x.shape}]`);
  }
  const ctx = context(params, training, dropout, prng);
  try {
    const [embedding, afterSubsampling, afterBlock0, afterEncoder] = tf.tidy(() => {
      const normed = batchNorm(x, "_global_cmvn", ctx) as tf.Tensor3D; // (B,T,F), per frequency bin
      const enc = conformerEncoder(normed, ctx); // (B,T',D)
      const pooled = attentiveStatisticsPooling(enc.output, ctx); // (B,E)
      return intermediates ? [pooled, enc.afterSubsampling, enc.afterBlock0, enc.output] : [pooled];
    });
    const result: EmbedResult = { embedding: embedding as tf.Tensor2D };
    if (intermediates) {
      result.intermediates = {
        afterSubsampling: afterSubsampling as tf.Tensor3D,
        afterBlock0: afterBlock0 as tf.Tensor3D,
        afterEncoder: afterEncoder as tf.Tensor3D,
      };
    }
    if (training) result.bnStats = ctx.bnStats;
    return result;
  } catch (e) {
    disposeStats(ctx.bnStats);
    throw e;
  }
}

/** Options of {@linkcode classify}. */
export interface ClassifyOptions {
  /** Training mode: the BNNeck uses batch statistics and returns them. @default false */
  training?: boolean;
}

/**
 * The training head: BNNeck (`_bottleneck`, BatchNorm1d with its bias frozen at 0) then `_ce_layer`
 * (Linear embedDim -> numClasses, no bias).
 *
 * @param embedding (B, embedDim) from {@linkcode embed}
 * @returns logits (B, numClasses) and, in training mode, the BNNeck's batch statistics
 */
export function classify(
  params: ModelParams,
  embedding: tf.Tensor,
  options: ClassifyOptions = {},
): { logits: tf.Tensor2D; bnStats?: Record<string, BatchNormStats> } {
  const { training = false } = options;
  if (embedding.rank !== 2 || embedding.shape[1] !== params.config.embedDim) {
    throw new RangeError(`classify: expected (B, ${params.config.embedDim}), got [${embedding.shape}]`);
  }
  const ctx = context(params, training, 0, undefined);
  try {
    const logits = tf.tidy(() => {
      const neck = batchNorm(embedding, "_bottleneck", ctx); // (B,E)
      return ctx.ops.linear(neck, getParam(params, "_ce_layer.weight")) as tf.Tensor2D; // (B,classes)
    });
    return training ? { logits, bnStats: ctx.bnStats } : { logits };
  } catch (e) {
    disposeStats(ctx.bnStats);
    throw e;
  }
}
