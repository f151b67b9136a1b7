/**
 * The nnAudio `CQT1992v2` front end used by CoverHunterMPS-trained models (spec §2.3), selected by the setting
 * `front_end: nnaudio`. It is NOT the reference `PyCqt`: Hann (periodic) windows of length `ceil(Q·sr/f_k)`,
 * L1-normalised kernels, no spectral thresholding, reflect padding, `T = floor(N/hop) + 1` frames centred on
 * `hop·j`, and a `×sqrt(l_k)` gain that tilts the spectrum by +3 dB/octave towards the bass (spec §2.4).
 *
 * nnAudio evaluates it as a strided `conv1d`; here each frame is the same time-domain correlation over the
 * kernel's non-zero support, in float64:
 * `C[k, j] = sqrt(l_k)·|Σ_n xpad[hop·j + start_k + n]·sig_k[n]| / Σ_n |sig_k[n]|`, with `xpad` the input
 * reflect-padded by `fftLen/2` on both sides. dB as for PyCqt: `20·log10(C + 1e-9)` minus the track's maximum.
 *
 * @example
 * ```ts
 * import { createNnaudioKernel, nnaudioCqt } from "./nnaudio_cqt.ts";
 * const kernel = createNnaudioKernel();
 * const y = new Float32Array(16000).map((_, i) => Math.cos(2 * Math.PI * 440 * i / 16000));
 * const { frames, bins } = nnaudioCqt(y, kernel); // 26 frames (floor(16000/640) + 1), 96 bins
 * ```
 *
 * @module
 */

import { type CqtResult, magnitudeToDb } from "./cqt.ts";

/** Options for {@linkcode createNnaudioKernel} (nnAudio's `CQT1992v2` arguments). */
export interface NnaudioOptions {
  /** Sampling rate in Hz. @default 16000 */
  sampleRateHz?: number;
  /** Centre frequency of bin 0 in Hz. @default 32 */
  fmin?: number;
  /** Number of bins. @default 96 */
  nBins?: number;
  /** Bins per octave. @default 12 */
  binsPerOctave?: number;
  /** Hop (conv1d stride) in samples. @default 640 */
  hopSamples?: number;
}

/** Time-domain kernels of nnAudio `CQT1992v2`, already L1-normalised and scaled by `sqrt(l_k)`. */
export interface NnaudioKernel {
  /** Sampling rate in Hz. */
  readonly sampleRateHz: number;
  /** Number of bins. */
  readonly nBins: number;
  /** Hop in samples. */
  readonly hopSamples: number;
  /** `fftLen = 2^ceil(log2(max l_k))`, the kernel row length; the input is reflect-padded by fftLen/2. */
  readonly fftLength: number;
  /** `l_k = ceil(Q·sr/f_k)`. */
  readonly lengths: Int32Array;
  /** `start_k = ceil(fftLen/2 − l_k/2) − (l_k odd ? 1 : 0)`: offset of the kernel inside its row. */
  readonly starts: Int32Array;
  /** Offsets of each bin's taps in `re`/`im` (length nBins + 1). */
  readonly offsets: Int32Array;
  /** `Re(sig_k[n])·sqrt(l_k)/Σ|sig_k|`, all bins concatenated. */
  readonly re: Float64Array;
  /** `Im(sig_k[n])·sqrt(l_k)/Σ|sig_k|` (the sign does not change the magnitude). */
  readonly im: Float64Array;
}

/**
 * Builds the nnAudio `CQT1992v2` kernels (`filter_scale = 1`, `norm = 1`, `window = 'hann'`), scaled by
 * `sqrt(l_k)` (the "librosa" normalisation applied after the convolution in nnAudio).
 *
 * @param options sizes and rates (defaults: the CoverHunterMPS call)
 * @returns the kernel set
 * @throws {RangeError} on non-positive sizes or a top bin at or above Nyquist
 */
export function createNnaudioKernel(options: NnaudioOptions = {}): NnaudioKernel {
  const { sampleRateHz = 16000, fmin = 32, nBins = 96, binsPerOctave = 12, hopSamples = 640 } = options;
  if (!(sampleRateHz > 0) || !(fmin > 0)) {
    throw new RangeError(`createNnaudioKernel: rates must be positive, got sr ${sampleRateHz}, fmin ${fmin}`);
  }
  for (const [name, v] of [["nBins", nBins], ["binsPerOctave", binsPerOctave], ["hopSamples", hopSamples]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`createNnaudioKernel: '${name}' must be a positive integer: current value is ${v}`);
    }
  }
  const fTop = fmin * 2 ** ((nBins - 1) / binsPerOctave);
  if (fTop >= sampleRateHz / 2) {
    throw new RangeError(`createNnaudioKernel: the top bin (${fTop.toFixed(1)} Hz) must be below Nyquist`);
  }
  const q = 1 / (2 ** (1 / binsPerOctave) - 1);
  const lengths = new Int32Array(nBins);
  for (let k = 0; k < nBins; k++) lengths[k] = Math.ceil((q * sampleRateHz) / (fmin * 2 ** (k / binsPerOctave)));
  const fftLength = 2 ** Math.ceil(Math.log2(Math.max(...lengths)));
  const starts = new Int32Array(nBins);
  const offsets = new Int32Array(nBins + 1);
  for (let k = 0; k < nBins; k++) offsets[k + 1] = offsets[k]! + lengths[k]!;
  const re = new Float64Array(offsets[nBins]!);
  const im = new Float64Array(offsets[nBins]!);
  for (let k = 0; k < nBins; k++) {
    const l = lengths[k]!;
    const fk = fmin * 2 ** (k / binsPerOctave);
    starts[k] = Math.ceil(fftLength / 2 - l / 2) - (l % 2 === 1 ? 1 : 0);
    const r0 = Math.floor(-l / 2); // numpy r_[-l//2 : l//2] starts at floor(−l/2)
    let l1 = 0;
    const o = offsets[k]!;
    for (let n = 0; n < l; n++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / l); // periodic Hann
      const ph = (2 * Math.PI * fk * (r0 + n)) / sampleRateHz;
      re[o + n] = (w * Math.cos(ph)) / l;
      im[o + n] = (w * Math.sin(ph)) / l;
      l1 += Math.hypot(re[o + n]!, im[o + n]!);
    }
    const scale = Math.sqrt(l) / l1;
    for (let n = 0; n < l; n++) {
      re[o + n] = re[o + n]! * scale;
      im[o + n] = im[o + n]! * scale;
    }
  }
  return { sampleRateHz, nBins, hopSamples, fftLength, lengths, starts, offsets, re, im };
}

