/**
 * The worker side of {@linkcode createTrainPool}: one tfjs backend and one copy of the model per worker, answering
 * each shard of a batch with its losses, gradients and BatchNorm batch statistics, and embedding batches in eval mode
 * (the test sets between epochs). The pool sends the parameters whenever they changed, so a worker holds no optimiser
 * state. Free of side effects, so that a single-file bundle can
 * import it and serve as its own worker entry (see `tasks/cli.ts`).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "../model/config.ts";
import { getParam, type ModelParams } from "../model/params.ts";
import { loadWorkerModel } from "../model/_workers.ts";
import type { TensorMap } from "../model/safetensors.ts";
import { createPrng } from "../data/prng.ts";
import { embedBatch } from "./train.ts";
import { type BatchGradients, computeGradients, disposeGradients, type LossOptions } from "./train_step.ts";

/** One BatchNorm's batch statistics, on the host. */
export interface HostBatchNormStats {
  mean: Float32Array;
  varUnbiased: Float32Array;
  /** Values per channel. */
  count: number;
}

/** What a shard gives back: losses [total, focal, triplet, center], gradients and BatchNorm statistics by name. */
export interface ShardResult {
  losses: [number, number, number, number];
  grads: Record<string, Float32Array>;
  stats: Record<string, HostBatchNormStats>;
}

/** Tensor values by name, packed in one array in the order of `names` (each takes its parameter's size). */
export interface PackedValues {
  names: string[];
  data: Float32Array;
}

/** Messages to a training worker. */
export type TrainWorkerRequest =
  | { type: "train-init"; backend: "cpu" | "wasm"; config: ModelConfig; tensors: TensorMap }
  | {
    type: "train-step";
    id: number;
    /** New values of the trained parameters and running statistics, or null when the worker has them. */
    params: PackedValues | null;
    x: Float32Array;
    shape: [number, number, number];
    labels: Int32Array;
    /** Seed of this shard's dropout masks. */
    seed: number;
    options: LossOptions & { dropout?: number };
  }
  | {
    type: "train-embed";
    id: number;
    params: PackedValues | null;
    x: Float32Array;
    shape: [number, number, number];
  };

/** Messages from a training worker. */
export type TrainWorkerReply =
  | { type: "train-ready" }
  | ({ type: "train-grads"; id: number } & ShardResult)
  | { type: "train-embedded"; id: number; data: Float32Array }
  | { type: "train-error"; id: number; message: string };

/**
 * Reads a shard's gradients back to the host and disposes them. The arrays are copies that no tensor shares (the cpu
 * backend's reads return a tensor's own storage, so they are copied once more there), so they can be transferred.
 */
export async function readShard(g: BatchGradients): Promise<ShardResult> {
  const copied = tf.getBackend() === "wasm"; // tfjs-wasm's reads copy out of its heap already
  const own = async (t: tf.Tensor) => {
    const a = (await t.data()) as Float32Array;
    return copied ? a : a.slice();
  };
  const lossTensor = tf.stack(g.losses);
  try {
    const losses = Array.from(await lossTensor.data()) as ShardResult["losses"];
    const grads: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(g.grads)) grads[name] = await own(t);
    const stats: Record<string, HostBatchNormStats> = {};
    for (const [prefix, s] of Object.entries(g.stats)) {
      stats[prefix] = { mean: await own(s.mean), varUnbiased: await own(s.varUnbiased), count: s.count };
    }
    return { losses, grads, stats };
  } finally {
    lossTensor.dispose();
    disposeGradients(g);
  }
}

/** Installs the message handler of a training worker (call once, inside a worker). */
export function serveTrainJobs(): void {
  let params: Promise<ModelParams> | undefined;
  const reply = (m: TrainWorkerReply, transfer: Transferable[] = []) => self.postMessage(m, transfer);
  self.onmessage = async (ev: MessageEvent<TrainWorkerRequest>) => {
    const msg = ev.data;
    if (msg.type === "train-init") {
      params = loadWorkerModel(msg, {
        ready: () => reply({ type: "train-ready" }),
        error: (message) => reply({ type: "train-error", id: -1, message }),
      });
      return;
    }
    try {
      if (!params) throw new Error("training worker: step before init");
      const p = await params;
      if (msg.params) {
        let at = 0;
        for (const name of msg.params.names) {
          const v = getParam(p, name);
          tf.tidy(() => v.assign(tf.tensor(msg.params!.data.subarray(at, at + v.size), v.shape)));
          at += v.size;
        }
      }
      if (msg.type === "train-embed") {
        const data = await embedBatch(p, msg.x, msg.shape);
        reply({ type: "train-embedded", id: msg.id, data }, [data.buffer as ArrayBuffer]);
        return;
      }
      const x = tf.tensor3d(msg.x, msg.shape);
      let g;
      try {
        g = computeGradients(p, x, msg.labels, { ...msg.options, prng: createPrng(msg.seed) });
      } finally {
        x.dispose();
      }
      const r = await readShard(g);
      const transfer = Object.values(r.grads).map((a) => a.buffer as ArrayBuffer);
      reply({ type: "train-grads", id: msg.id, ...r }, transfer);
    } catch (e) {
      reply({ type: "train-error", id: msg.id, message: (e as Error).message });
    }
  };
}
