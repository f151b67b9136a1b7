/**
 * The training loop, top to bottom (nanoGPT style): data, model, optimiser, then per epoch the three
 * interleaved chunk-length loaders (one AdamW step per batch), validation losses, retrieval metrics on
 * every test set, early stopping, checkpoint, summary. Everything random comes from seeded generators
 * whose states are checkpointed, so a resumed run continues exactly as an unbroken one.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { encodeNpy } from "../io/npy.ts";
import { formatLine, readLines } from "../io/lines.ts";
import { writeFileAtomic, writeTextFileAtomic } from "../io/atomic.ts";
import { createEventWriter } from "../io/tensorboard.ts";
import { createPrng } from "../data/prng.ts";
import { MPerClassSampler } from "../data/sampler.ts";
import { type FeatureStore, loadFeatureStore } from "../data/chunk_loader.ts";
import { createSpecAug } from "../data/spec_aug.ts";
import { type EmbedFn, evaluateRetrieval } from "../eval/evaluate.ts";
import { readQueryInRef, type TrackChunkEmbeddings } from "../eval/distance.ts";
import { type ModelConfig, modelConfigFromHparams } from "../model/config.ts";
import { disposeParams, initParams, type ModelParams, paramsFromTensors, paramsToTensors } from "../model/params.ts";
import { classify, embed } from "../model/model.ts";
import { createAdamW } from "./adamw.ts";
import { lrAt, type LrScheduleOptions } from "./lr_schedule.ts";
import { computeLosses, type LossOptions, trainStep } from "./train_step.ts";
import { createTrainPool, shardCount, wasmShardFrames } from "./data_parallel.ts";
import {
  checkpointName,
  type EarlyStopState,
  type EpochRecord,
  loadCheckpoint,
  saveCheckpoint,
  type TrainState,
} from "./checkpoint.ts";
import type { TrainHparams } from "./train_hparams.ts";

/** Options of {@linkcode train}. */
export interface TrainOptions {
  /** The experiment folder (`egs/<set>`): checkpoints/, logs/<runid>/, embed_<epoch>_<set>/ go there. */
  egsDir: string;
  /** Resolved hparams. */
  hparams: TrainHparams;
  /** TensorBoard run name. @default "run" */
  runid?: string;
  /** Continue from the latest checkpoint when there is one. @default true */
  resume?: boolean;
  /** Stop after this many optimiser steps (benchmarks, tests). */
  maxSteps?: number;
  /** A line of progress or summary. */
  log?: (line: string) => void;
  /** Cancels between steps. */
  signal?: AbortSignal;
  /** Evaluate the test sets before the first epoch (the original's `--first_eval`), logged as epoch 0. */
  firstEval?: boolean;
  /**
   * On a CPU backend (`cpu`, `wasm`): threads that share each batch, this one and `workers - 1` worker threads
   * (data-parallel, see `data_parallel.ts`); 1 = this thread alone. Ignored on WebGPU. @default 1
   */
  workers?: number;
}

/** How a run ended. */
export interface TrainResult {
  /** Last finished epoch. */
  epoch: number;
  step: number;
  stoppedBy: "max_epochs" | "early_stopping" | "diverged" | "max_steps" | "aborted";
  history: EpochRecord[];
  /** Epoch of the best checkpoint (by the early-stopping metric; the last epoch when there is none). */
  bestEpoch: number;
  /** Test-set metrics before training, when `firstEval` ran. */
  initialMap?: EpochRecord["map"];
}

/** Raised when the loss is not finite three steps in a row. */
export class TrainingDivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

type HP = Readonly<Record<string, unknown>>;
const num = (hp: HP, k: string) => hp[k] as number;
const block = (hp: HP, k: string) => (hp[k] ?? {}) as Record<string, number>;

