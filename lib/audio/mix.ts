/**
 * Down-mixing to mono, as the reference does before the CQT (MPS: `waveform.mean(dim=0)`; ORIG:
 * `librosa.load(..., mono=True)`, which also averages the channels).
 *
 * @module
 */

/**
 * Averages channels of equal length into one: `y[i] = (x0[i] + ... + x{C-1}[i]) / C`. One channel
 * gives a copy.
 *
 * @param channels one array per channel, all the same length
 * @returns a new mono array
 * @throws {RangeError} if there are no channels or their lengths differ
 *
 * @example
 * ```ts
 * import { mixToMono } from "./mix.ts";
 * const y = mixToMono([new Float32Array([1, 0]), new Float32Array([0, 0])]);
 * console.assert(y[0] === 0.5 && y[1] === 0);
 * ```
 */
export function mixToMono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 0) throw new RangeError("Cannot mix to mono: no channels");
  const n = channels[0]!.length;
  for (let c = 1; c < channels.length; c++) {
    if (channels[c]!.length !== n) {
      throw new RangeError(
        `Cannot mix to mono: channel ${c} has ${channels[c]!.length} samples, channel 0 has ${n}`,
      );
    }
  }
  if (channels.length === 1) return channels[0]!.slice();
  const out = new Float32Array(n);
  const sum = new Float64Array(n);
  for (const ch of channels) {
    for (let i = 0; i < n; i++) sum[i] = sum[i]! + ch[i]!;
  }
  const scale = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i] = sum[i]! * scale;
  return out;
}
