/**
 * Data-parallel training on several CPU cores. tfjs's wasm backend runs one thread per process (its threaded build
 * cannot start under Deno), so each batch is split into shards: this thread computes the first, worker threads (each
 * with its own backend and copy of the model) the others. The shards' gradients are averaged, weighted by their
 * chunks, and this thread clips them and takes the AdamW step; the workers get the new parameters with their next
 * shard. That is PyTorch DDP's scheme, the one the original's `distribute` mode used, with its semantics:
 * - each BatchNorm normalises a shard with the shard's own statistics, and batch-hard triplet mining sees only its
 *   shard (shards are cut between works where possible, so that a work's versions stay together, and hold two works
 *   each: {@linkcode shardIndices});
 * - the focal and center losses, the clipping and AdamW see the whole batch, as in one thread;
 * - the running statistics are updated with the statistics of the whole batch, combined from the shards (DDP keeps
 *   rank 0's only).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type ModelParams, paramsToTensors } from "../model/params.ts";
import type { ModelConfig } from "../model/config.ts";
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
  type TrainStepOptions,
} from "./train_step.ts";
import type {
  HostBatchNormStats,
  PackedValues,
  ShardResult,
  TrainWorkerReply,
  TrainWorkerRequest,
} from "./train_serve.ts";
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
 * The most frames (chunks x chunk frames) one training shard holds on tfjs-wasm, whose heap ends at 4 GiB and keeps
 * every activation until the backward pass is done. From the heap after one step at width 128: 6 blocks, 0.9 GiB at
 * 2 x 1125 frames, 1.8 at 4 x 1125, 3.3 at 8 x 1125 (16 x 1125 aborts); 3 blocks, 1.2 at 4 x 1125. That is about
 * (0.1 + 0.045 x blocks) MiB per frame, taken as proportional to the width, within a 3.4 GiB budget.
 */
export function wasmShardFrames(config: ModelConfig): number {
  const mibPerFrame = (0.1 + 0.045 * config.numBlocks) * (config.outputDims / 128);
  return Math.max(1, Math.floor(3400 / mibPerFrame));
}

/**
 * How many shards a batch of `size` chunks of `frames` frames is cut into: one per thread, more where a shard would
 * exceed `maxShardFrames` (as chunks, at least 2); {@linkcode shardIndices} may use fewer for a small batch.
 */
export function shardCount(size: number, frames: number, threads: number, maxShardFrames: number): number {
  return Math.max(threads, Math.ceil(size / shardChunks(frames, maxShardFrames)));
}