/** Loss settings from hparams (`ce`/`foc`, `triplet`, `center`). */
export function lossOptions(hp: HP): LossOptions {
  const foc = block(hp, "foc").output_dims !== undefined ? block(hp, "foc") : block(hp, "ce");
  return {
    focalWeight: foc.weight ?? 1,
    gamma: foc.gamma ?? 2,
    tripletWeight: block(hp, "triplet").weight ?? 0.1,
    tripletMargin: block(hp, "triplet").margin ?? 0.3,
    centerWeight: block(hp, "center").weight ?? 0,
  };
}

/** LR schedule settings from hparams. */
export function lrOptions(hp: HP): LrScheduleOptions {
  return {
    learningRate: num(hp, "learning_rate"),
    lrDecay: num(hp, "lr_decay"),
    minLr: num(hp, "min_lr"),
    decayInterval: num(hp, "decay_steps"),
    warmup: hp.warmup as boolean,
    warmupSteps: num(hp, "warmup_steps"),
    holdSteps: num(hp, "hold_steps"),
  };
}

/** The model config: hparams, with the class count from `ce`/`foc` or, when absent, the data. */
export function modelConfigFor(hp: HP, maxLabel: number): ModelConfig {
  const foc = hp.foc ?? hp.ce;
  const classes = (foc as Record<string, number> | undefined)?.output_dims ?? maxLabel + 1;
  if (maxLabel >= classes) {
    throw new RangeError(`song_id ${maxLabel} does not fit ce/foc.output_dims = ${classes}: raise output_dims`);
  }
  return {
    ...modelConfigFromHparams({ ...hp, ce: { ...(foc as object ?? {}), output_dims: classes } }),
    dropout: num(hp, "dropout"),
  };
}

/**
 * The model in eval mode, in this thread, as an {@linkcode EmbedFn} over windows of `chunkFrame` model frames.
 *
 * @param params the model
 * @param chunkFrame model frames per window
 */
export function modelEmbedFn(params: ModelParams, chunkFrame: number): EmbedFn {
  return (x, b) => embedBatch(params, x, [b, chunkFrame, x.length / (b * chunkFrame)]);
}

/** Embeds `(B, T, F)` chunks in eval mode (one tidy, one read-back). */
export async function embedBatch(
  params: ModelParams,
  x: Float32Array,
  shape: [number, number, number],
): Promise<Float32Array> {
  // An asynchronous read: the webgpu backend cannot read synchronously under Deno (no OffscreenCanvas).
  const e = tf.tidy(() => embed(params, tf.tensor3d(x, shape)).embedding);
  try {
    return (await e.data()) as Float32Array;
  } finally {
    e.dispose();
  }
}