/**
 * Number of frames of nnAudio's CQT: `floor(nSamples / hop) + 1`.
 *
 * @param nSamples signal length
 * @param kernel the kernel set (gives the hop)
 * @returns T
 */
export function nnaudioFrameCount(nSamples: number, kernel: NnaudioKernel): number {
  return Math.floor(nSamples / kernel.hopSamples) + 1;
}

/**
 * `ReflectionPad1d`-style index: maps a padded position to the signal (repeated reflections when the pad is
 * longer than the signal, where PyTorch would refuse).
 */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let r = i % period;
  if (r < 0) r += period;
  return r < n ? r : period - r;
}

/**
 * Linear nnAudio CQT magnitudes for frames `[startFrame, endFrame)`, time-major `(frames, nBins)`, float64.
 *
 * @param samples the whole signal
 * @param kernel from {@linkcode createNnaudioKernel}
 * @param options frame range (default: all `floor(N/hop) + 1` frames)
 * @returns the magnitudes
 * @throws {RangeError} on an empty signal or a frame range outside `[0, T]`
 */
export function nnaudioCqtMagnitude(
  samples: Float32Array | Float64Array,
  kernel: NnaudioKernel,
  options: { startFrame?: number; endFrame?: number } = {},
): Float64Array {
  const n = samples.length;
  if (n < 1) throw new RangeError("nnaudioCqtMagnitude: empty signal");
  const T = nnaudioFrameCount(n, kernel);
  const { startFrame = 0, endFrame = T } = options;
  if (!Number.isInteger(startFrame) || !Number.isInteger(endFrame) || startFrame < 0 || endFrame > T) {
    throw new RangeError(`nnaudioCqtMagnitude: frame range [${startFrame}, ${endFrame}) must lie in [0, ${T}]`);
  }
  const K = kernel.nBins, H = kernel.hopSamples, pad = kernel.fftLength / 2;
  const frames = Math.max(0, endFrame - startFrame);
  const out = new Float64Array(frames * K);
  const seg = new Float64Array(kernel.fftLength);
  const { re, im, offsets, starts } = kernel;
  for (let j = startFrame; j < endFrame; j++) {
    // Window of the padded signal for frame j: xpad[j·H + t] = x[j·H + t − pad], t < fftLen.
    const base = j * H - pad;
    if (base >= 0 && base + seg.length <= n) {
      for (let t = 0; t < seg.length; t++) seg[t] = samples[base + t]!;
    } else {
      for (let t = 0; t < seg.length; t++) seg[t] = samples[reflectIndex(base + t, n)]!;
    }
    for (let k = 0; k < K; k++) {
      const o = offsets[k]!, l = offsets[k + 1]! - o, s = starts[k]!;
      let r0 = 0, r1 = 0, i0 = 0, i1 = 0;
      let t = 0;
      for (; t + 1 < l; t += 2) {
        const x0 = seg[s + t]!, x1 = seg[s + t + 1]!;
        r0 += x0 * re[o + t]!;
        i0 += x0 * im[o + t]!;
        r1 += x1 * re[o + t + 1]!;
        i1 += x1 * im[o + t + 1]!;
      }
      if (t < l) {
        const x0 = seg[s + t]!;
        r0 += x0 * re[o + t]!;
        i0 += x0 * im[o + t]!;
      }
      const a = r0 + r1, b = i0 + i1;
      out[(j - startFrame) * K + k] = Math.sqrt(a * a + b * b);
    }
  }
  return out;
}

/**
 * The nnAudio-compatible CQT in dB relative to the track's maximum, `(floor(N/hop) + 1, nBins)` time-major.
 *
 * @param samples mono signal at the kernel's sampling rate
 * @param kernel from {@linkcode createNnaudioKernel}
 * @returns dB values, max 0
 */
export function nnaudioCqt(samples: Float32Array | Float64Array, kernel: NnaudioKernel): CqtResult {
  const mag = nnaudioCqtMagnitude(samples, kernel);
  return { data: magnitudeToDb(mag), frames: nnaudioFrameCount(samples.length, kernel), bins: kernel.nBins };
}
