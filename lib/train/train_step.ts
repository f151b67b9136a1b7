/**
 * One optimiser step, pure in the nanoGPT sense: model tensors, optimiser and a batch in; losses and
 * the gradient norm out. Forward in training mode (dropout, BatchNorm on batch statistics), focal loss
 * on the BNNeck logits + batch-hard triplet on the embedding (+ center loss), global-norm clipping,
 * AdamW, then the BatchNorm running statistics (momentum 0.1, unbiased variance), as PyTorch does.
 * A non-finite loss skips the update and says so; the caller decides when to stop.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BatchNormStats, classify, embed, updateRunningStats } from "../model/model.ts";
import type { ModelParams } from "../model/params.ts";
import type { Prng } from "../data/prng.ts";
import type { AdamW } from "./adamw.ts";
import { gradNorm as globalGradNorm, gradNormScale } from "./clip.ts";
import { FOCAL_EPS_FLOAT32, focalLoss } from "./focal_loss.ts";
import { tripletLoss } from "./triplet_loss.ts";
import { centerLoss } from "./center_loss.ts";

/** Loss weights and step settings (from hparams `ce`/`foc`, `triplet`, `center`, `clip_grad_norm`). */
export interface LossOptions {
  /** Focal loss weight. @default 1 */
  focalWeight?: number;
  /** Focal gamma. @default 2 */
  gamma?: number;
  /** Focal eps (added to the softmax). @default float32 eps (the fork) */
  focalEps?: number;
  /** Triplet weight; applied when > 0.01 (the reference's rule). @default 0.1 */
  tripletWeight?: number;
  /** Triplet margin. @default 0.3 */
  tripletMargin?: number;
  /** Center loss weight; applied when > 0. @default 0 */
  centerWeight?: number;
}

/** Options of {@linkcode trainStep}. */
export interface TrainStepOptions extends LossOptions {
  /** Learning rate of this step. */
  lr: number;
  /** Global gradient-norm clip; 0 = off. @default 1 */
  clipNorm?: number;
  /** Dropout probability. @default the model config's */
  dropout?: number;
  /** Dropout masks (required when dropout > 0). */
  prng?: Prng;
}

/** Losses of one batch (the weighted total and its parts, unweighted). */
export interface Losses {
  focal: number;
  triplet: number;
  center: number;
  total: number;
}

/** Result of {@linkcode trainStep}. */
export interface StepResult extends Losses {
  /** Global L2 norm of the gradients before clipping (NaN when skipped). */
  gradNorm: number;
  /** False when the loss was not finite: nothing was updated. */
  finite: boolean;
}

/** The weighted loss terms as tensors (inside a tape); `parts` are kept for reporting. */
export function computeLosses(
  params: ModelParams,
  embedding: tf.Tensor2D,
  logits: tf.Tensor2D,
  labels: Int32Array,
  o: LossOptions,
): { total: tf.Scalar; parts: { focal: tf.Scalar; triplet: tf.Scalar; center: tf.Scalar } } {
  const { focalWeight = 1, gamma = 2, focalEps = FOCAL_EPS_FLOAT32, tripletWeight = 0.1 } = o;
  const { tripletMargin = 0.3, centerWeight = 0 } = o;
  const focal = focalLoss(logits, labels, { gamma, eps: focalEps });
  const triplet = tripletWeight > 0.01 ? tripletLoss(embedding, labels, { margin: tripletMargin }) : tf.scalar(0);
  const centers = params.trainable.get("_center_loss.centers");
  const center = centerWeight > 0 && centers ? centerLoss(embedding, labels, centers as tf.Tensor2D) : tf.scalar(0);
  let total = tf.mul(focal, focalWeight) as tf.Scalar;
  if (tripletWeight > 0.01) total = tf.add(total, tf.mul(triplet, tripletWeight));
  if (centerWeight > 0) total = tf.add(total, tf.mul(center, centerWeight));
  return { total, parts: { focal, triplet, center } };
}

/**
 * The gradients of one batch, or of one shard of it: the loss terms, every gradient by parameter name, and the
 * BatchNorm batch statistics. Dispose with {@linkcode disposeGradients}.
 */
export interface BatchGradients {
  /** The weighted total and its parts, unweighted: [total, focal, triplet, center] (scalars). */
  losses: [tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar];
  /** Gradient of the total by parameter name (the parameters of {@linkcode trainableNames}). */
  grads: Record<string, tf.Tensor>;
  /** Batch statistics of every BatchNorm, for the running statistics. */
  stats: Record<string, BatchNormStats>;
}

