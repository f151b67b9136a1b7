/**
 * SpecAug (spec §4.7; `src/dataset.py::SpecAug`), applied to each training sample after `shorter`, on a time-major
 * `(w = T, h = F)` feature matrix. In order:
 *
 * 1. **roll_pitch**, when `U <= prob`: `shift = randint(−1, 1) · shift_num` ({−12, 0, +12} for the covers80 config),
 *    then a circular roll over frequency, `out[t, (j + shift) mod F] = in[t, j]`.
 * 2. **random_erase**, when `U <= prob`: one value `U · value` (`value` −80 in the original, −128 in
 *    CoverHunterMPS) for the whole call; `rw = int(w · region_size[0])`, `rh = int(F · region_size[1])`; then `erase_num` times
 *    `cw = int(U·(w − rw))`, `ch = int(U·(F − rh))` and the rectangle `[cw − rw//2, cw + rw//2) × [ch − rh//2,
 *    ch + rh//2)` (2·(rw//2) frames × 2·(rh//2) bins) is set to that value. A rectangle whose frame or bin start
 *    is negative is **skipped** (numpy wraps the negative start and the slice comes out empty).
 *
 * A step whose key is absent from the config is not run and draws nothing. The random draws happen in the
 * reference's order, one `U` per `random()` call, all from the {@linkcode Prng} passed in.
 *
 * @example
 * ```ts
 * import { createSpecAug } from "./spec_aug.ts";
 * import { createPrng } from "./prng.ts";
 * const aug = createSpecAug({ roll_pitch: { prob: 0.5, shift_num: 12 }, random_erase: { prob: 0.5, erase_num: 4 } });
 * const feat = new Float32Array(1125 * 96).fill(-20); // (T, F) after shorter
 * aug.apply(feat, { frames: 1125, bins: 96, prng: createPrng(1234) }); // in place
 * ```
 *
 * @module
 */
import type { Prng } from "./prng.ts";

/** hparams `spec_augmentation.random_erase`. */
export interface RandomEraseConfig {
  /** Probability of erasing (the test is `U <= prob`). */
  prob: number;
  /** Number of rectangles per call. */
  erase_num: number;
  /** Region size as fractions of (frames, bins); CoverHunterMPS key. Default `[0.25, 0.1]`, the original's. */
  region_size?: readonly [number, number];
  /**
   * Scale of the erase value, drawn as `U · value` (<= 0): the original hard-codes −80, CoverHunterMPS −128. Our key.
   * @default {-80}
   */
  value?: number;
}

/** hparams `spec_augmentation.roll_pitch`. */
export interface RollPitchConfig {
  /** Probability of rolling (the test is `U <= prob`). */
  prob: number;
  /** Bins per unit of shift: the shift is `randint(−1, 1) · shift_num` (`uniform`: `randint(−shift_num, shift_num)`). */
  shift_num: number;
  /**
   * `"default"`: the original's {−shift_num, 0, +shift_num}; `"uniform"` (ours): any shift in [−shift_num, shift_num],
   * i.e. random transpositions, which small data sets need to learn key invariance.
   */
  method?: "default" | "uniform";
}

/** hparams `spec_augmentation`, with the reference's key names. */
export interface SpecAugConfig {
  /** The erase step; absent: not run. */
  random_erase?: RandomEraseConfig;
  /** The roll step; absent: not run. */
  roll_pitch?: RollPitchConfig;
}

/** Where one call operates. */
export interface SpecAugInput {
  /** w = T, the number of frames. */
  frames: number;
  /** h = F, the number of bins. */
  bins: number;
  /** Source of every random draw. */
  prng: Prng;
}

/** A validated augmenter. */
export interface SpecAug {
  /** The validated config, with defaults filled in. */
  readonly config: Readonly<SpecAugConfig>;
  /**
   * Augments a `(frames, bins)` time-major matrix in place.
   *
   * @returns `feat`
   * @throws {RangeError} when `feat` holds fewer than `frames · bins` values
   */
  apply(feat: Float32Array, input: SpecAugInput): Float32Array;
}

function objectAt(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new TypeError(`${path} must be a mapping`);
  return v as Record<string, unknown>;
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new TypeError(`${path}: unknown key '${k}' (valid keys: ${allowed.join(", ")})`);
  }
}

function number(obj: Record<string, unknown>, key: string, path: string, lo: number, hi: number, int = false): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
    throw new TypeError(`${path}.${key} must be ${int ? "an integer" : "a number"}, got ${JSON.stringify(v)}`);
  }
  if (v < lo || v > hi) throw new RangeError(`${path}.${key} must be in [${lo}, ${hi}]: current value is ${v}`);
  return v;
}