function shardChunks(frames: number, maxShardFrames: number): number {
  return Math.max(2, Math.floor(maxShardFrames / frames));
}

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
 * the even cut (the m-per-class sampler puts a work's versions next to each other) and keeps the shards on both sides
 * within `maxSize` chunks; else to the even cut.
 *
 * @returns [start, end) of each shard, in order, covering the batch
 */
export function shardBatch(labels: ArrayLike<number>, shards: number, maxSize = Infinity): [number, number][] {
  const b = labels.length;
  const s = Math.max(1, Math.min(Math.floor(shards), Math.floor(b / 2)));
  const changes: number[] = [];
  for (let i = 1; i < b; i++) if (labels[i] !== labels[i - 1]) changes.push(i);
  const even = (k: number) => Math.round((k * b) / s);
  const cuts = [0];
  for (let k = 1; k < s; k++) {
    const target = (k * b) / s;
    // Room for 2 chunks in this shard and in each shard after it.
    const lo = cuts[k - 1]! + 2, hi = b - 2 * (s - k);
    let cut = Math.min(hi, Math.max(lo, even(k)));
    let best = Infinity;
    for (const c of changes) {
      const d = Math.abs(c - target);
      const fits = c - cuts[k - 1]! <= maxSize && even(k + 1) - c <= maxSize;
      if (c >= lo && c <= hi && fits && d <= b / (4 * s) && d < best) (best = d), (cut = c);
    }
    cuts.push(cut);
  }
  cuts.push(b);
  return cuts.slice(0, -1).map((c, k) => [c, cuts[k + 1]!]);
}

/**
 * The shards of a batch as lists of chunk indices. Where the batch holds at least two works per shard, or a single
 * work, these are {@linkcode shardBatch}'s contiguous shards. Otherwise (e.g. 4 works of 8 versions in 4 shards, as wasm's
 * heap makes of the covers80 config's batches) each work is halved and the halves are paired across works, (A₂ B₁),
 * (B₂ C₁), …, (Z₂ A₁), and the shards are cut from that order, between pairs where one is near: each shard then holds
 * two works (batch-hard triplet mining needs a negative in its shard). That holds whenever the cuts fall between pairs,
 * e.g. when the number of shards divides the number of works of equal size.
 *
 * @returns indices per shard; together each index once
 */
export function shardIndices(labels: ArrayLike<number>, shards: number, maxSize = Infinity): number[][] {
  const b = labels.length;
  const runs: [number, number][] = [];
  for (let i = 0; i < b; i++) {
    if (i === 0 || labels[i] !== labels[i - 1]) runs.push([i, i + 1]);
    else runs.at(-1)![1] = i + 1;
  }
  const s = Math.max(1, Math.min(Math.floor(shards), Math.floor(b / 2)));
  const range = (a: number, e: number) => Array.from({ length: e - a }, (_, i) => a + i);
  if (runs.length >= 2 * s || runs.length < 2) return shardBatch(labels, shards, maxSize).map(([a, e]) => range(a, e));
  const halves = runs.flatMap(([a, e]) => {
    const mid = a + Math.ceil((e - a) / 2);
    return [range(a, mid), range(mid, e)];
  });
  const rotated = [...halves.slice(1), halves[0]!];
  const order = rotated.flat();
  // Cuts snap to the pairs' edges (pair j = halves 2j, 2j + 1 of the rotated list) as they snap to works' edges.
  const pairOf = rotated.flatMap((h, j) => h.map(() => j >> 1));
  return shardBatch(pairOf, shards, maxSize).map(([a, e]) => order.slice(a, e));
}

/** The chunks `indices` of a batch, in that order, as a batch of their own. */
export function gatherShard(batch: HostBatch, indices: readonly number[]): HostBatch {
  const [, t, f] = batch.shape, row = t * f;
  const x = new Float32Array(indices.length * row);
  indices.forEach((i, j) => x.set(batch.x.subarray(i * row, (i + 1) * row), j * row));
  return { x, shape: [indices.length, t, f], labels: Int32Array.from(indices, (i) => batch.labels[i]!) };
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
 * @param shards each shard's gradients, as tensors (computed here; not disposed) or read back from a worker; the
 *   first as tensors
 * @param sizes chunks per shard
 * @returns new tensors (dispose with `disposeGradients`)
 */
export async function combineShards(
  shards: readonly (BatchGradients | ShardResult)[],
  sizes: readonly number[],
): Promise<BatchGradients> {
  const onDevice = (g: BatchGradients | ShardResult): g is BatchGradients => g.losses[0] instanceof tf.Tensor;
  const first = shards[0]!;
  if (!onDevice(first)) throw new TypeError("combineShards: the first shard must be tensors");
  const total = sizes.reduce((a, n) => a + n, 0);
  const w = sizes.map((n) => n / total);
  const hostStats: Record<string, HostBatchNormStats>[] = [];
  for (const g of shards) {
    if (!onDevice(g)) {
      hostStats.push(g.stats);
      continue;
    }
    const read: Record<string, HostBatchNormStats> = {};
    for (const [prefix, s] of Object.entries(g.stats)) {
      read[prefix] = {
        mean: (await s.mean.data()) as Float32Array,
        varUnbiased: (await s.varUnbiased.data()) as Float32Array,
        count: s.count,
      };
    }
    hostStats.push(read);
  }
  const weighted = (k: number, t: tf.Tensor | Float32Array | number, shape: number[]) =>
    tf.mul(t instanceof tf.Tensor ? t : typeof t === "number" ? tf.scalar(t) : tf.tensor(t, shape), w[k]!);
  const sum = (term: (g: BatchGradients | ShardResult) => tf.Tensor | Float32Array | number, shape: number[]) =>
    tf.tidy(() =>
      shards.slice(1).reduce(
        (acc, g, k) => tf.add(acc, weighted(k + 1, term(g), shape)),
        weighted(0, term(first), shape),
      )
    );
  const losses = first.losses.map((_, i) => sum((g) => g.losses[i]!, [])) as BatchGradients["losses"];
  const grads: Record<string, tf.Tensor> = {};
  for (const [name, g] of Object.entries(first.grads)) grads[name] = sum((s) => s.grads[name]!, g.shape);
  const stats: Record<string, BatchNormStats> = {};
  for (const prefix of Object.keys(first.stats)) {
    const all = combineBatchNormStats(hostStats.map((h) => h[prefix]!));
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
 * @param options threads (>= 1: this one and `threads - 1` workers), the workers' tfjs backend, and the most frames
 *   (chunks x frames) one shard may hold: a batch is cut into more shards than threads where needed, each thread then
 *   computing several in turn (gradient accumulation; see {@linkcode wasmShardFrames})
 * @returns the pool, once every worker has loaded the model
 * @throws {Error} when a worker fails to start or to load the model
 */
export async function createTrainPool(
  params: ModelParams,
  options: { threads: number; backend: "cpu" | "wasm"; maxShardFrames?: number },
): Promise<TrainPool> {
  const { threads, backend, maxShardFrames = Infinity } = options;
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
  // and the current values on the host, packed in one array, read once per change.
  const current = workers.map(() => true);
  let host: Promise<PackedValues> | null = null;
  const readHost = async (p: ModelParams): Promise<PackedValues> => {
    const vars = [...p.trainable, ...p.buffers];
    const data = new Float32Array(vars.reduce((n, [, v]) => n + v.size, 0));
    let at = 0;
    for (const [, v] of vars) data.set((await v.data()) as Float32Array, (at += v.size) - v.size);
    return { names: vars.map(([name]) => name), data };
  };
  /**
   * What worker k must be sent with its next request: the current values (transferred: the last worker to need them
   * gets the array itself, the others copies), or null when it has them.
   */
  const valuesFor = async (k: number, p: ModelParams): Promise<PackedValues | null> => {
    if (current[k]) return null;
    current[k] = true;
    const last = current.every(Boolean); // decided now: the others got their copies before this one's transfer
    const values = (host ??= readHost(p));
    if (last) host = null;
    const h = await values;
    return last ? h : { names: h.names, data: h.data.slice() };
  };
  const changed = () => {
    current.fill(false);
    host = null;
  };
  /** Posts a request to worker k at once (x and the values are transferred). */
  const post = <A extends Answer>(
    k: number,
    msg: { type: "train-step" | "train-embed"; x: Float32Array } & Record<string, unknown>,
    values: PackedValues | null,
  ): Promise<A> => {
    if (closed) return Promise.reject(new Error("training pool closed"));
    const id = nextId++;
    const transfer = [msg.x.buffer as ArrayBuffer, ...(values ? [values.data.buffer as ArrayBuffer] : [])];
    return new Promise<A>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (m: Answer) => void, reject });
      workers[k]!.postMessage({ ...msg, id, params: values } as TrainWorkerRequest, transfer);
    });
  };

  return {
    threads,
    close,
    async step(params, optimizer, batch, options) {
      if (closed) throw new Error("training pool closed");
      const { shape: [size, t], labels } = batch;
      // Shards i = 0, 1, ... go to thread i mod threads (0: this one); more shards than threads where one would not fit.
      const parts = shardIndices(
        labels,
        shardCount(size, t, threads, maxShardFrames),
        shardChunks(t, maxShardFrames),
      );
      const seeds = shardSeeds(options.prng, parts.length);
      // Everything but the prng (a worker gets a seed): the options travel by structured clone.
      const lossOptions = Object.fromEntries(
        SHARD_OPTIONS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]),
      ) as LossOptions & { dropout?: number };
      const shard = (indices: number[]) => gatherShard(batch, indices);
      // Every worker's shards are posted before this thread's start (they run synchronously); the parameters go with
      // a worker's first.
      const values = await Promise.all(
        workers.map((_, k) => (parts.length > k + 1 ? valuesFor(k, params) : Promise.resolve(null))),
      );
      const remote = new Map<number, Promise<ShardResult & Answer>>();
      parts.forEach((r, i) => {
        const k = (i % threads) - 1;
        if (k < 0) return;
        const msg = { type: "train-step" as const, ...shard(r), seed: seeds[i]!, options: lossOptions };
        const reply = post<ShardResult & Answer>(k, msg, i === k + 1 ? values[k] ?? null : null);
        reply.catch(() => {}); // awaited below; not an unhandled rejection if this thread's shard throws first
        remote.set(i, reply);
      });
      const local = new Map<number, BatchGradients>();
      let combined: BatchGradients | undefined;
      try {
        parts.forEach((r, i) => {
          if (i % threads !== 0) return;
          const own = shard(r);
          const xs = tf.tensor3d(own.x, own.shape);
          try {
            local.set(i, computeGradients(params, xs, own.labels, { ...lossOptions, prng: createPrng(seeds[i]!) }));
          } finally {
            xs.dispose();
          }
        });
        const all = await Promise.all(parts.map((_, i) => local.get(i) ?? remote.get(i)!));
        combined = await combineShards(all, parts.map((r) => r.length));
        const r = await applyGradients(params, optimizer, combined, options);
        if (r.finite) changed();
        return r;
      } finally {
        for (const g of local.values()) disposeGradients(g);
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
