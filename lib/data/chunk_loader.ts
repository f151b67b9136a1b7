/**
 * Training and validation batches from `full.txt` (spec §2.5, §4.8; `src/dataset.py::AudioFeatDataset`). The
 * features are read once into memory, then each batch item is:
 *
 * ```
 * chunk_len = chunkFrame · meanSize                        raw 25-fps frames (3375 / 2700 / 2025)
 * "random":  start = int(U · (feat_len − chunk_len)) if feat_len > chunk_len else 0
 * "defined": start = options.start ?? line.start ?? 0
 * feat = npy[start : start + chunk_len], padded at the END with −100 to chunk_len
 * feat = shorter(feat, meanSize)                           (chunkFrame, F)
 * feat = SpecAug(feat)                                     when given (training only)
 * ```
 *
 * `feat_len` is the line's value when present (the reference computes the crop from it, not from the array; the
 * slice then takes what the array holds), else the array's row count.
 *
 * @example
 * ```ts ignore
 * import { loadFeatureStore } from "./chunk_loader.ts";
 * import { createPrng } from "./prng.ts";
 * const store = await loadFeatureStore("data/covers80/full.txt");
 * const batch = store.makeBatch([0, 1, 2, 3], { chunkFrame: 1125, meanSize: 3, mode: "random", prng: createPrng(1) });
 * batch.x; // Float32Array (4, 1125, 96)
 * ```
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import { shorter } from "../features/shorter.ts";
import { readNpy } from "../io/npy.ts";
import { type Line, readLines } from "../io/lines.ts";
import type { Prng } from "./prng.ts";
import type { SpecAug } from "./spec_aug.ts";

/** The value the reference pads short chunks with (dB). */
export const PAD_VALUE = -100;

/** One recording held in memory. */
export interface FeatureItem {
  /** Recording id (`utt`, or `perf` in CoverHunterMPS files). */
  utt: string;
  /** Class id (`song_id`, or `work_id`). */
  label: number;
  /** `feat_len` from the line, else the array's rows; drives the random crop. */
  featLen: number;
  /** `start` from the line (frames), used by "defined" mode. */
  start?: number;
  /** Rows actually stored. */
  frames: number;
  /** `(frames, bins)` time-major float32 dB. */
  feat: Float32Array;
}

/** Options of {@linkcode FeatureStore.makeBatch}. */
export interface BatchOptions {
  /** Model frames per item after `shorter` (`chunk_frame` entry: 1125, 900 or 675). */
  chunkFrame: number;
  /** Raw frames averaged into one (`mean_size`, 3). */
  meanSize: number;
  /** `"random"` crop (training, validation loss) or `"defined"` start (evaluation). */
  mode: "random" | "defined";
  /**
   * "defined" mode only: the start frame of every item, or one per item; overrides the lines' `start`.
   * @default {line.start ?? 0}
   */
  start?: number | readonly number[];
  /** Source of the random crop positions and of SpecAug's draws. Required in "random" mode or with `specAug`. */
  prng?: Prng;
  /** Augmenter applied to each item after `shorter` (training loaders only). */
  specAug?: SpecAug;
}

/** A batch ready for the model. */
export interface Batch {
  /** `(B, chunkFrame, F)` row-major float32. */
  x: Float32Array;
  /** `(B,)` class ids. */
  labels: Int32Array;
  /** Recording ids, in batch order. */
  utts: string[];
  /** `[B, chunkFrame, F]`. */
  shape: [number, number, number];
}

/** All features of a metadata file, in line order. */
export interface FeatureStore {
  /** Items in line order (the sampler's indices refer to these). */
  readonly items: readonly FeatureItem[];
  /** F, the number of bins (96). */
  readonly bins: number;
  /**
   * Builds one batch from item indices.
   *
   * @throws {RangeError} on a bad index, chunk size, start, or a missing `prng`
   */
  makeBatch(indices: readonly number[], options: BatchOptions): Batch;
}

/** Options of {@linkcode loadFeatureStore}. */
export interface LoadOptions {
  /**
   * Folder that relative `feat` paths are resolved against (the reference resolves them against the working
   * directory).
   * @default {"."}
   */
  baseDir?: string;
}

