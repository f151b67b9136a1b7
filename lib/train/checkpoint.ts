/**
 * Checkpoints of a training run, in `<egs>/checkpoints/`: `g_<epoch>.safetensors` holds the model
 * (every state_dict tensor under its PyTorch name, BatchNorm statistics included) and
 * `do_<epoch>.safetensors` the optimiser moments plus, as JSON metadata, everything else a resumed run
 * needs (step, sampler and generator states, early-stopping state, history). The names follow the
 * original's `g_XXXXXXXX`/`do_XXXXXXXX`. Both files are written atomically, `do_` first: an epoch whose
 * `g_` exists is complete.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { encodeSafetensors, readSafetensors, type TensorMap } from "../model/safetensors.ts";
import type { AdamWState } from "./adamw.ts";
import type { ModelConfig } from "../model/config.ts";

/** Everything besides tensors that a resumed run restores. */
export interface TrainState {
  /** Last finished epoch (1-based). */
  epoch: number;
  /** Optimiser steps done. */
  step: number;
  /** Generator states: `main` (loader order, crops, augmentation, dropout) and one per sampler. */
  prng: Record<string, number>;
  /** Sampler states by loader name. */
  samplers: Record<string, { prng: number; labels: number[] }>;
  /** Early-stopping state. */
  earlyStop: EarlyStopState;
  /** Consecutive non-finite losses at the end of the epoch. */
  nonFinite: number;
  /** One record per finished epoch. */
  history: EpochRecord[];
}

/** Early stopping bookkeeping (val loss or smoothed mAP). */
export interface EarlyStopState {
  /** Best value of the watched metric so far (lower is better for val_loss, higher for mAP). */
  best: number | null;
  /** Epoch of the best value. */
  bestEpoch: number;
  /** EMA of the mAP (mAP metric only). */
  smoothed: number | null;
  /** Epochs since the last improvement. */
  counter: number;
}

/** What one epoch measured. */
export interface EpochRecord {
  epoch: number;
  step: number;
  lr: number;
  /** Mean training losses of the epoch. */
  train: { focal: number; triplet: number; center: number; total: number };
  /** Validation losses by loader name (`val`, `test`). */
  val: Record<string, { focal: number; triplet: number }>;
  /** Retrieval metrics by test-set name. */
  map: Record<string, { mAP: number; hitRate: number; rank1: number }>;
  timeS: number;
}

/** A checkpoint read back. */
export interface Checkpoint {
  epoch: number;
  /** Model tensors by PyTorch name. */
  model: TensorMap;
  /** The model config stored with it. */
  config: ModelConfig;
  optimizer: AdamWState;
  state: TrainState;
}

/** `g_00000003`-style name of an epoch. */
export function checkpointName(prefix: "g" | "do", epoch: number): string {
  return `${prefix}_${String(epoch).padStart(8, "0")}.safetensors`;
}

/** Writes the checkpoint of `state.epoch` (optimiser first, model last; both atomic). */
export async function saveCheckpoint(
  dir: string,
  model: TensorMap,
  config: ModelConfig,
  optimizer: AdamWState,
  state: TrainState,
): Promise<void> {
  const moments: TensorMap = new Map();
  const steps: Record<string, number> = {};
  for (const [name, s] of Object.entries(optimizer.params)) {
    moments.set(`${name}.exp_avg`, { dtype: "F32", shape: s.shape, data: s.m });
    moments.set(`${name}.exp_avg_sq`, { dtype: "F32", shape: s.shape, data: s.v });
    steps[name] = s.step;
  }
  await writeFileAtomic(
    join(dir, checkpointName("do", state.epoch)),
    encodeSafetensors(moments, { steps: JSON.stringify(steps), state: JSON.stringify(state) }),
  );
  await writeFileAtomic(
    join(dir, checkpointName("g", state.epoch)),
    encodeSafetensors(model, { config: JSON.stringify(config), format: "coverhunter-ts" }),
  );
}

/** Epochs with a complete checkpoint in `dir`, ascending. */
export async function listCheckpoints(dir: string): Promise<number[]> {
  const epochs: number[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = /^g_(\d{8})\.safetensors$/.exec(e.name);
      if (m) epochs.push(Number(m[1]));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return epochs.sort((a, b) => a - b);
}

/** Reads the model file of a checkpoint (model tensors and config); usable without the optimiser file. */
export async function loadModelCheckpoint(path: string): Promise<{ model: TensorMap; config: ModelConfig | null }> {
  const bytes = await Deno.readFile(path);
  const model = readSafetensors(bytes);
  const meta = readMetadata(bytes);
  return { model, config: meta.config ? JSON.parse(meta.config) as ModelConfig : null };
}

/** Reads the checkpoint of `epoch` (or the latest complete one); null when there is none. */
export async function loadCheckpoint(dir: string, epoch?: number): Promise<Checkpoint | null> {
  const epochs = await listCheckpoints(dir);
  const e = epoch ?? epochs.at(-1);
  if (e === undefined) return null;
  if (!epochs.includes(e)) {
    throw new Error(`${dir}: no checkpoint for epoch ${e} (have ${epochs.join(", ") || "none"})`);
  }
  const { model, config } = await loadModelCheckpoint(join(dir, checkpointName("g", e)));
  const doPath = join(dir, checkpointName("do", e));
  const doBytes = await Deno.readFile(doPath);
  const meta = readMetadata(doBytes);
  if (!meta.state || !meta.steps || !config) throw new Error(`${doPath}: not a CoverHunter-TS training checkpoint`);
  const moments = readSafetensors(doBytes);
  const steps = JSON.parse(meta.steps) as Record<string, number>;
  const params: AdamWState["params"] = {};
  for (const [name, step] of Object.entries(steps)) {
    const m = moments.get(`${name}.exp_avg`), v = moments.get(`${name}.exp_avg_sq`);
    if (!m || !v) throw new Error(`${doPath}: optimiser moments of '${name}' missing`);
    params[name] = { step, shape: m.shape, m: m.data as Float32Array, v: v.data as Float32Array };
  }
  return { epoch: e, model, config, optimizer: { params }, state: JSON.parse(meta.state) as TrainState };
}

function readMetadata(bytes: Uint8Array): Record<string, string> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return (header.__metadata__ ?? {}) as Record<string, string>;
}
