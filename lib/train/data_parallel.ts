/**
 * Data-parallel training on several CPU cores. tfjs's wasm backend runs one thread per process (its threaded build
 * cannot start under Deno), so each batch is split into shards: this thread computes the first, worker threads (each
 * with its own backend and copy of the model) the others. The shards' gradients are averaged, weighted by their
 * chunks, and this thread clips them and takes the AdamW step; the workers get the new parameters with their next
 * shard. That is PyTorch DDP's scheme, the one the original's `distribute` mode used, with its semantics:
 * - each BatchNorm normalises a shard with the shard's own statistics, and batch-hard triplet mining sees only its
 *   shard (shards are cut between works where possible, so that a work's versions stay together);
 * - the focal and center losses, the clipping and AdamW see the whole batch, as in one thread;
 * - the running statistics are updated with the statistics of the whole batch, combined from the shards (DDP keeps
 *   rank 0's only).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelParams } from "../model/params.ts";
import { paramsToTensors } from "../model/params.ts";
import type { BatchNormStats } from "../model/model.ts";
import { createPrng, type Prng } from "../data/prng.ts";
import type { AdamW } from "./adamw.ts";
import type { EmbedFn } from "../eval/evaluate.ts";
import { embedBatch } from "./train.ts";
import {
  applyGradients,
  type BatchGradients,
  computeGradients,
  disposeGradients,
  type LossOptions,
  type StepResult,
  trainableNames,
  type TrainStepOptions,
} from "./train_step.ts";
import type { HostBatchNormStats, ShardResult, TrainWorkerReply, TrainWorkerRequest } from "./train_serve.ts";
import { startModelWorkers, workerUrl } from "../model/_workers.ts";

/** A batch on the host: chunks (B, T, F) row-major, and one label per chunk. */
export interface HostBatch {
  x: Float32Array;
  shape: [number, number, number];
  labels: Int32Array;
}

/** A running pool of training workers. */
export interface TrainPool {
  /** Shards per batch at most (this thread + the workers). */
  threads: number;
  /**
   * One optimiser step on `batch`, split over the threads. `options.prng` draws one dropout seed per shard.
   *
   * @returns what {@linkcode trainStep} returns for the whole batch
   */
  step(params: ModelParams, optimizer: AdamW, batch: HostBatch, options: TrainStepOptions & { prng: Prng }): Promise<
    StepResult
  >;
  /**
   * Embeds in eval mode on all the threads (the test sets between epochs): give `threads` as the concurrency.
   *
   * @param params the model (the workers get its current parameters and running statistics)
   * @param chunkFrame model frames per window
   */
  embedFn(params: ModelParams, chunkFrame: number): EmbedFn;
  /** Stops the workers. */
  close(): void;
}

/**
 * Frames (batch x chunk_frame) a shard needs before splitting a batch pays on the CPU. Measured on a 2-core machine
 * (tfjs-wasm, 6-block model, 30000 classes): a step of B = 16 at T = 125 (1000 frames per shard) ran 1.39x faster on 2
 * threads, at T = 375 1.77x; the demo's steps (480 frames per shard, 2 blocks) ran no faster.
 */
export const MIN_SHARD_FRAMES = 1000;

/**
 * The threads a training run uses by default: one per core, as long as each shard of the smallest batch keeps
 * {@linkcode MIN_SHARD_FRAMES} frames and 2 chunks; at least 1.
 *
 * @param batchSize chunks per batch
 * @param chunkFrames the loaders' chunk lengths (frames)
 * @param cores threads available
 */
export function autoTrainThreads(batchSize: number, chunkFrames: readonly number[], cores: number): number {
  const frames = batchSize * Math.min(...chunkFrames);
  return Math.max(1, Math.min(cores, Math.floor(frames / MIN_SHARD_FRAMES), Math.floor(batchSize / 2)));
}

/**
 * Cuts a batch into at most `shards` contiguous shards of at least 2 chunks (a BatchNorm in training mode needs 2
 * values per channel). Each cut goes to the nearest change of label when one lies within a quarter of a shard of
 * the even cut (the m-per-class sampler puts a work's versions next to each other), else to the even cut.
 *
 * @returns [start, end) of each shard, in order, covering the batch
 */
export function shardBatch(labels: ArrayLike<number>, shards: number): [number, number][] {
  const b = labels.length;
  const s = Math.max(1, Math.min(Math.floor(shards), Math.floor(b / 2)));
  const changes: number[] = [];
  for (let i = 1; i < b; i++) if (labels[i] !== labels[i - 1]) changes.push(i);
  const cuts = [0];
  for (let k = 1; k < s; k++) {
    const target = (k * b) / s;
    // Room for 2 chunks in this shard and in each shard after it.
    const lo = cuts[k - 1]! + 2, hi = b - 2 * (s - k);
    let cut = Math.min(hi, Math.max(lo, Math.round(target)));
    let best = Infinity;
    for (const c of changes) {
      const d = Math.abs(c - target);
      if (c >= lo && c <= hi && d <= b / (4 * s) && d < best) (best = d), (cut = c);
    }
    cuts.push(cut);
  }
  cuts.push(b);
  return cuts.slice(0, -1).map((c, k) => [c, cuts[k + 1]!]);
}

