/**
 * Band-limited sample-rate conversion between any two rates (rational or not), built for turning
 * decoded audio into the 16 kHz signal the CQT front end expects (spec §2.4: "pre-resample to 16 kHz
 * with a high-quality resampler").
 *
 * The design is a Kaiser-windowed sinc, zero phase, with the passband flat up to `passband` x the
 * lower Nyquist frequency and at least about `stopbandDb` of rejection from that Nyquist frequency
 * on, so nothing aliases into the output band:
 *
 * - **Downsampling** (e.g. 44.1 kHz -> 16 kHz) runs in two stages. A long linear-phase low-pass
 *   (hundreds of taps) runs at the input rate by FFT overlap-add; then a short polyphase interpolator
 *   (about 14 taps) evaluates the now band-limited signal at the output instants. Images of the
 *   filtered band start at `fromHz - toHz / 2`, so the short kernel removes them with the same margin.
 *   When the rates are so close that the interpolator would be long, one polyphase stage is used instead.
 * - **Upsampling** (e.g. 8 kHz -> 16 kHz) does the same at twice the input rate: a zero goes after each
 *   input sample, the FFT low-pass cuts at the input Nyquist frequency, and the short interpolator takes
 *   it from there to the output rate.
 *
 * Rational ratios of integer rates with at most 1024 output phases use exact polyphase tables;
 * other ratios interpolate linearly between the rows of a 1024-phase table.
 *
 * Output sample `n` is the input evaluated at time `n / toHz` seconds (no delay), with the signal taken
 * as zero outside its range; the output has `ceil(length * toHz / fromHz)` samples.
 *
 * @module
 */

import { createFftFir } from "./_fft_fir.ts";
import { besselI0, kaiserBeta, kaiserSinc, kaiserTaps } from "./_kaiser.ts";

/** Options for {@linkcode createResampler} and {@linkcode resample}. */
export interface ResampleOptions {
  /** Output sampling rate in Hz. @default 16000 */
  toHz?: number;
  /** Passband edge as a fraction of the lower of the two Nyquist frequencies. @default 0.95 */
  passband?: number;
  /** Stopband attenuation the filters are designed for, in dB. @default 110 */
  stopbandDb?: number;
}

/** A rate converter designed once for one pair of rates and applied to any number of signals. */
export interface Resampler {
  /** Input sampling rate in Hz. */
  readonly fromHz: number;
  /** Output sampling rate in Hz. */
  readonly toHz: number;
  /** Number of output samples for `inputLength` input samples: `ceil(inputLength * toHz / fromHz)`. */
  outputLength(inputLength: number): number;
  /** Converts one channel; returns a new array and leaves `samples` untouched. */
  run(samples: Float32Array): Float32Array;
}

/** Phases of the largest exact polyphase table, and of the interpolated table for other ratios. */
const MAX_PHASES = 1024;
/** Measured cost of the FFT stage per input sample, in units of one multiply-add of the direct loop. */
const FFT_COST_PER_INPUT = 20;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Polyphase evaluator of a Kaiser-windowed sinc at the output instants. */
interface Interpolator {
  /** Taps per output sample (even). */
  readonly taps: number;
  /** Evaluates `padded` (the signal with `taps / 2` zeros of margin on each side) at `n * step`, n < count. */
  run(padded: Float32Array, count: number): Float32Array;
}

/** Fills one table row: the taps for fractional delay `phase`, normalised to unit DC gain. */
function fillRow(
  table: Float64Array,
  row: number,
  phase: number,
  taps: number,
  cutoff: number,
  beta: number,
  i0Beta: number,
): void {
  const half = taps / 2;
  const base = row * taps;
  let sum = 0;
  for (let m = 0; m < taps; m++) {
    const w = kaiserSinc(phase + half - 1 - m, cutoff, half, beta, i0Beta);
    table[base + m] = w;
    sum += w;
  }
  for (let m = 0; m < taps; m++) table[base + m] = table[base + m]! / sum;
}

/**
 * Builds the polyphase stage: output n is `sum_m table[phase(n)][m] * x[floor(n * step) - taps/2 + 1 + m]`
 * with `step = fromHz / toHz` input samples per output sample.
 */
