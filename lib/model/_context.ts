/**
 * What every block's forward pass needs besides its input and weights: the mode, the dropout probability and
 * its seeded generator, the backend's primitives, and the place where BatchNorm layers leave their batch
 * statistics in training mode.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dropoutMask } from "./dropout_mask.ts";
import type { Prng } from "../data/prng.ts";
import type { Ops } from "./_ops.ts";
import type { BatchNormStats } from "./batch_norm.ts";
import type { ModelParams } from "./params.ts";

/** Per-call state of a forward pass. */
export interface ForwardContext {
  /** The model's tensors. */
  readonly params: ModelParams;
  /** Training mode: dropout active, BatchNorm on batch statistics. */
  readonly training: boolean;
  /** Dropout probability (used only in training mode). */
  readonly dropout: number;
  /** Source of the dropout masks; required when training with dropout > 0. */
  readonly prng: Prng | undefined;
  /** Backend-dependent primitives. */
  readonly ops: Ops;
  /** Training mode: batch statistics per BatchNorm prefix, kept (tf.keep) for the running-stat update. */
  readonly bnStats: Record<string, BatchNormStats>;
}

/**
 * Inverted dropout (PyTorch `nn.Dropout`): in training mode each element is kept with probability 1 - p and
 * scaled by 1 / (1 - p); the mask is a hash of (seed, element index) with one seed drawn from `ctx.prng` per call
 * (see dropout_mask.ts). Identity in eval mode or when p = 0.
 *
 * @throws {TypeError} when a mask is needed and the context has no prng
 */
export function dropout(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
  const p = ctx.dropout;
  if (!ctx.training || p === 0) return x;
  if (ctx.prng === undefined) throw new TypeError("dropout in training mode needs a prng (createPrng(seed))");
  // One draw per call seeds a hash mask (dropout_mask.ts): drawn on the GPU under webgpu, no per-element upload.
  const seed = Math.floor(ctx.prng.next() * 2 ** 32) >>> 0;
  return tf.mul(x, dropoutMask(x.shape, seed, p));
}
