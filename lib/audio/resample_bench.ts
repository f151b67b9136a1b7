// deno-lint-ignore-file no-console -- only main() prints; the exported functions return numbers.
/**
 * Quality and speed measurements of {@linkcode createResampler}:
 *
 * - {@linkcode resamplerSnrVsAnalytic}: SNR of the resampled sum of sines against the same sines computed
 *   directly at the output rate (no other tool involved; the tests use it).
 * - {@linkcode resamplerVsSox}: SNR of the difference between our output and `sox`'s default
 *   high-quality `rate`, and our speed in multiples of real time. It spawns `sox` (for the bench task; not
 *   used by the tests) and reports `available: false` when sox is not on PATH.
 *
 * Run directly for a report: `deno run --allow-run=sox --allow-read --allow-write lib/audio/resample_bench.ts`.
 *
 * @module
 */

import { createPrng } from "../data/prng.ts";
import { decodeAudio } from "./decode.ts";
import { createResampler, type ResampleOptions } from "./resample.ts";
import { encodeWav } from "./wav.ts";

/** Frequencies of the default analytic test signal: spread over the passband, all below 7.5 kHz. */
const ANALYTIC_FREQUENCIES_HZ = [55, 110, 440, 1000, 2345.6, 4000, 6100, 7400];

/** The default frequencies up to 0.925 x the lower Nyquist frequency of the two rates. */
function analyticFrequencies(fromHz: number, toHz: number): number[] {
  return ANALYTIC_FREQUENCIES_HZ.filter((f) => f <= 0.925 * Math.min(fromHz, toHz) / 2);
}

/** Options for {@linkcode resamplerSnrVsAnalytic}. */
export interface AnalyticSnrOptions {
  /** Input rate in Hz. @default 44100 */
  fromHz?: number;
  /** Output rate in Hz. @default 16000 */
  toHz?: number;
  /** Signal length in seconds. @default 2 */
  seconds?: number;
  /**
   * Sine frequencies in Hz, each of amplitude 0.1 and phase k (its index). They must lie inside the
   * passband. @default the frequencies of `[55, 110, 440, 1000, 2345.6, 4000, 6100, 7400]` up to 0.925 x
   * the lower Nyquist frequency
   */
  frequenciesHz?: readonly number[];
  /** Filter options passed to the resampler (`toHz` is taken from above). */
  filter?: Omit<ResampleOptions, "toHz">;
}

/** What {@linkcode resamplerSnrVsAnalytic} measured. */
export interface AnalyticSnr {
  /** 10 log10(signal energy / error energy) over the interior (edges excluded), in dB. */
  snrDb: number;
  /** Output samples compared. */
  comparedSamples: number;
}

/** The test signal `sum_k 0.1 sin(2 pi f_k t + k)` sampled at `rateHz`. */
function sumOfSines(frequenciesHz: readonly number[], rateHz: number, length: number): Float32Array {
  const y = new Float32Array(length);
  for (let k = 0; k < frequenciesHz.length; k++) {
    const w = (2 * Math.PI * frequenciesHz[k]!) / rateHz;
    for (let i = 0; i < length; i++) y[i] = y[i]! + 0.1 * Math.sin(w * i + k);
  }
  return y;
}

/** SNR in dB of `test` against `ref` over `[skip, length - skip)`. */
function snrDb(ref: Float32Array, test: Float32Array, skip: number): { snrDb: number; compared: number } {
  const n = Math.min(ref.length, test.length);
  let signal = 0;
  let error = 0;
  for (let i = skip; i < n - skip; i++) {
    signal += ref[i]! * ref[i]!;
    const d = test[i]! - ref[i]!;
    error += d * d;
  }
  return { snrDb: 10 * Math.log10(signal / Math.max(error, 1e-300)), compared: Math.max(0, n - 2 * skip) };
}

/**
 * Resamples a sum of sines (all inside the passband) and compares it with the same sines evaluated at
 * the output rate. The first and last 50 ms are left out, where the zero padding outside the signal
 * shows.
 *
 * @param options rates, length, frequencies and filter settings
 * @returns the SNR in dB and how many samples were compared
 * @throws {RangeError} if a frequency lies outside the passband
 *
 * @example
 * ```ts
 * import { resamplerSnrVsAnalytic } from "./resample_bench.ts";
 * const { snrDb } = resamplerSnrVsAnalytic({ seconds: 0.5 });
 * console.assert(snrDb > 60);
 * ```
 */