/** Trains (see the module doc). */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { egsDir, hparams, runid = "run", resume = true, maxSteps, signal, firstEval = false, workers = 1 } = options;
  const log = options.log ?? (() => {});
  const hp = hparams.hp;
  const seed = num(hp, "seed");
  const chunkFrames = hp.chunk_frame as number[];
  const meanSize = num(hp, "mean_size");
  const batchSize = num(hp, "batch_size");
  const m = num(hp, "m_per_class");
  const mode = hp.mode as "random" | "defined";
  const losses = lossOptions(hp);
  const lrOpts = lrOptions(hp);
  const everyDev = (hp.every_n_epoch_to_test ?? hp.every_n_epoch_to_dev) as number;
  const ckptDir = join(egsDir, "checkpoints");

  // ---- data: features in memory, one sampler per chunk length ----
  const trainStore = await loadFeatureStore(hp.train_path as string);
  const valSets: [string, FeatureStore, number][] = [];
  for (
    const [name, key, alt, mm] of [["val", "val_path", "train_sample_path", 1], [
      "test",
      "test_path",
      "dev_path",
      m,
    ]] as const
  ) {
    const path = (hp[key] ?? hp[alt]) as string | undefined;
    if (path) valSets.push([name, await loadFeatureStore(path), mm]);
  }
  const maxLabel = Math.max(
    ...trainStore.items.map((i) => i.label),
    ...valSets.flatMap(([, s]) => s.items.map((i) => i.label)),
  );
  const config = modelConfigFor(hp, maxLabel);
  if (trainStore.bins !== config.inputDim) {
    throw new RangeError(`${hp.train_path}: features have ${trainStore.bins} bins, input_dim is ${config.inputDim}`);
  }
  const specAug = hp.spec_augmentation ? createSpecAug(hp.spec_augmentation as never) : undefined;

  // ---- model, optimiser, state: fresh or from the latest checkpoint ----
  const ckpt = resume ? await loadCheckpoint(ckptDir) : null;
  if (ckpt && JSON.stringify(ckpt.config) !== JSON.stringify(config)) {
    throw new Error(
      `${ckptDir}: the checkpoint's model (${JSON.stringify(ckpt.config)}) differs from hparams (${
        JSON.stringify(config)
      }); ` +
        "use another egs folder or --no-resume",
    );
  }
  const params = ckpt ? paramsFromTensors(ckpt.model, config) : initParams(config, createPrng(seed));
  const hpOpt = {
    beta1: num(hp, "adam_b1"),
    beta2: num(hp, "adam_b2"),
    eps: 1e-8,
    weightDecay: num(hp, "weight_decay"),
  };
  const optimizer = createAdamW(hpOpt);
  if (ckpt) optimizer.loadAdamwState(ckpt.optimizer);
  const state: TrainState = ckpt?.state ?? {
    epoch: 0,
    step: 0,
    prng: {},
    samplers: {},
    earlyStop: { best: null, bestEpoch: 0, smoothed: null, counter: 0 },
    nonFinite: 0,
    history: [],
  };
  const prng = createPrng(seed + 1, state.prng.main);
  const labels = trainStore.items.map((i) => i.label);
  const samplers = chunkFrames.map((_, i) =>
    new MPerClassSampler(labels, { m, batchSize, seed: seed + 10 + i, ...samplerState(state, `train${i}`) })
  );
  // The resolved hparams beside the checkpoints, so the folder opens as a model folder on its own.
  await writeTextFileAtomic(
    join(ckptDir, "hparams.json"),
    JSON.stringify({ ...hp, ...hparams.testSets }, null, 2) + "\n",
  );
  const writer = await createEventWriter(join(egsDir, "logs", runid));
  log(
    `train: ${trainStore.items.length} recordings, ${new Set(labels).size} works, ${config.numClasses} classes; ` +
      `${samplers[0]!.numIters} batches x ${chunkFrames.length} lengths per epoch; ` +
      (ckpt ? `resuming after epoch ${ckpt.epoch} (step ${state.step})` : "from scratch"),
  );

  // On a CPU backend: data-parallel over the threads, and on wasm batches that would not fit its heap in shards.
  const backend = tf.getBackend();
  const maxShardFrames = backend === "wasm" ? wasmShardFrames(config) : Infinity;
  const tooBig = batchSize * Math.max(...chunkFrames) > maxShardFrames;
  const pool = (workers > 1 || tooBig) && (backend === "cpu" || backend === "wasm")
    ? await createTrainPool(params, { threads: workers, backend, maxShardFrames })
    : undefined;
  if (pool) {
    const perShard = Math.floor(batchSize / shardCount(batchSize, Math.max(...chunkFrames), workers, maxShardFrames));
    if (perShard < 4) {
      log(
        `warning: shards of ~${perShard} chunks: each BatchNorm normalises over so few chunks that its statistics are ` +
          "noisy; fewer --workers or a larger batch_size keep training closer to one thread's",
      );
    }
    log(
      `train: each batch split over ${workers} thread(s)` +
        (tooBig ? `, in shards of at most ${maxShardFrames} frames (wasm's 4 GiB heap)` : "") +
        " (BatchNorm statistics and triplet mining per shard, as in the original's DDP)",
    );
  }
  let stoppedBy: TrainResult["stoppedBy"] = "max_epochs";
  let initialMap: EpochRecord["map"] | undefined;
  const evalOpts = { chunkFrame: chunkFrames[0]!, meanSize, chunkS: num(hp, "chunk_s"), batchSize };
  // With a pool, the test sets are embedded on all its threads too.
  const embedder = pool ? { embed: pool.embedFn(params, evalOpts.chunkFrame), concurrency: pool.threads } : undefined;
  try {
    if (firstEval && state.epoch === 0) {
      initialMap = {};
      for (const [name, set] of Object.entries(hparams.testSets)) {
        const label = (set.save_name as string | undefined) ?? name;
        const r = await evaluateTestSet(params, set, evalOpts, embedder);
        initialMap[label] = { mAP: r.metrics.meanAp, hitRate: r.metrics.hitRate, rank1: r.metrics.rank1 };
        writer.scalar(`mAP/${label}`, r.metrics.meanAp, 0);
        log(
          `epoch 0 (untrained) ${label}: mAP ${r.metrics.meanAp.toFixed(4)} hit rate ${
            r.metrics.hitRate.toFixed(4)
          } MR1 ${r.metrics.rank1.toFixed(2)}`,
        );
      }
    }
    for (let epoch = state.epoch + 1; epoch <= num(hp, "max_epochs"); epoch++) {
      const t0 = performance.now();
      // ---- one epoch: zip of the loaders, their order shuffled per iteration, one step per batch ----
      const batches = samplers.map((s) => s.epoch());
      const iters = Math.min(...batches.map((b) => b.length));
      const sums = { focal: 0, triplet: 0, center: 0, total: 0, n: 0 };
      let lr = lrAt(Math.max(1, state.step), lrOpts);
      let chunksDone = 0;
      for (let it = 0; it < iters && stoppedBy === "max_epochs"; it++) {
        for (const li of prng.shuffle(chunkFrames.map((_, i) => i))) {
          if (signal?.aborted) {
            stoppedBy = "aborted";
            break;
          }
          state.step++;
          lr = lrAt(state.step, lrOpts);
          const b = trainStore.makeBatch(batches[li]![it]!, {
            chunkFrame: chunkFrames[li]!,
            meanSize,
            mode,
            prng,
            ...(specAug ? { specAug } : {}),
          });
          const stepOptions = { ...losses, lr, clipNorm: num(hp, "clip_grad_norm"), prng };
          let r;
          try {
            if (pool) r = await pool.step(params, optimizer, b, stepOptions);
            else {
              const x = tf.tensor3d(b.x, b.shape);
              r = await trainStep(params, optimizer, x, b.labels, stepOptions);
              x.dispose();
            }
          } catch (e) {
            throw heapFullError(e, state.step, b.shape, maxShardFrames, ckptDir, state.epoch);
          }
          if (!r.finite) {
            state.nonFinite++;
            log(
              `warning: step ${state.step}: loss is ${r.total} (non-finite ${state.nonFinite} in a row); update skipped`,
            );
            if (state.nonFinite >= 3) {
              throw new TrainingDivergedError(
                `training diverged: ${state.nonFinite} non-finite losses in a row at step ${state.step}; the last good ` +
                  `checkpoint is ${lastCheckpoint(ckptDir, state.epoch)}; ` +
                  "lower learning_rate or check the features",
              );
            }
            continue;
          }
          state.nonFinite = 0;
          chunksDone += b.shape[0];
          for (const k of ["focal", "triplet", "center", "total"] as const) sums[k] += r[k];
          sums.n++;
          if (state.step === 1 || state.step % num(hp, "log_every_steps") === 0) {
            writer.scalar("csi/lr", lr, state.step);
            writer.scalar("csi/ce_loss", r.focal, state.step);
            writer.scalar("csi/tri_loss", r.triplet, state.step);
            if (losses.centerWeight! > 0) writer.scalar("csi/cen_loss", r.center, state.step);
            writer.scalar("csi/total", r.total, state.step);
            const el = (performance.now() - t0) / 1000, frac = (it + 1) / iters;
            log(
              `epoch ${epoch} step ${state.step} [${(frac * 100).toFixed(0)}%] focal ${r.focal.toFixed(4)} ` +
                `triplet ${r.triplet.toFixed(4)} total ${r.total.toFixed(4)} lr ${lr.toExponential(2)} ` +
                `${(chunksDone / el).toFixed(1)} chunks/s ETA ${formatS(el / frac - el)} gnorm ${
                  r.gradNorm.toFixed(2)
                }`,
            );
          }
          if (maxSteps !== undefined && state.step >= maxSteps) stoppedBy = "max_steps";
          if (stoppedBy !== "max_epochs") break;
        }
      }
      if (stoppedBy === "aborted") break;
      const mean = (k: "focal" | "triplet" | "center" | "total") => (sums.n > 0 ? sums[k] / sums.n : NaN);
      const record: EpochRecord = {
        epoch,
        step: state.step,
        lr,
        train: { focal: mean("focal"), triplet: mean("triplet"), center: mean("center"), total: mean("total") },
        val: {},
        map: {},
        timeS: 0,
      };

      // ---- validation losses and retrieval metrics ----
      const isLast = epoch === num(hp, "max_epochs") || stoppedBy === "max_steps";
      if (epoch % everyDev === 0 || isLast) {
        for (const [name, store, mm] of valSets) {
          record.val[name] = await validationLoss(params, store, {
            m: mm,
            batchSize,
            chunkFrame: chunkFrames[0]!,
            meanSize,
            mode,
            seed,
            losses,
          });
          writer.scalar(`csi_${name}/ce_loss`, record.val[name]!.focal, epoch);
          writer.scalar(`csi_${name}/tri_loss`, record.val[name]!.triplet, epoch);
        }
        for (const [name, set] of Object.entries(hparams.testSets)) {
          const every = (set.every_n_epoch_to_test ?? set.every_n_epoch_to_dev ?? 1) as number;
          if (epoch % every !== 0 && !isLast) continue;
          const label = (set.save_name as string | undefined) ?? name;
          const r = await evaluateTestSet(params, set, evalOpts, embedder);
          record.map[label] = { mAP: r.metrics.meanAp, hitRate: r.metrics.hitRate, rank1: r.metrics.rank1 };
          writer.scalar(`mAP/${label}`, r.metrics.meanAp, epoch);
          writer.scalar(`hit_rate/${label}`, r.metrics.hitRate, epoch);
          writer.scalar(`MR1/${label}`, r.metrics.rank1, epoch);
          await saveEmbeddings(join(egsDir, `embed_${epoch}_${label}`), r.utts, r.embeddings.query);
        }
      }
      writer.scalar("csi/epoch_total", record.train.total, epoch);
      await writer.flush();

      // ---- early stopping ----
      const stop = updateEarlyStop(state.earlyStop, record, hp, epoch);
      if (stop) stoppedBy = "early_stopping";
      record.timeS = (performance.now() - t0) / 1000;
      state.history.push(record);
      state.epoch = epoch;
      state.prng.main = prng.state();
      samplers.forEach((s, i) => (state.samplers[`train${i}`] = s.state()));

      // ---- checkpoint (every N epochs, the best, and the last) ----
      const improved = state.earlyStop.bestEpoch === epoch;
      const saved = epoch % num(hp, "every_n_epoch_to_save") === 0 || improved || stoppedBy !== "max_epochs" || isLast;
      if (saved) {
        await saveCheckpoint(ckptDir, await paramsToTensors(params), config, await optimizer.adamwState(), state);
      }
      log(formatEpochSummary(record, state, hp, saved ? join(ckptDir, checkpointName("g", epoch)) : ""));
      if (stoppedBy !== "max_epochs") break;
    }
  } finally {
    pool?.close();
    await writer.close();
    optimizer.dispose();
    disposeParams(params);
  }
  return {
    epoch: state.epoch,
    step: state.step,
    stoppedBy,
    history: state.history,
    bestEpoch: state.earlyStop.bestEpoch || state.epoch,
    ...(initialMap ? { initialMap } : {}),
  };
}