/** One dropout seed per shard, drawn from the training prng (so that a run stays reproducible and resumable). */
export function shardSeeds(prng: Prng, shards: number): number[] {
  return Array.from({ length: shards }, () => Math.floor(prng.next() * 2 ** 32) >>> 0);
}

/**
 * The statistics of a whole batch from those of its shards: the count-weighted mean, and the unbiased variance from
 * the shards' sums of squares about their means plus their means' spread (Chan et al.'s parallel variance).
 */
export function combineBatchNormStats(shards: readonly HostBatchNormStats[]): HostBatchNormStats {
  const c = shards[0]!.mean.length;
  const count = shards.reduce((a, s) => a + s.count, 0);
  const mean = new Float32Array(c), varUnbiased = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    let m = 0;
    for (const s of shards) m += s.count * s.mean[j]!;
    m /= count;
    let m2 = 0;
    for (const s of shards) m2 += (s.count - 1) * s.varUnbiased[j]! + s.count * (s.mean[j]! - m) ** 2;
    mean[j] = m;
    varUnbiased[j] = m2 / (count - 1);
  }
  return { mean, varUnbiased, count };
}

/**
 * The gradients of a whole batch from those of its shards: losses and gradients averaged with weights chunks / B
 * (every loss is a mean over chunks), BatchNorm statistics combined by {@linkcode combineBatchNormStats}.
 *
 * @param local this thread's shard, as tensors (not disposed)
 * @param remote the other shards, in order
 * @param sizes chunks per shard, `local` first
 * @returns new tensors (dispose with `disposeGradients`)
 */
export async function combineShards(
  local: BatchGradients,
  remote: readonly ShardResult[],
  sizes: readonly number[],
): Promise<BatchGradients> {
  const total = sizes.reduce((a, n) => a + n, 0);
  const w = sizes.map((n) => n / total);
  const localStats: Record<string, HostBatchNormStats> = {};
  for (const [prefix, s] of Object.entries(local.stats)) {
    localStats[prefix] = {
      mean: (await s.mean.data()) as Float32Array,
      varUnbiased: (await s.varUnbiased.data()) as Float32Array,
      count: s.count,
    };
  }
  const losses = local.losses.map((l, i) =>
    tf.tidy(() => remote.reduce((acc, r, k) => tf.add(acc, r.losses[i]! * w[k + 1]!), tf.mul(l, w[0]!)))
  ) as BatchGradients["losses"];
  const grads: Record<string, tf.Tensor> = {};
  for (const [name, g] of Object.entries(local.grads)) {
    grads[name] = tf.tidy(() =>
      remote.reduce((acc, r, k) => tf.add(acc, tf.mul(tf.tensor(r.grads[name]!, g.shape), w[k + 1]!)), tf.mul(g, w[0]!))
    );
  }
  const stats: Record<string, BatchNormStats> = {};
  for (const [prefix, s] of Object.entries(localStats)) {
    const all = combineBatchNormStats([s, ...remote.map((r) => r.stats[prefix]!)]);
    stats[prefix] = { mean: tf.tensor1d(all.mean), varUnbiased: tf.tensor1d(all.varUnbiased), count: all.count };
  }
  return { losses, grads, stats };
}

const SHARD_OPTIONS = [
  "focalWeight",
  "gamma",
  "focalEps",
  "tripletWeight",
  "tripletMargin",
  "centerWeight",
  "dropout",
] as const;

/**
 * Starts `threads - 1` workers, each holding a copy of `params` on `backend`.
 *
 * @param params the model (read once, asynchronously)
 * @param options threads (>= 1: this one and `threads - 1` workers) and the workers' tfjs backend
 * @returns the pool, once every worker has loaded the model
 * @throws {Error} when a worker fails to start or to load the model
 */