export function resamplerSnrVsAnalytic(options: AnalyticSnrOptions = {}): AnalyticSnr {
  const { fromHz = 44100, toHz = 16000, seconds = 2, filter = {} } = options;
  const frequenciesHz = options.frequenciesHz ?? analyticFrequencies(fromHz, toHz);
  const edge = (filter.passband ?? 0.95) * Math.min(fromHz, toHz) / 2;
  const outside = frequenciesHz.find((f) => !(f > 0 && f < edge));
  if (outside !== undefined) {
    throw new RangeError(`Cannot measure SNR as ${outside} Hz is outside the passband (0, ${edge}) Hz`);
  }
  const input = sumOfSines(frequenciesHz, fromHz, Math.round(seconds * fromHz));
  const out = createResampler(fromHz, { ...filter, toHz }).run(input);
  const ref = sumOfSines(frequenciesHz, toHz, out.length);
  const { snrDb: snr, compared } = snrDb(ref, out, Math.round(0.05 * toHz));
  return { snrDb: snr, comparedSamples: compared };
}

/** Options for {@linkcode resamplerVsSox}. */
export interface SoxComparisonOptions {
  /** Input rate in Hz. @default 44100 */
  fromHz?: number;
  /** Output rate in Hz. @default 16000 */
  toHz?: number;
  /** Test signal length in seconds (mono). @default 30 */
  seconds?: number;
  /** The sox executable. @default "sox" */
  soxCommand?: string;
}

/** Result of {@linkcode resamplerVsSox}. */
export type SoxComparison =
  | {
    available: true;
    /** SNR of (ours - sox) against sox's output on the broadband test signal, interior only, in dB. */
    snrDb: number;
    /** SNR of sox's output against the analytic sines of {@linkcode resamplerSnrVsAnalytic}, in dB. */
    soxSnrVsAnalyticDb: number;
    /** SNR of our output against the same analytic sines, in dB. */
    oursSnrVsAnalyticDb: number;
    /** Seconds our resampler took for the mono test signal (best of 3 runs, filter design included). */
    oursSeconds: number;
    /** Audio seconds converted per second of compute, one channel. */
    realTimeFactor: number;
    /** Wall-clock seconds of the sox process on the test signal (file I/O and process start included). */
    soxSeconds: number;
  }
  | { available: false; reason: string };

type SoxRun = { ok: true; output: Float32Array; seconds: number } | { ok: false; reason: string };