function nonNegInt(line: Line, key: string, where: string): number | undefined {
  const v = line[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new TypeError(`${where}: '${key}' must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Reads every line's `.npy` feature into memory.
 *
 * @param source a `full.txt` path, or already parsed lines
 * @param options `baseDir` for relative feature paths
 * @returns the store
 * @throws {TypeError} on a line without `utt`/`perf`, `song_id`/`work_id` or `feat`, or a feature that is not a
 *   2-D array; {RangeError} when the features disagree on the number of bins
 */
export async function loadFeatureStore(
  source: string | readonly Line[],
  options: LoadOptions = {},
): Promise<FeatureStore> {
  const { baseDir = "." } = options;
  const name = typeof source === "string" ? source : "<lines>";
  const lines = typeof source === "string" ? await readLines(source) : source;
  const items: FeatureItem[] = [];
  let bins = -1;
  for (const [i, line] of lines.entries()) {
    const where = `${name}: line ${i + 1}`;
    const utt = line.utt ?? line.perf;
    if (typeof utt !== "string") throw new TypeError(`${where}: missing 'utt' (or 'perf')`);
    const label = nonNegInt(line, "song_id", where) ?? nonNegInt(line, "work_id", where);
    if (label === undefined) throw new TypeError(`${where}: missing 'song_id' (or 'work_id')`);
    if (typeof line.feat !== "string") throw new TypeError(`${where}: missing 'feat'`);
    const path = isAbsolute(line.feat) ? line.feat : join(baseDir, line.feat);
    const arr = await readNpy(path);
    if (arr.shape.length !== 2) throw new TypeError(`${path}: expected a (T, F) array, got shape (${arr.shape})`);
    const [frames, f] = arr.shape as [number, number];
    if (bins === -1) bins = f;
    else if (f !== bins) throw new RangeError(`${path}: ${f} bins, but earlier features have ${bins}`);
    const start = nonNegInt(line, "start", where);
    items.push({
      utt,
      label,
      featLen: nonNegInt(line, "feat_len", where) ?? frames,
      frames,
      feat: arr.data,
      ...(start === undefined ? {} : { start }),
    });
  }
  return createFeatureStore(items, Math.max(bins, 0));
}

/**
 * A store over items already in memory (tests, or features computed on the fly).
 *
 * @param items the recordings
 * @param bins F, shared by all items
 * @returns the store
 * @throws {RangeError} when an item's array does not hold `frames · bins` values
 */
export function createFeatureStore(items: readonly FeatureItem[], bins: number): FeatureStore {
  for (const it of items) {
    if (it.feat.length !== it.frames * bins) {
      throw new RangeError(`'${it.utt}': ${it.feat.length} values, (${it.frames}, ${bins}) needs ${it.frames * bins}`);
    }
  }
  return {
    items,
    bins,
    makeBatch(indices, options) {
      const { chunkFrame, meanSize, mode, start, prng, specAug } = options;
      if (!Number.isInteger(chunkFrame) || chunkFrame < 1) {
        throw new RangeError(`makeBatch: 'chunkFrame' must be a positive integer: current value is ${chunkFrame}`);
      }
      if (!Number.isInteger(meanSize) || meanSize < 1) {
        throw new RangeError(`makeBatch: 'meanSize' must be a positive integer: current value is ${meanSize}`);
      }
      if (mode !== "random" && mode !== "defined") throw new RangeError(`makeBatch: invalid mode '${mode}'`);
      if ((mode === "random" || specAug !== undefined) && prng === undefined) {
        throw new RangeError(`makeBatch: 'prng' is required in "random" mode and with specAug`);
      }
      if (start !== undefined && mode !== "defined") throw new RangeError(`makeBatch: 'start' needs mode "defined"`);
      if (Array.isArray(start) && start.length !== indices.length) {
        throw new RangeError(`makeBatch: ${start.length} starts for ${indices.length} items`);
      }
      for (const i of indices) {
        if (!Number.isInteger(i) || i < 0 || i >= items.length) {
          throw new RangeError(`makeBatch: index ${i} is outside [0, ${items.length})`);
        }
      }
      const chunkLen = chunkFrame * meanSize;
      const per = chunkFrame * bins;
      const x = new Float32Array(indices.length * per);
      const labels = new Int32Array(indices.length);
      const utts: string[] = [];
      const raw = new Float32Array(chunkLen * bins);
      indices.forEach((idx, b) => {
        const it = items[idx]!;
        let s: number;
        if (mode === "random") {
          s = it.featLen > chunkLen ? Math.trunc(prng!.next() * (it.featLen - chunkLen)) : 0;
        } else {
          s = (typeof start === "number" ? start : start?.[b]) ?? it.start ?? 0;
          if (!Number.isInteger(s) || s < 0) throw new RangeError(`makeBatch: start ${s} of '${it.utt}' is invalid`);
        }
        // feat[s : s + chunkLen], then −100 at the end.
        const rows = Math.max(0, Math.min(chunkLen, it.frames - s));
        raw.set(it.feat.subarray(s * bins, (s + rows) * bins));
        raw.fill(PAD_VALUE, rows * bins);
        const out = shorter(raw, chunkLen, bins, meanSize); // (chunkFrame, F)
        if (specAug !== undefined) specAug.apply(out, { frames: chunkFrame, bins, prng: prng! });
        x.set(out, b * per);
        labels[b] = it.label;
        utts.push(it.utt);
      });
      return { x, labels, utts, shape: [indices.length, chunkFrame, bins] };
    },
  };
}
