/**
 * `shorter` (spec §2.5): average each `meanSize` consecutive frames of a `(T, F)` feature matrix. This is how
 * the model sees the CQT: 25 fps averaged by 3 into 8.33 fps, mean of dB values.
 *
 * @example
 * ```ts
 * import { shorter } from "./shorter.ts";
 * const feat = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]); // (T=4, F=2)
 * shorter(feat, 4, 2, 2); // (2, 2): [1, 2, 5, 6]
 * ```
 *
 * @module
 */

/**
 * Means of consecutive frame groups: `out[i, f] = mean(feat[i·m .. (i+1)·m − 1, f])` for `i < floor(T / m)`;
 * trailing frames that do not fill a group are dropped. `meanSize` 1 returns a copy.
 *
 * @param feat time-major `(T, F)` values
 * @param frames T
 * @param bins F
 * @param meanSize m, the number of frames averaged
 * @returns `(floor(T / m), F)` time-major float32 (each mean accumulated in float64)
 * @throws {RangeError} when `meanSize` is not a positive integer or `feat` is shorter than `T·F`
 */
export function shorter(
  feat: Float32Array | Float64Array,
  frames: number,
  bins: number,
  meanSize: number,
): Float32Array {
  if (!Number.isInteger(meanSize) || meanSize < 1) {
    throw new RangeError(`shorter: 'meanSize' must be a positive integer: current value is ${meanSize}`);
  }
  if (!Number.isInteger(frames) || frames < 0 || !Number.isInteger(bins) || bins < 0) {
    throw new RangeError(`shorter: 'frames' and 'bins' must be non-negative integers, got (${frames}, ${bins})`);
  }
  if (feat.length < frames * bins) {
    throw new RangeError(`shorter: feat holds ${feat.length} values, (${frames}, ${bins}) needs ${frames * bins}`);
  }
  if (meanSize === 1) return Float32Array.from(feat.subarray(0, frames * bins));
  const outFrames = Math.floor(frames / meanSize);
  const out = new Float32Array(outFrames * bins);
  const acc = new Float64Array(bins);
  for (let i = 0; i < outFrames; i++) {
    acc.fill(0);
    for (let t = i * meanSize; t < (i + 1) * meanSize; t++) {
      const row = t * bins;
      for (let f = 0; f < bins; f++) acc[f] = acc[f]! + feat[row + f]!;
    }
    for (let f = 0; f < bins; f++) out[i * bins + f] = acc[f]! / meanSize;
  }
  return out;
}
