/**
 * Opens a model directory of any of the three kinds users have:
 * - ours (`egs/<set>`): `config/hparams.yaml` + `checkpoints/g_<epoch>.safetensors` (the best epoch by
 *   default, as recorded by early stopping, else the latest);
 * - a plain one: `hparams.yaml` + `model.safetensors`;
 * - the original's or the fork's, as is: `config/hparams.yaml` + `pt_model/g_*` or `checkpoints/g_*`
 *   (PyTorch zip + pickle files, read without PyTorch).
 * Only the model keys of the hparams are read here, so any trainer's config loads.
 *
 * @module
 */
import { join } from "node:path";
import { parseYamlText } from "../io/hparams.ts";
import { readTextFile } from "../io/read_text.ts";
import { type ModelConfig, modelConfigFromHparams } from "./config.ts";
import { type ModelParams, paramsFromTensors, paramsToTensors } from "./params.ts";
import { readSafetensors, type TensorMap } from "./safetensors.ts";
import { importTorchCheckpoint } from "./import_torch.ts";
import { listCheckpoints, loadCheckpoint } from "../train/checkpoint.ts";

/** A loaded model and how to chunk its input. */
export interface LoadedModel {
  params: ModelParams;
  config: ModelConfig;
  /** Model frames per evaluation chunk (`chunk_frame[0]`). */
  chunkFrame: number;
  /** Raw frames averaged per model frame (`mean_size`). */
  meanSize: number;
  /** Evaluation chunk in seconds (`chunk_s`). */
  chunkS: number;
  /** What was loaded, for the log. */
  source: string;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function latestTorch(dir: string): Promise<string | null> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (/^g_\d+$/.test(e.name)) names.push(e.name);
  } catch {
    return null;
  }
  names.sort();
  return names.length > 0 ? join(dir, names.at(-1)!) : null;
}

/**
 * Loads the model of `dir` (see the module doc).
 *
 * @param epoch a specific epoch of one of our runs
 * @throws {Error} naming what was looked for when nothing loadable is there
 */
export async function loadModelDir(dir: string, options: { epoch?: number } = {}): Promise<LoadedModel> {
  // config/hparams.yaml (runs, the original's folders), hparams.yaml, or the copy our trainer keeps.
  const candidates = [
    join(dir, "config", "hparams.yaml"),
    join(dir, "hparams.yaml"),
    join(dir, "checkpoints", "hparams.json"),
  ];
  let hpPath = candidates[0]!;
  for (const c of candidates) {
    if (await exists(c)) {
      hpPath = c;
      break;
    }
  }
  const hp = parseYamlText(await readTextFile(hpPath), hpPath) as Record<string, unknown>;
  let tensors: TensorMap;
  let stored: ModelConfig | null = null;
  let source: string;
  const ours = await listCheckpoints(join(dir, "checkpoints"));
  if (ours.length > 0) {
    let epoch = options.epoch;
    if (epoch === undefined) {
      const last = await loadCheckpoint(join(dir, "checkpoints"));
      const best = last?.state.earlyStop.bestEpoch ?? 0;
      epoch = best > 0 && ours.includes(best) ? best : ours.at(-1)!;
    }
    const ck = await loadCheckpoint(join(dir, "checkpoints"), epoch);
    tensors = ck!.model;
    stored = ck!.config;
    source = `${join(dir, "checkpoints", `g_${String(epoch).padStart(8, "0")}.safetensors`)}`;
  } else if (await exists(join(dir, "model.safetensors"))) {
    source = join(dir, "model.safetensors");
    tensors = readSafetensors(await Deno.readFile(source));
  } else {
    const torch = await latestTorch(join(dir, "pt_model")) ?? await latestTorch(join(dir, "checkpoints"));
    if (!torch) {
      throw new Error(
        `${dir}: no model found (looked for checkpoints/g_*.safetensors, model.safetensors, pt_model/g_*, checkpoints/g_*)`,
      );
    }
    source = torch;
    tensors = importTorchCheckpoint(await Deno.readFile(torch));
  }
  // The class count follows the weights (configs may name another size than the file holds, or none).
  const classes = tensors.get("_ce_layer.weight")?.shape[0];
  const head = (hp.foc ?? hp.ce ?? {}) as Record<string, unknown>;
  const base = stored ??
    modelConfigFromHparams({ ...hp, foc: undefined, ce: { ...head, output_dims: classes ?? head.output_dims } });
  const config: ModelConfig = { ...base, numClasses: classes ?? base.numClasses, dropout: 0 };
  const chunkFrame = ((hp.chunk_frame as number[] | undefined) ?? [1125])[0]!;
  return {
    params: paramsFromTensors(tensors, config),
    config,
    chunkFrame,
    meanSize: (hp.mean_size as number | undefined) ?? 3,
    chunkS: (hp.chunk_s as number | undefined) ?? 135,
    source,
  };
}

/**
 * A short fingerprint of a model's weights (16 hex digits of the SHA-256 over every tensor's name, shape and
 * float32 values, in state_dict order): an index records it so that queries are embedded by the same model.
 *
 * @param params loaded parameters
 * @returns 16 lowercase hex digits
 */
export async function modelFingerprint(params: ModelParams): Promise<string> {
  const tensors = await paramsToTensors(params);
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const [name, t] of tensors) {
    parts.push(enc.encode(`${name}:${t.dtype}:${t.shape.join("x")};`));
    const d = t.data;
    parts.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}