/** The checkpoint of the last finished epoch, for error messages. */
function lastCheckpoint(ckptDir: string, epoch: number): string {
  return epoch > 0 ? join(ckptDir, checkpointName("g", epoch)) : "none (epoch 1)";
}

/**
 * tfjs-wasm aborts with a bare `Aborted()` when its 4 GiB heap is full: the error says what ran out and what to change
 * (the shard size estimate of `wasmShardFrames` may be low for an unusual model). Other errors pass unchanged.
 */
export function heapFullError(
  e: unknown,
  step: number,
  shape: readonly number[],
  maxShardFrames: number,
  ckptDir: string,
  epoch: number,
): unknown {
  if (!(e instanceof Error) || !/Aborted\(|out of memory|cannot allocate/i.test(e.message)) return e;
  return new Error(
    `step ${step}: the wasm backend ran out of memory on a batch of [${shape}] (${e.message.split("\n")[0]}). ` +
      `tfjs-wasm's heap ends at 4 GiB; shards were capped at ${maxShardFrames} frames. Lower batch_size or ` +
      `chunk_frame, or train on WebGPU. The last checkpoint is ${lastCheckpoint(ckptDir, epoch)}.`,
    { cause: e },
  );
}

function samplerState(state: TrainState, name: string): { state?: { prng: number; labels: number[] } } {
  const s = state.samplers[name];
  return s ? { state: s } : {};
}

/** Mean validation losses in eval mode over one pass of an m-per-class sampler (fixed seed: comparable across epochs). */
async function validationLoss(
  params: ModelParams,
  store: FeatureStore,
  o: {
    m: number;
    batchSize: number;
    chunkFrame: number;
    meanSize: number;
    mode: "random" | "defined";
    seed: number;
    losses: LossOptions;
  },
): Promise<{ focal: number; triplet: number }> {
  const labels = store.items.map((i) => i.label);
  const sampler = new MPerClassSampler(labels, { m: o.m, batchSize: o.batchSize, seed: o.seed + 1000 });
  const prng = createPrng(o.seed + 2000);
  let focal = 0, triplet = 0, n = 0;
  for (const idx of sampler.epoch()) {
    const b = store.makeBatch(idx, { chunkFrame: o.chunkFrame, meanSize: o.meanSize, mode: o.mode, prng });
    const both = tf.tidy(() => {
      const { embedding } = embed(params, tf.tensor3d(b.x, b.shape));
      const { logits } = classify(params, embedding);
      const { parts } = computeLosses(params, embedding, logits, b.labels, { ...o.losses, tripletWeight: 1 });
      return tf.stack([parts.focal, parts.triplet]);
    });
    const [f = NaN, t = NaN] = await both.data();
    both.dispose();
    focal += f;
    triplet += t;
    n++;
  }
  return { focal: n > 0 ? focal / n : NaN, triplet: n > 0 ? triplet / n : NaN };
}

/** Retrieval metrics of the current model on one test set (spec §6). */
export async function evaluateTestSet(
  params: ModelParams,
  set: Readonly<Record<string, unknown>>,
  o: { chunkFrame: number; meanSize: number; chunkS: number; batchSize: number },
  embedder?: { embed: EmbedFn; concurrency: number },
) {
  const queryLines = await readLines(set.query_path as string);
  const sameFile = set.query_path === set.ref_path;
  const refLines = sameFile ? queryLines : await readLines(set.ref_path as string);
  const queryInRef = set.query_in_ref_path
    ? await readQueryInRef(set.query_in_ref_path as string, { numQuery: queryLines.length, numRef: refLines.length })
    : undefined;
  const r = await evaluateRetrieval({
    queryLines,
    refLines,
    sameFile,
    ...(queryInRef ? { queryInRef } : {}),
    chunkFrame: o.chunkFrame,
    meanSize: o.meanSize,
    chunkS: o.chunkS,
    batchSize: o.batchSize,
    embed: embedder?.embed ?? modelEmbedFn(params, o.chunkFrame),
    concurrency: embedder?.concurrency ?? 1,
  });
  return { ...r, utts: queryLines.map((l) => String(l.utt ?? l.perf)) };
}

/**
 * Writes a test set's query chunk embeddings: `embeddings.npy` (chunks, D), and `tracks.txt` with one line
 * per track (`utt`, `chunks`: its rows are the next `chunks` rows of the matrix).
 */
async function saveEmbeddings(dir: string, utts: string[], e: TrackChunkEmbeddings): Promise<void> {
  const data = e.data instanceof Float32Array ? e.data : Float32Array.from(e.data);
  await writeFileAtomic(join(dir, "embeddings.npy"), encodeNpy({ data, shape: [data.length / e.dim, e.dim] }));
  const lines = utts.map((u, i) => formatLine({ utt: u, chunks: e.chunkCounts[i] }));
  await writeTextFileAtomic(join(dir, "tracks.txt"), lines.join("\n") + "\n");
}

/** Updates early stopping with an epoch's record; true when patience is used up. */
export function updateEarlyStop(es: EarlyStopState, r: EpochRecord, hp: HP, epoch: number): boolean {
  const metric = hp.early_stop_metric as "val_loss" | "mAP";
  let value: number | undefined;
  if (metric === "val_loss") {
    value = r.val.val?.focal ?? r.val.test?.focal;
  } else {
    const names = (hp.map_stopping_testsets as string[] | undefined) ?? Object.keys(r.map);
    const maps = names.map((n) => r.map[n]?.mAP).filter((v): v is number => v !== undefined);
    if (maps.length > 0) value = maps.reduce((a, b) => a + b, 0) / maps.length;
  }
  if (value === undefined || !Number.isFinite(value)) return false; // not measured this epoch
  let improved: boolean;
  if (metric === "val_loss") {
    improved = es.best === null || value < es.best;
    if (improved) es.best = value;
  } else {
    const alpha = num(hp, "map_smoothing_alpha");
    const prev = es.smoothed;
    es.smoothed = prev === null ? value : alpha * value + (1 - alpha) * prev;
    improved = prev === null || es.smoothed > prev;
    if (es.best === null || value > es.best) {
      es.best = value;
      es.bestEpoch = epoch;
    }
  }
  if (improved) {
    es.counter = 0;
    if (metric === "val_loss") es.bestEpoch = epoch;
  } else es.counter++;
  return es.counter >= num(hp, "early_stopping_patience");
}

function formatS(s: number): string {
  if (!Number.isFinite(s)) return "--";
  const t = Math.round(s);
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, "0")}`;
}

function formatEpochSummary(r: EpochRecord, state: TrainState, hp: HP, ckpt: string): string {
  const lines = [
    `epoch ${r.epoch}/${hp.max_epochs} done in ${formatS(r.timeS)} (step ${r.step}, lr ${r.lr.toExponential(3)})`,
    `  train: focal ${r.train.focal.toFixed(4)} triplet ${r.train.triplet.toFixed(4)} total ${
      r.train.total.toFixed(4)
    }`,
  ];
  for (const [k, v] of Object.entries(r.val)) {
    lines.push(`  ${k}: focal ${v.focal.toFixed(4)} triplet ${v.triplet.toFixed(4)}`);
  }
  for (const [k, v] of Object.entries(r.map)) {
    lines.push(`  ${k}: mAP ${v.mAP.toFixed(4)} hit rate ${v.hitRate.toFixed(4)} MR1 ${v.rank1.toFixed(2)}`);
  }
  const es = state.earlyStop;
  lines.push(
    `  early stopping (${hp.early_stop_metric}): ${es.counter}/${hp.early_stopping_patience}` +
      (es.best === null ? "" : `, best ${es.best.toFixed(4)} at epoch ${es.bestEpoch}`) +
      (ckpt ? `; saved ${ckpt}` : ""),
  );
  return lines.join("\n");
}