/**
 * Validates a `spec_augmentation` block and returns the augmenter.
 *
 * @param config the hparams block (`{random_erase?: {prob, erase_num, region_size?, value?}, roll_pitch?: {prob,
 *   shift_num, method?}}`)
 * @returns the augmenter
 * @throws {TypeError} on a wrong type or an unknown key, {RangeError} on an out-of-range value or a
 *   `roll_pitch.method` other than `"default"` (CoverHunterMPS's `low_melody` and `flex_melody` are not supported)
 */
export function createSpecAug(config: unknown): SpecAug {
  const root = objectAt(config, "spec_augmentation");
  onlyKeys(root, ["random_erase", "roll_pitch"], "spec_augmentation");
  const out: SpecAugConfig = {};
  if (root.roll_pitch !== undefined) {
    const path = "spec_augmentation.roll_pitch";
    const rp = objectAt(root.roll_pitch, path);
    onlyKeys(rp, ["prob", "shift_num", "method"], path);
    if (rp.method !== undefined && rp.method !== "default" && rp.method !== "uniform") {
      throw new RangeError(
        `${path}.method ${
          JSON.stringify(rp.method)
        } is not supported (only "default" and "uniform"; CoverHunterMPS's ` +
          `"low_melody" and "flex_melody" are not implemented)`,
      );
    }
    out.roll_pitch = {
      prob: number(rp, "prob", path, 0, 1),
      shift_num: number(rp, "shift_num", path, 0, Number.MAX_SAFE_INTEGER, true),
      ...(rp.method === undefined ? {} : { method: rp.method as "default" | "uniform" }),
    };
  }
  if (root.random_erase !== undefined) {
    const path = "spec_augmentation.random_erase";
    const re = objectAt(root.random_erase, path);
    onlyKeys(re, ["prob", "erase_num", "region_size", "value"], path);
    let regionSize: [number, number] = [0.25, 0.1];
    if (re.region_size !== undefined) {
      const rs = re.region_size;
      if (!Array.isArray(rs) || rs.length !== 2 || !rs.every((x) => typeof x === "number" && x >= 0 && x <= 1)) {
        throw new RangeError(`${path}.region_size must be two fractions in [0, 1], got ${JSON.stringify(rs)}`);
      }
      regionSize = [rs[0], rs[1]];
    }
    out.random_erase = {
      prob: number(re, "prob", path, 0, 1),
      erase_num: number(re, "erase_num", path, 0, Number.MAX_SAFE_INTEGER, true),
      region_size: regionSize,
      value: re.value === undefined ? -80 : number(re, "value", path, -Number.MAX_VALUE, 0),
    };
  }
  Object.freeze(out);
  return {
    config: out,
    apply(feat, { frames, bins, prng }) {
      if (!Number.isInteger(frames) || frames < 0 || !Number.isInteger(bins) || bins < 0) {
        throw new RangeError(`SpecAug: frames and bins must be non-negative integers, got (${frames}, ${bins})`);
      }
      if (feat.length < frames * bins) {
        throw new RangeError(`SpecAug: feat holds ${feat.length} values, (${frames}, ${bins}) needs ${frames * bins}`);
      }
      const rp = out.roll_pitch;
      if (rp !== undefined && prng.next() <= rp.prob) {
        const shift = rp.method === "uniform" ? prng.int(-rp.shift_num, rp.shift_num) : prng.int(-1, 1) * rp.shift_num;
        rollBins(feat, frames, bins, shift);
      }
      const re = out.random_erase;
      if (re !== undefined && prng.next() <= re.prob) {
        const value = prng.next() * re.value!;
        const [fw, fh] = re.region_size!;
        const rw = Math.trunc(frames * fw);
        const rh = Math.trunc(bins * fh);
        const hw = Math.floor(rw / 2);
        const hh = Math.floor(rh / 2);
        for (let r = 0; r < re.erase_num; r++) {
          const cw = Math.trunc(prng.next() * (frames - rw));
          const ch = Math.trunc(prng.next() * (bins - rh));
          if (cw - hw < 0 || ch - hh < 0) continue; // numpy: negative start → empty slice
          const t1 = Math.min(cw + hw, frames);
          const f1 = Math.min(ch + hh, bins);
          for (let t = cw - hw; t < t1; t++) feat.fill(value, t * bins + ch - hh, t * bins + f1);
        }
      }
      return feat;
    },
  };
}

/** Circular roll of every frame over frequency: `out[t, (j + shift) mod F] = in[t, j]`. */
function rollBins(feat: Float32Array, frames: number, bins: number, shift: number): void {
  const s = ((shift % bins) + bins) % bins;
  if (s === 0 || bins === 0) return;
  const row = new Float32Array(bins);
  for (let t = 0; t < frames; t++) {
    const base = t * bins;
    row.set(feat.subarray(base, base + bins));
    for (let j = 0; j < bins; j++) feat[base + ((j + s) % bins)] = row[j]!;
  }
}