/** Writes `input` as float WAV, runs `sox -q in.wav -e floating-point -b 32 -r <toHz> out.wav`, reads it back. */
async function runSox(
  soxCommand: string,
  dir: string,
  input: Float32Array,
  fromHz: number,
  toHz: number,
): Promise<SoxRun> {
  const inPath = `${dir}/in.wav`;
  const outPath = `${dir}/out.wav`;
  await Deno.writeFile(inPath, encodeWav([input], fromHz, { format: "float32" }));
  const t0 = performance.now();
  let status: Deno.CommandOutput;
  try {
    status = await new Deno.Command(soxCommand, {
      args: ["-q", inPath, "-e", "floating-point", "-b", "32", "-r", String(toHz), outPath],
      stdout: "null",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { ok: false, reason: `'${soxCommand}' was not found on PATH: install sox to compare with it` };
    }
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (!status.success) {
    const msg = new TextDecoder().decode(status.stderr).trim();
    return { ok: false, reason: `'${soxCommand}' failed (exit ${status.code}): ${msg}` };
  }
  const output = (await decodeAudio(await Deno.readFile(outPath), outPath)).channels[0]!;
  return { ok: true, output, seconds };
}

/** The broadband test signal of {@linkcode resamplerVsSox}. */
function broadbandSignal(fromHz: number, toHz: number, seconds: number): Float32Array {
  const length = Math.round(seconds * fromHz);
  const lowerNyquist = Math.min(fromHz, toHz) / 2;
  const input = sumOfSines([110, 440, 1234.5, 3000, 5555, 0.875 * lowerNyquist], fromHz, length);
  // Tones above the output band, which both resamplers must remove.
  const above = [1.1 * lowerNyquist, 1.5 * lowerNyquist, 0.9 * fromHz / 2].filter((f) => f < fromHz / 2);
  const aboveSignal = sumOfSines(above, fromHz, length);
  // White noise band-limited to 0.875 x the lower Nyquist frequency (down to a rate whose 0.95 passband
  // edge is there, then back up), so no content falls in either resampler's transition band.
  const prng = createPrng(20240601);
  const noise = new Float32Array(length);
  for (let i = 0; i < length; i++) noise[i] = 0.02 * prng.normal();
  const lowRate = (2 * 0.875 * lowerNyquist) / 0.95;
  const noiseBand = createResampler(lowRate, { toHz: fromHz }).run(
    createResampler(fromHz, { toHz: lowRate }).run(noise),
  );
  const top = 0.9 * lowerNyquist;
  for (let i = 0; i < length; i++) {
    const t = i / fromHz;
    const chirp = 0.1 * Math.sin(2 * Math.PI * (50 * t + ((top - 50) / seconds) * t * t / 2));
    input[i] = input[i]! + aboveSignal[i]! + chirp + noiseBand[i]!;
  }
  return input;
}

/**
 * Compares our resampler with `sox in.wav -e floating-point -b 32 -r <toHz> out.wav` (sox's default
 * `rate`, high quality; float output, so no dither). The test signal holds sines across the passband,
 * sines above the output Nyquist frequency that both must remove, a chirp to 0.9 x the lower Nyquist
 * frequency and band-limited noise. Both are also scored against the analytic sines of
 * {@linkcode resamplerSnrVsAnalytic}, which shows who is closer to the truth where they differ. Needs
 * `--allow-run` for sox and read/write access to the temporary directory.
 *
 * @param options rates, length and the sox command
 * @returns the SNRs and speeds, or `available: false` and the reason when sox is absent or fails
 *
 * @example
 * ```ts ignore
 * import { resamplerVsSox } from "./resample_bench.ts";
 * const r = await resamplerVsSox({ seconds: 10 });
 * if (r.available) console.log(`vs sox ${r.snrDb.toFixed(1)} dB, ${r.realTimeFactor.toFixed(0)}x real time`);
 * ```
 */
export async function resamplerVsSox(options: SoxComparisonOptions = {}): Promise<SoxComparison> {
  const { fromHz = 44100, toHz = 16000, seconds = 30, soxCommand = "sox" } = options;
  const input = broadbandSignal(fromHz, toHz, seconds);
  const dir = await Deno.makeTempDir({ prefix: "resample_bench_" });
  try {
    const sox = await runSox(soxCommand, dir, input, fromHz, toHz);
    if (!sox.ok) return { available: false, reason: sox.reason };
    let ours: Float32Array = new Float32Array(0);
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      ours = createResampler(fromHz, { toHz }).run(input);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    const skip = Math.round(0.05 * toHz);
    const diff = snrDb(sox.output, ours, skip);

    const frequencies = analyticFrequencies(fromHz, toHz);
    const tones = sumOfSines(frequencies, fromHz, Math.round(2 * fromHz));
    const soxTones = await runSox(soxCommand, dir, tones, fromHz, toHz);
    if (!soxTones.ok) return { available: false, reason: soxTones.reason };
    const truth = sumOfSines(frequencies, toHz, soxTones.output.length);
    return {
      available: true,
      snrDb: diff.snrDb,
      soxSnrVsAnalyticDb: snrDb(truth, soxTones.output, skip).snrDb,
      oursSnrVsAnalyticDb: resamplerSnrVsAnalytic({ fromHz, toHz, frequenciesHz: frequencies }).snrDb,
      oursSeconds: best,
      realTimeFactor: seconds / best,
      soxSeconds: sox.seconds,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function main(): Promise<void> {
  for (const fromHz of [44100, 48000, 22050, 8000]) {
    const a = resamplerSnrVsAnalytic({ fromHz });
    console.log(`${fromHz} -> 16000 Hz: SNR vs analytic sines ${a.snrDb.toFixed(1)} dB`);
  }
  const r = await resamplerVsSox();
  if (!r.available) {
    console.log(`sox comparison skipped: ${r.reason}`);
    return;
  }
  console.log(
    `44100 -> 16000 Hz vs sox (default rate, high quality): SNR of difference ${r.snrDb.toFixed(1)} dB; ` +
      `vs analytic sines: ours ${r.oursSnrVsAnalyticDb.toFixed(1)} dB, sox ${r.soxSnrVsAnalyticDb.toFixed(1)} dB; ` +
      `ours ${r.oursSeconds.toFixed(3)} s for 30 s mono = ${r.realTimeFactor.toFixed(0)}x real time ` +
      `(sox process ${r.soxSeconds.toFixed(2)} s)`,
  );
}

if (import.meta.main) await main();