/** The parameters a step trains: the centers only when center loss is on (PyTorch leaves the others untouched). */
export function trainableNames(params: ModelParams, centerWeight = 0): string[] {
  return [...params.trainable.keys()].filter((n) => n !== "_center_loss.centers" || centerWeight > 0);
}

/**
 * Forward in training mode and backward: the losses and gradients of `x` (B, T, F) with integer `labels` (B).
 * Nothing is updated.
 */
export function computeGradients(
  params: ModelParams,
  x: tf.Tensor3D,
  labels: Int32Array,
  options: LossOptions & { dropout?: number; prng?: Prng },
): BatchGradients {
  const names = trainableNames(params, options.centerWeight);
  const vars = names.map((n) => params.trainable.get(n)!);
  let stats: Record<string, BatchNormStats> = {};
  let kept: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const fwd = embed(params, x, { training: true, ...dropoutOptions(options) });
    const head = classify(params, fwd.embedding, { training: true });
    stats = { ...fwd.bnStats, ...head.bnStats };
    for (const s of Object.values(stats)) tf.keep(s.mean), tf.keep(s.varUnbiased);
    const { total, parts } = computeLosses(params, fwd.embedding, head.logits, labels, options);
    kept = [tf.keep(parts.focal), tf.keep(parts.triplet), tf.keep(parts.center)];
    return total;
  }, vars);
  const byName: Record<string, tf.Tensor> = {};
  const varNames = new Map(vars.map((v, i) => [v.name, names[i]!]));
  for (const [k, g] of Object.entries(grads)) byName[varNames.get(k) ?? k] = g;
  return { losses: [value, kept[0]!, kept[1]!, kept[2]!], grads: byName, stats };
}

/** Disposes what {@linkcode computeGradients} returned. */
export function disposeGradients(g: BatchGradients): void {
  tf.dispose([...g.losses, ...Object.values(g.grads)]);
  for (const s of Object.values(g.stats)) tf.dispose([s.mean, s.varUnbiased]);
}

/**
 * The update from a batch's gradients: global-norm clipping, AdamW, then the BatchNorm running statistics. Nothing is
 * updated when the loss is not finite. Does not dispose `g`.
 *
 * @returns losses and the pre-clip gradient norm, read back in one asynchronous read (the webgpu backend cannot read
 *   synchronously under Deno)
 */
export async function applyGradients(
  params: ModelParams,
  optimizer: AdamW,
  g: BatchGradients,
  options: { lr: number; clipNorm?: number },
): Promise<StepResult> {
  const { lr, clipNorm = 1 } = options;
  // The clip factor stays a tensor and goes to the optimiser, which scales each gradient inside its update.
  const clipped = clipNorm > 0 ? gradNormScale(g.grads, clipNorm) : { norm: globalGradNorm(g.grads), scale: undefined };
  const readout = tf.tidy(() => tf.stack([...g.losses, clipped.norm]));
  try {
    const [total, focal, triplet, center, gradNorm] = Array.from(await readout.data()) as [
      number,
      number,
      number,
      number,
      number,
    ];
    if (!Number.isFinite(total)) return { focal, triplet, center, total, gradNorm: NaN, finite: false };
    const names = Object.keys(g.grads);
    optimizer.step(
      Object.fromEntries(names.map((n) => [n, params.trainable.get(n)!])),
      g.grads,
      lr,
      clipped.scale ? { gradScale: clipped.scale } : {},
    );
    updateRunningStats(params, g.stats);
    return { focal, triplet, center, total, gradNorm, finite: true };
  } finally {
    tf.dispose([readout, clipped.norm]);
    clipped.scale?.dispose();
  }
}

/**
 * Runs one training step on `x` (B, T, F) with integer `labels` (B): {@linkcode computeGradients}, then
 * {@linkcode applyGradients}.
 *
 * @returns losses and the pre-clip gradient norm; nothing is updated when the loss is not finite
 */
export async function trainStep(
  params: ModelParams,
  optimizer: AdamW,
  x: tf.Tensor3D,
  labels: Int32Array,
  options: TrainStepOptions,
): Promise<StepResult> {
  const g = computeGradients(params, x, labels, options);
  try {
    return await applyGradients(params, optimizer, g, options);
  } finally {
    disposeGradients(g);
  }
}

function dropoutOptions(o: { dropout?: number; prng?: Prng }): { dropout?: number; prng?: Prng } {
  return { ...(o.dropout === undefined ? {} : { dropout: o.dropout }), ...(o.prng ? { prng: o.prng } : {}) };
}
