/**
 * Reads an audio file into the signal the feature extractor wants: decoded, averaged to mono,
 * resampled, and peak-normalised to 0.999 (spec §1.2 stage 4 and §1.3 steps 1-4).
 *
 * @module
 */

import { decodeAudio } from "./decode.ts";
import { mixToMono } from "./mix.ts";
import { peakNormalize } from "./normalize.ts";
import { createResampler } from "./resample.ts";

/** Options for {@linkcode loadAudio}. */
export interface LoadAudioOptions {
  /** Sampling rate of the result in Hz. @default 16000 */
  sampleRateHz?: number;
}

/**
 * Loads `path`: read, decode (any format {@linkcode decodeAudio} knows), mean of the channels,
 * band-limited resampling to `sampleRateHz` (skipped when the file already has that rate), then
 * `y / max(0.001, max|y|) * 0.999`. Needs `--allow-read` for `path`, nothing else.
 *
 * @param path file to load
 * @param options target rate
 * @returns mono samples at `sampleRateHz`, peak 0.999 (or less for a near-silent file)
 * @throws {Error} naming `path` when it cannot be read or decoded, or is empty
 * @throws {RangeError} if `sampleRateHz` is not a positive finite number
 *
 * @example
 * ```ts ignore
 * import { loadAudio } from "./load.ts";
 * const y = await loadAudio("song.mp3"); // Float32Array at 16 kHz
 * ```
 */
export async function loadAudio(path: string, options: LoadAudioOptions = {}): Promise<Float32Array> {
  const { sampleRateHz = 16000 } = options;
  if (!Number.isFinite(sampleRateHz) || sampleRateHz <= 0) {
    throw new RangeError(
      `Cannot load audio as 'sampleRateHz' must be a positive rate: current value is ${sampleRateHz}`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${path}: file not found`, { cause: e });
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${path}: cannot read audio file: ${msg}`, { cause: e });
  }
  const { channels, sampleRateHz: fileRateHz } = await decodeAudio(bytes, path);
  const mono = mixToMono(channels);
  const atRate = fileRateHz === sampleRateHz ? mono : createResampler(fileRateHz, { toHz: sampleRateHz }).run(mono);
  return peakNormalize(atRate);
}