function createInterpolator(
  fromHz: number,
  toHz: number,
  cutoff: number,
  transition: number,
  stopbandDb: number,
): Interpolator {
  const taps = 2 * Math.ceil(kaiserTaps(stopbandDb, transition) / 2);
  const beta = kaiserBeta(stopbandDb);
  const i0Beta = besselI0(beta);
  const integerRates = Number.isInteger(fromHz) && Number.isInteger(toHz);
  const g = integerRates ? gcd(fromHz, toHz) : 1;
  const up = toHz / g; // L: phases of an exact table
  const down = fromHz / g; // M
  if (integerRates && up <= MAX_PHASES) {
    const table = new Float64Array(up * taps);
    for (let r = 0; r < up; r++) fillRow(table, r, r / up, taps, cutoff, beta, i0Beta);
    const qStep = Math.floor(down / up);
    const rStep = down % up;
    const run = (padded: Float32Array, count: number): Float32Array => {
      const out = new Float32Array(count);
      let q = 0; // floor(n * M / L)
      let r = 0; // (n * M) mod L
      for (let n = 0; n < count; n++) {
        const base = q + 1; // = (q - half + 1) + half (margin)
        const t = r * taps;
        let a0 = 0, a1 = 0;
        for (let m = 0; m < taps; m += 2) {
          a0 += padded[base + m]! * table[t + m]!;
          a1 += padded[base + m + 1]! * table[t + m + 1]!;
        }
        out[n] = a0 + a1;
        q += qStep;
        r += rStep;
        if (r >= up) {
          r -= up;
          q += 1;
        }
      }
      return out;
    };
    return { taps, run };
  }
  // Any other ratio: a fine table, linear interpolation between adjacent phases.
  const phases = MAX_PHASES;
  const table = new Float64Array((phases + 1) * taps);
  for (let r = 0; r <= phases; r++) fillRow(table, r, r / phases, taps, cutoff, beta, i0Beta);
  const step = fromHz / toHz;
  const run = (padded: Float32Array, count: number): Float32Array => {
    const out = new Float32Array(count);
    const lastQ = padded.length - taps - 1; // the last input sample (guards against rounding in n * step)
    for (let n = 0; n < count; n++) {
      const tau = n * step;
      const q = Math.min(Math.floor(tau), lastQ);
      const p = (tau - q) * phases;
      const row = Math.min(phases - 1, Math.floor(p));
      const frac = p - row;
      const base = q + 1;
      const t0 = row * taps;
      const t1 = t0 + taps;
      let a0 = 0, a1 = 0;
      for (let m = 0; m < taps; m++) {
        const x = padded[base + m]!;
        a0 += x * table[t0 + m]!;
        a1 += x * table[t1 + m]!;
      }
      out[n] = a0 + (a1 - a0) * frac;
    }
    return out;
  };
  return { taps, run };
}

/** Odd-length Kaiser low-pass with DC gain `gain` (the FFT stage; gain 2 makes up for zero-stuffing). */
function designLowPass(cutoff: number, transition: number, stopbandDb: number, gain: number): Float64Array {
  const taps = 2 * Math.floor(kaiserTaps(stopbandDb, transition) / 2) + 1;
  const beta = kaiserBeta(stopbandDb);
  const i0Beta = besselI0(beta);
  const centre = (taps - 1) / 2;
  const h = new Float64Array(taps);
  let sum = 0;
  for (let j = 0; j < taps; j++) {
    h[j] = kaiserSinc(j - centre, cutoff, centre, beta, i0Beta);
    sum += h[j]!;
  }
  for (let j = 0; j < taps; j++) h[j] = (h[j]! * gain) / sum;
  return h;
}

/**
 * Designs a resampler from `fromHz` to `options.toHz` (16 kHz by default). Design takes a few
 * milliseconds; keep the object to convert many signals at the same pair of rates.
 *
 * @param fromHz input sampling rate in Hz (any positive finite number)
 * @param options output rate and filter quality
 * @returns a {@linkcode Resampler}
 * @throws {RangeError} if a rate, `passband` or `stopbandDb` is out of range
 *
 * @example
 * ```ts
 * import { createResampler } from "./resample.ts";
 * const r = createResampler(44100, { toHz: 16000 });
 * const y = r.run(new Float32Array(44100)); // one second of silence
 * console.assert(y.length === 16000);
 * ```
 */