export async function createTrainPool(
  params: ModelParams,
  options: { threads: number; backend: "cpu" | "wasm" },
): Promise<TrainPool> {
  const { threads, backend } = options;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be >= 1, got ${threads}`);
  const tensors = threads > 1 ? await paramsToTensors(params) : new Map();
  type Answer = Exclude<TrainWorkerReply, { type: "train-ready" | "train-error" }>;
  const pending = new Map<number, { resolve: (m: Answer) => void; reject: (e: Error) => void }>();
  let nextId = 0, closed = false;
  const fail = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const init: TrainWorkerRequest = { type: "train-init", backend, config: params.config, tensors };
  const workers = await startModelWorkers<TrainWorkerRequest, TrainWorkerReply>(
    workerUrl(import.meta.url, "data_parallel.ts", "train_worker.ts"),
    threads - 1,
    init,
    {
      ready: "train-ready",
      error: "train-error",
      what: "training worker",
      onReply: (_w, m) => {
        if (m.type === "train-ready") return;
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.type === "train-error") p?.reject(new Error(`training worker: ${m.message}`));
        else p?.resolve(m);
      },
      onFail: fail,
    },
  );
  const close = () => {
    closed = true;
    for (const w of workers) w.terminate();
    fail(new Error("training pool closed"));
  };

  // Whether each worker holds the current parameters and running statistics (they change with every applied step),
  // and the current values on the host, read once per change.
  const current = workers.map(() => true);
  let host: Promise<Record<string, Float32Array>> | null = null;
  const readHost = async (p: ModelParams) => {
    const out: Record<string, Float32Array> = {};
    for (const [name, v] of [...p.trainable, ...p.buffers]) out[name] = (await v.data()) as Float32Array;
    return out;
  };
  /** What worker k must be sent with its next request: the current values, or null when it has them. */
  const valuesFor = async (k: number, p: ModelParams): Promise<Record<string, Float32Array> | null> => {
    if (current[k]) return null;
    current[k] = true;
    return await (host ??= readHost(p));
  };
  const changed = () => {
    current.fill(false);
    host = null;
  };
  /** Posts a request to worker k at once (x is transferred, the values copied: a cpu backend's read is the variable's storage). */
  const post = <A extends Answer>(
    k: number,
    msg: { type: "train-step" | "train-embed"; x: Float32Array } & Record<string, unknown>,
    values: Record<string, Float32Array> | null,
  ): Promise<A> => {
    if (closed) return Promise.reject(new Error("training pool closed"));
    const id = nextId++;
    return new Promise<A>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (m: Answer) => void, reject });
      workers[k]!.postMessage({ ...msg, id, params: values } as TrainWorkerRequest, [msg.x.buffer as ArrayBuffer]);
    });
  };

  return {
    threads,
    close,
    async step(params, optimizer, batch, options) {
      if (closed) throw new Error("training pool closed");
      const { x, shape: [, t, f], labels } = batch;
      const ranges = shardBatch(labels, threads);
      const seeds = shardSeeds(options.prng, ranges.length);
      // Everything but the prng (a worker gets a seed): the options travel by structured clone.
      const lossOptions = Object.fromEntries(
        SHARD_OPTIONS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]),
      ) as LossOptions & { dropout?: number };
      const shard = ([a, b]: [number, number]) => ({
        x: x.slice(a * t * f, b * t * f),
        labels: labels.slice(a, b),
        shape: [b - a, t, f] as [number, number, number],
      });
      // Posted before this thread's shard starts (it runs synchronously).
      const values = await Promise.all(ranges.slice(1).map((_, k) => valuesFor(k, params)));
      const replies = ranges.slice(1).map((r, k) =>
        post<ShardResult & Answer>(k, {
          type: "train-step",
          ...shard(r),
          seed: seeds[k + 1]!,
          options: lossOptions,
        }, values[k] ?? null)
      );
      // This thread's shard runs while the workers run theirs.
      const own = shard(ranges[0]!);
      const x0 = tf.tensor3d(own.x, own.shape);
      let local: BatchGradients;
      try {
        local = computeGradients(params, x0, own.labels, { ...lossOptions, prng: createPrng(seeds[0]!) });
      } finally {
        x0.dispose();
      }
      let combined: BatchGradients | undefined;
      try {
        const remote = await Promise.all(replies);
        combined = await combineShards(local, remote, ranges.map(([a, b]) => b - a));
        const r = await applyGradients(params, optimizer, combined, options);
        if (r.finite) changed();
        return r;
      } finally {
        disposeGradients(local);
        if (combined) disposeGradients(combined);
      }
    },
    embedFn(params, chunkFrame) {
      // Free threads: -1 is this one, 0.. the workers.
      const idle = [-1, ...workers.map((_, k) => k)];
      const waiting: ((k: number) => void)[] = [];
      const release = (k: number) => (waiting.length > 0 ? waiting.shift()!(k) : idle.push(k));
      return async (x, b) => {
        const copy = x.slice(); // before any await: the caller refills its buffer (EmbedFn)
        const shape: [number, number, number] = [b, chunkFrame, x.length / (b * chunkFrame)];
        const k = idle.length > 0 ? idle.pop()! : await new Promise<number>((resolve) => waiting.push(resolve));
        try {
          if (k < 0) return await embedBatch(params, copy, shape);
          const values = await valuesFor(k, params);
          const m = await post<Extract<Answer, { type: "train-embedded" }>>(
            k,
            { type: "train-embed", x: copy, shape },
            values,
          );
          return m.data;
        } finally {
          release(k);
        }
      };
    },
  };
}
