/**
 * Embedding on several CPU cores: tfjs's wasm backend runs one thread per process (its threaded build cannot start
 * under Deno), so batches go to a pool of workers, each with its own backend and copy of the model. The pool's
 * `embed` is an {@linkcode EmbedFn}; give `concurrency` to `embedLines` / `evaluateRetrieval` so that several batches
 * are in flight at once.
 *
 * @example
 * ```ts ignore
 * import { createEmbedPool } from "./embed_pool.ts";
 * const pool = await createEmbedPool(model.params, { workers: 2, backend: "wasm" });
 * const result = await evaluateRetrieval({ ..., embed: pool.embed, concurrency: pool.concurrency });
 * pool.close();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { EmbedFn } from "../eval/evaluate.ts";
import { modelEmbedFn } from "../train/train.ts";
import { type ModelParams, paramsToTensors } from "./params.ts";
import type { EmbedWorkerReply, EmbedWorkerRequest } from "./embed_serve.ts";
import { startModelWorkers, workerUrl } from "./_workers.ts";

/** A running pool. */
export interface EmbedPool {
  /** Embeds one batch on the next free worker. */
  embed: EmbedFn;
  /** Batches worth keeping in flight (= workers). */
  concurrency: number;
  /** Stops the workers. */
  close(): void;
}

/**
 * Starts `workers` workers, each holding a copy of `params` on `backend`.
 *
 * @param params the model (read once, asynchronously)
 * @param options number of workers (at least 1) and their tfjs backend
 * @returns the pool, once every worker has loaded the model
 * @throws {Error} when a worker fails to start or to load the model
 */
export async function createEmbedPool(
  params: ModelParams,
  options: { workers: number; backend: "cpu" | "wasm" },
): Promise<EmbedPool> {
  const { workers, backend } = options;
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be >= 1, got ${workers}`);
  const tensors = await paramsToTensors(params);
  const pending = new Map<number, { resolve: (x: Float32Array) => void; reject: (e: Error) => void }>();
  const idle: Worker[] = [];
  const waiting: ((w: Worker | null) => void)[] = [];
  let nextId = 0;
  const release = (w: Worker) => {
    const next = waiting.shift();
    if (next) next(w);
    else idle.push(w);
  };
  const acquire = () =>
    new Promise<Worker | null>((resolve) => (idle.length > 0 ? resolve(idle.pop()!) : waiting.push(resolve)));
  const init: EmbedWorkerRequest = { type: "embed-init", backend, config: params.config, tensors };
  const pool = await startModelWorkers<EmbedWorkerRequest, EmbedWorkerReply>(
    workerUrl(import.meta.url, "embed_pool.ts", "embed_worker.ts"),
    workers,
    init,
    {
      ready: "embed-ready",
      error: "embed-error",
      what: "embedding worker",
      onReply: (w, m) => {
        if (m.type !== "embedded" && m.type !== "embed-error") return;
        const p = pending.get(m.id);
        pending.delete(m.id);
        release(w);
        if (m.type === "embedded") p?.resolve(m.data);
        else p?.reject(new Error(`embedding worker: ${m.message}`));
      },
      onFail: (err) => {
        for (const p of pending.values()) p.reject(err);
        pending.clear();
      },
    },
  );
  idle.push(...pool);
  let closed = false;
  const close = () => {
    closed = true;
    for (const w of pool) w.terminate();
    for (const wake of waiting.splice(0)) wake(null);
    for (const p of pending.values()) p.reject(new Error("embedding pool closed"));
    pending.clear();
  };
  return {
    concurrency: workers,
    embed: async (x, batch) => {
      if (closed) throw new Error("embedding pool closed");
      const copy = x.slice(); // before any await: the caller refills its buffer (EmbedFn); the copy is transferred
      const w = await acquire();
      if (w === null || closed) throw new Error("embedding pool closed");
      const id = nextId++;
      const bins = params.config.inputDim;
      const shape: [number, number, number] = [batch, x.length / batch / bins, bins];
      return await new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        const msg: EmbedWorkerRequest = { type: "embed", id, x: copy, shape };
        w.postMessage(msg, [copy.buffer]);
      });
    },
    close,
  };
}

/** How a task embeds: in this process, or on a pool of CPU workers. */
export interface Embedder {
  embed: EmbedFn;
  /** Batches to keep in flight. */
  concurrency: number;
  /** For the log, e.g. "2 workers". */
  description: string;
  close(): void;
}

/**
 * The embedder of a task: on a CPU backend (`cpu`, `wasm`) with `workers` > 1, a pool of that many workers; else the
 * model in this process (WebGPU, or one core).
 *
 * @param model the loaded model (its chunking decides the window shape)
 * @param workers requested workers; `undefined` = one per core on a CPU backend
 */
export async function createEmbedder(
  model: { params: ModelParams; chunkFrame: number },
  workers?: number,
): Promise<Embedder> {
  const backend = tf.getBackend();
  const onCpu = backend === "cpu" || backend === "wasm";
  const n = workers ?? (onCpu ? navigator.hardwareConcurrency : 0);
  if (onCpu && n > 1) {
    const pool = await createEmbedPool(model.params, { workers: n, backend: backend as "cpu" | "wasm" });
    return { ...pool, description: `${n} workers` };
  }
  return {
    embed: modelEmbedFn(model.params, model.chunkFrame),
    concurrency: 1,
    description: "in process",
    close() {},
  };
}
