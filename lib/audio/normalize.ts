/**
 * Peak normalisation exactly as the reference feature extractor does it (spec §1.2 stage 4):
 * `y = y / max(0.001, max(abs(y))) * 0.999`, in float32 arithmetic like NumPy on a float32 array.
 *
 * @module
 */

/** Floor on the peak, so near-silent signals are not blown up. */
const PEAK_FLOOR = 0.001;
/** Target peak. */
const PEAK_TARGET = 0.999;

/**
 * Scales `y` so that its largest absolute sample becomes 0.999, or by `0.999 / 0.001` when the peak is
 * below 0.001. Each step is rounded to float32 as NumPy does (`y / m` then `* 0.999`), so results match
 * the reference bit for bit. An empty input gives an empty output.
 *
 * @param y samples
 * @returns a new array
 * @throws {RangeError} if `y` contains a non-finite sample
 *
 * @example
 * ```ts
 * import { peakNormalize } from "./normalize.ts";
 * const y = peakNormalize(new Float32Array([0.5, -0.25]));
 * console.assert(y[0] === Math.fround(0.999) && y[1] === Math.fround(-0.4995));
 * ```
 */
export function peakNormalize(y: Float32Array): Float32Array {
  let peak = 0;
  for (let i = 0; i < y.length; i++) {
    const a = Math.abs(y[i]!);
    if (!Number.isFinite(a)) throw new RangeError(`Cannot peak-normalise: sample ${i} is ${y[i]}`);
    if (a > peak) peak = a;
  }
  const m = Math.fround(Math.max(PEAK_FLOOR, peak));
  const target = Math.fround(PEAK_TARGET);
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = Math.fround(y[i]! / m) * target;
  return out;
}
