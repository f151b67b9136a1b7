/**
 * Additive-noise augmentation as the reference's `SignalAug` add_noise: noise from a random
 * offset of a noise recording, tiled to the signal's length, switched on per chunk with
 * probability `prob`, mixed at an SNR drawn from {-30, -20, -10, 0, 10} dB after both are peak
 * normalised to 0.495, then the mix is peak normalised to 0.95.
 *
 * @module
 */
import type { Prng } from "../data/prng.ts";

/** Noise mixing options. */
export interface NoiseOptions {
  /** Probability that a chunk gets noise. @default 0.75 */
  prob?: number;
  /** Chunk length in samples. */
  chunkSamples: number;
}

/** The SNRs (dB) the reference draws from. */
export const NOISE_SNRS_DB = [-30, -20, -10, 0, 10] as const;

function peakScale(x: Float32Array, peak: number): Float32Array {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  const out = new Float32Array(x.length);
  if (m === 0) return out;
  const g = peak / m;
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * g;
  return out;
}

/**
 * Mixes `noise` into `signal`; returns a new array and the SNR used.
 *
 * @throws {RangeError} when the noise recording is empty
 */
export function addNoise(
  signal: Float32Array,
  noise: Float32Array,
  options: NoiseOptions,
  prng: Prng,
): { samples: Float32Array; snrDb: number } {
  const { prob = 0.75, chunkSamples } = options;
  if (noise.length === 0) throw new RangeError("addNoise: empty noise recording");
  if (!(chunkSamples >= 1)) throw new RangeError(`addNoise: chunkSamples must be >= 1, got ${chunkSamples}`);
  const tiled = new Float32Array(signal.length);
  let pos = prng.int(0, noise.length - 1);
  for (let i = 0; i < tiled.length; i++) {
    tiled[i] = noise[pos]!;
    if (++pos === noise.length) pos = 0;
  }
  for (let start = 0; start < tiled.length; start += chunkSamples) {
    if (prng.next() >= prob) tiled.fill(0, start, Math.min(tiled.length, start + chunkSamples));
  }
  const snrDb = prng.pick(NOISE_SNRS_DB);
  const s = peakScale(signal, 0.495);
  const n = peakScale(tiled, 0.495);
  const g = Math.sqrt(10 ** (-snrDb / 10));
  for (let i = 0; i < s.length; i++) s[i] = s[i]! + n[i]! * g;
  return { samples: peakScale(s, 0.95), snrDb };
}
