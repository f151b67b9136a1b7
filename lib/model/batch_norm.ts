/**
 * BatchNorm over the channel axis (PyTorch `nn.BatchNorm1d(C)`, eps 1e-5, momentum 0.1) on channel-last
 * tensors (B, C) or (B, T, C); PyTorch's (B, C, T) layout normalises the same numbers. Eval mode uses the
 * running statistics. Training mode normalises with the batch mean and the biased batch variance, and records
 * the mean and the UNBIASED variance so that {@linkcode updateRunningStats} can apply PyTorch's update
 * `running = (1 - momentum)·running + momentum·batch`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ForwardContext } from "./_context.ts";
import { getParam, type ModelParams } from "./params.ts";

/** PyTorch's BatchNorm epsilon. */
export const BATCH_NORM_EPS = 1e-5;
/** PyTorch's BatchNorm momentum (weight of the new batch in the running statistics). */
export const BATCH_NORM_MOMENTUM = 0.1;

/** Batch statistics of one BatchNorm in training mode. */
export interface BatchNormStats {
  /** Per-channel batch mean (C). */
  mean: tf.Tensor1D;
  /** Per-channel unbiased batch variance (C), i.e. biased · n / (n - 1). */
  varUnbiased: tf.Tensor1D;
  /** Values per channel (batch x time): what shards' statistics are weighted by when they are combined. */
  count: number;
}

/**
 * Applies the BatchNorm stored under `prefix` to x (..., C). In training mode the batch statistics are put into
 * `ctx.bnStats[prefix]`, kept out of every tidy (the caller disposes them).
 *
 * @throws {RangeError} in training mode with a single value per channel (PyTorch refuses it too)
 */
export function batchNorm(x: tf.Tensor, prefix: string, ctx: ForwardContext): tf.Tensor {
  const p = ctx.params;
  const weight = getParam(p, `${prefix}.weight`);
  const bias = getParam(p, `${prefix}.bias`);
  const c = x.shape[x.rank - 1]!;
  if (!ctx.training) {
    return tf.tidy(() => {
      // Fused as PyTorch's CPU inference kernel: y = x·scale + shift.
      const scale = tf.mul(weight, tf.rsqrt(tf.add(getParam(p, `${prefix}.running_var`), BATCH_NORM_EPS)));
      const shift = tf.sub(bias, tf.mul(getParam(p, `${prefix}.running_mean`), scale));
      return tf.add(tf.mul(x, scale), shift);
    });
  }
  const n = x.size / c;
  if (n < 2) throw new RangeError(`${prefix}: BatchNorm in training mode needs more than 1 value per channel`);
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes); // (C) each, biased variance
  const stats: BatchNormStats = {
    mean: tf.keep(mean as tf.Tensor1D),
    varUnbiased: tf.keep(tf.mul(variance, n / (n - 1)) as tf.Tensor1D),
    count: n,
  };
  const old = ctx.bnStats[prefix];
  if (old !== undefined) tf.dispose([old.mean, old.varUnbiased]);
  ctx.bnStats[prefix] = stats;
  return tf.tidy(() => {
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, BATCH_NORM_EPS)));
    return tf.add(tf.mul(normed, weight), bias);
  });
}

/**
 * PyTorch's running-statistics update for every BatchNorm in `stats` (momentum 0.1, unbiased variance) and
 * `num_batches_tracked += 1`. Does not dispose `stats`.
 *
 * @param params the model, updated in place
 * @param stats what a training-mode forward pass returned (`embed(...).bnStats`, `classify(...).bnStats`)
 * @throws {RangeError} for a prefix that is not a BatchNorm of the model
 */
export function updateRunningStats(
  params: ModelParams,
  stats: Readonly<Record<string, BatchNormStats>>,
  momentum = BATCH_NORM_MOMENTUM,
): void {
  for (const [prefix, s] of Object.entries(stats)) {
    if (!params.batchesTracked.has(prefix)) throw new RangeError(`'${prefix}' is not a BatchNorm of the model`);
    const mean = getParam(params, `${prefix}.running_mean`);
    const variance = getParam(params, `${prefix}.running_var`);
    tf.tidy(() => {
      mean.assign(tf.add(tf.mul(mean, 1 - momentum), tf.mul(s.mean, momentum)));
      variance.assign(tf.add(tf.mul(variance, 1 - momentum), tf.mul(s.varUnbiased, momentum)));
    });
    params.batchesTracked.set(prefix, params.batchesTracked.get(prefix)! + 1);
  }
}