export function createResampler(fromHz: number, options: ResampleOptions = {}): Resampler {
  const { toHz = 16000, passband = 0.95, stopbandDb = 110 } = options;
  for (const [name, rate] of [["fromHz", fromHz], ["toHz", toHz]] as const) {
    if (!Number.isFinite(rate) || rate <= 0) {
      throw new RangeError(`Cannot resample as '${name}' must be a positive finite rate: current value is ${rate}`);
    }
  }
  if (!(passband >= 0.5 && passband <= 0.99)) {
    throw new RangeError(`Cannot resample as 'passband' must be in [0.5, 0.99]: current value is ${passband}`);
  }
  if (!(stopbandDb >= 40 && stopbandDb <= 200)) {
    throw new RangeError(`Cannot resample as 'stopbandDb' must be in [40, 200]: current value is ${stopbandDb}`);
  }
  const integerRates = Number.isInteger(fromHz) && Number.isInteger(toHz);
  const outputLength = (inputLength: number): number => {
    if (integerRates) {
      const g = gcd(fromHz, toHz);
      return Math.ceil((inputLength * (toHz / g)) / (fromHz / g));
    }
    return Math.max(0, Math.ceil((inputLength * toHz) / fromHz - 1e-9));
  };
  if (fromHz === toHz) {
    return { fromHz, toHz, outputLength, run: (samples) => samples.slice() };
  }

  // The lower Nyquist frequency sets the band; filters are designed in cycles per sample.
  const nyquist = Math.min(fromHz, toHz) / 2;
  const single = () => {
    const cutoff = ((1 + passband) / 2) * nyquist / fromHz;
    const transition = (1 - passband) * nyquist / fromHz;
    return { taps: kaiserTaps(stopbandDb, transition), cutoff, transition };
  };
  // Two stages: the FFT low-pass runs at rate S = up * fromHz (up = 2 when upsampling, on the input with a
  // zero after each sample; else 1). Its output holds nothing above the band edge, and its images start
  // at S minus that edge, so the interpolator from S to toHz cuts at S / 2 (0.5 cycles per sample) with a
  // wide transition, hence few taps.
  const up = toHz > fromHz ? 2 : 1;
  const stageRate = up * fromHz;
  const stage2Transition = (stageRate - 2 * nyquist) / stageRate;
  const twoStage = up > 1 ||
    kaiserTaps(stopbandDb, stage2Transition) + FFT_COST_PER_INPUT * (fromHz / toHz) < single().taps;

  if (!twoStage) {
    const { cutoff, transition } = single();
    const interp = createInterpolator(fromHz, toHz, cutoff, transition, stopbandDb);
    const margin = interp.taps / 2;
    const run = (samples: Float32Array): Float32Array => {
      const padded = new Float32Array(samples.length + 2 * margin);
      padded.set(samples, margin);
      return interp.run(padded, outputLength(samples.length));
    };
    return { fromHz, toHz, outputLength, run };
  }

  const lowPass = designLowPass(
    ((1 + passband) / 2) * nyquist / stageRate,
    (1 - passband) * nyquist / stageRate,
    stopbandDb,
    up,
  );
  const interp = createInterpolator(stageRate, toHz, 0.5, stage2Transition, stopbandDb);
  const margin = interp.taps / 2;
  const fir = createFftFir(lowPass);
  const run = (samples: Float32Array): Float32Array => {
    let input = samples;
    if (up > 1) {
      input = new Float32Array(up * samples.length);
      for (let i = 0; i < samples.length; i++) input[up * i] = samples[i]!;
    }
    const padded = new Float32Array(input.length + 2 * margin);
    fir.apply(input, padded, margin);
    return interp.run(padded, outputLength(samples.length));
  };
  return { fromHz, toHz, outputLength, run };
}

/**
 * Resamples one channel from `fromHz` to `options.toHz` (16 kHz by default) with the band-limited
 * converter of {@linkcode createResampler}. Equal rates return a copy.
 *
 * @param samples one channel of audio
 * @param fromHz its sampling rate in Hz
 * @param options output rate and filter quality
 * @returns a new array of `ceil(samples.length * toHz / fromHz)` samples
 * @throws {RangeError} if a rate or option is out of range
 *
 * @example
 * ```ts
 * import { resample } from "./resample.ts";
 * const y = resample(new Float32Array(48000), 48000); // to 16 kHz
 * console.assert(y.length === 16000);
 * ```
 */
export function resample(samples: Float32Array, fromHz: number, options: ResampleOptions = {}): Float32Array {
  return createResampler(fromHz, options).run(samples);
}
