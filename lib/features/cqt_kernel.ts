/**
 * The sparse spectral kernel of the reference constant-Q transform (CoverHunter `PyCqt`, spec §2.1).
 *
 * For bin k: `f_k = fmin·2^(k/B)`, odd window length `N_k = 2·round(Q·sr/f_k/2) + 1` (round half to even),
 * `t_k[n] = hamming_sym(N_k)[n]·exp(+2πi·Q·m/N_k)/N_k` with `m = n − (N_k−1)/2`, placed in a row of length
 * `L = 2^ceil(log2(Q·sr/fmin))` starting at `(L − N_k + 1)/2` (centre at L/2). The rows are transformed with a
 * forward float64 FFT, entries with `|S| < 0.01` are dropped, and the kept ones become `M = conj(S)/L`.
 * With the defaults this gives 96 rows, L = 16384 and 30,823 non-zeros.
 *
 * @example
 * ```ts
 * import { createCqtKernel } from "./cqt_kernel.ts";
 * const kernel = createCqtKernel();
 * console.log(kernel.nBins, kernel.fftLength, kernel.nnz); // 96 16384 30823
 * ```
 *
 * @module
 */

import { ComplexFft } from "./_fft.ts";

/** Options for {@linkcode createCqtKernel} (the `PyCqt` constructor arguments, camelCased). */
export interface CqtKernelOptions {
  /** Sampling rate in Hz. @default 16000 */
  sampleRateHz?: number;
  /** Centre frequency of bin 0 in Hz (hparams `fmin`). @default 32 */
  fmin?: number;
  /** Number of bins (hparams `n_bins`). @default 96 */
  nBins?: number;
  /** Bins per octave (hparams `bins_per_octave`). @default 12 */
  binsPerOctave?: number;
  /** Hop between frames in samples (`round(sr / int(1 / 0.04))`). @default 640 */
  hopSamples?: number;
  /** Spectral entries with a magnitude below this are dropped (before `conj` and `/L`). @default 0.01 */
  threshold?: number;
}

/**
 * A sparse CQT kernel in CSR form: row k holds `M[k, q] = conj(S[k, q]) / L` for its kept columns q.
 * Plain typed arrays and numbers only, so it can be structured-cloned to workers.
 */
export interface CqtKernel {
  /** Sampling rate in Hz. */
  readonly sampleRateHz: number;
  /** Centre frequency of bin 0 in Hz. */
  readonly fmin: number;
  /** Number of bins (rows). */
  readonly nBins: number;
  /** Bins per octave. */
  readonly binsPerOctave: number;
  /** Hop between frames in samples. */
  readonly hopSamples: number;
  /** FFT length L (frame length in samples). */
  readonly fftLength: number;
  /** Q = 1 / (2^(1/B) − 1). */
  readonly q: number;
  /** `N_k`, the odd window length of each bin. */
  readonly windowLengths: Int32Array;
  /** CSR row offsets, length nBins + 1; row k owns entries `rowOffsets[k] .. rowOffsets[k+1]`. */
  readonly rowOffsets: Int32Array;
  /** Column (FFT bin) of each entry, ascending within a row, in `[0, L)`. */
  readonly columns: Int32Array;
  /** Real part of `M = conj(S)/L` per entry. */
  readonly re: Float64Array;
  /**
   * Imaginary part of `M = conj(S)/L` per entry: rounding residue only. Every row is centred at L/2 and its window
   * is symmetric, so `S[k,q] = (−1)^q·R_k(q)` with `R_k` real; the builder checks that `|im|` stays below 1e-12 of
   * the largest entry (and throws otherwise), so fast paths may use `re` alone.
   */
  readonly im: Float64Array;
  /** Total number of non-zeros. */
  readonly nnz: number;
}

/**
 * Python 3 `round()` for the window length: ties go to the even integer.
 *
 * @param x the value to round
 * @returns the nearest integer, ties to even
 */
export function roundHalfToEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Builds the reference sparse CQT kernel (spec §2.1). Pure: the caller keeps the result and reuses it.
 *
 * @param options sizes and rates; defaults give the CoverHunter kernel (96 bins, L = 16384, nnz 30,823)
 * @returns the kernel in CSR form
 * @throws {RangeError} on a non-positive or non-integer size, or when the top bin is not below Nyquist
 */
export function createCqtKernel(options: CqtKernelOptions = {}): CqtKernel {
  const {
    sampleRateHz = 16000,
    fmin = 32,
    nBins = 96,
    binsPerOctave = 12,
    hopSamples = 640,
    threshold = 0.01,
  } = options;
  if (!(sampleRateHz > 0) || !Number.isFinite(sampleRateHz)) {
    throw new RangeError(`createCqtKernel: 'sampleRateHz' must be a positive number: current value is ${sampleRateHz}`);
  }
  if (!(fmin > 0) || !Number.isFinite(fmin)) {
    throw new RangeError(`createCqtKernel: 'fmin' must be a positive number: current value is ${fmin}`);
  }
  for (const [name, v] of [["nBins", nBins], ["binsPerOctave", binsPerOctave], ["hopSamples", hopSamples]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`createCqtKernel: '${name}' must be a positive integer: current value is ${v}`);
    }
  }
  if (!(threshold >= 0)) {
    throw new RangeError(`createCqtKernel: 'threshold' must be >= 0: current value is ${threshold}`);
  }
  const fTop = fmin * 2 ** ((nBins - 1) / binsPerOctave);
  if (fTop >= sampleRateHz / 2) {
    throw new RangeError(
      `createCqtKernel: the top bin (${fTop.toFixed(1)} Hz) must be below Nyquist (${sampleRateHz / 2} Hz); ` +
        `reduce 'nBins' or 'fmin'`,
    );
  }

  const q = 1 / (2 ** (1 / binsPerOctave) - 1);
  const L = 2 ** Math.ceil(Math.log2((q * sampleRateHz) / fmin));
  if (hopSamples > L) {
    throw new RangeError(`createCqtKernel: 'hopSamples' (${hopSamples}) must not exceed the FFT length ${L}`);
  }
  const fft = new ComplexFft(L);
  const re = new Float64Array(L);
  const im = new Float64Array(L);
  const windowLengths = new Int32Array(nBins);
  const rowOffsets = new Int32Array(nBins + 1);
  const cols: number[] = [];
  const vre: number[] = [];
  const vim: number[] = [];

  for (let k = 0; k < nBins; k++) {
    const fk = fmin * 2 ** (k / binsPerOctave);
    const nk = 2 * roundHalfToEven((q * sampleRateHz) / fk / 2) + 1;
    windowLengths[k] = nk;
    re.fill(0);
    im.fill(0);
    const start = (L - nk + 1) / 2; // exact: nk is odd
    const half = (nk - 1) / 2;
    for (let n = 0; n < nk; n++) {
      const w = 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (nk - 1)); // symmetric Hamming
      const phase = (2 * Math.PI * q * (n - half)) / nk;
      re[start + n] = (w * Math.cos(phase)) / nk;
      im[start + n] = (w * Math.sin(phase)) / nk;
    }
    fft.forward(re, im);
    for (let c = 0; c < L; c++) {
      const sr = re[c]!, si = im[c]!;
      if (Math.sqrt(sr * sr + si * si) < threshold) continue;
      cols.push(c);
      vre.push(sr / L); // conj(S)/L
      vim.push(-si / L);
    }
    rowOffsets[k + 1] = cols.length;
  }

  const nnz = cols.length;
  let maxAbs = 0;
  let maxResidual = 0;
  for (let i = 0; i < nnz; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(vre[i]!));
    maxResidual = Math.max(maxResidual, Math.abs(vim[i]!));
  }
  if (maxResidual > 1e-12 * maxAbs) {
    // Unreachable for odd N_k (the centre is then exactly L/2); kept as a guard for the fast real-weight paths.
    throw new RangeError(`createCqtKernel: kernel is not real (imaginary residue ${maxResidual} vs ${maxAbs})`);
  }
  return {
    sampleRateHz,
    fmin,
    nBins,
    binsPerOctave,
    hopSamples,
    fftLength: L,
    q,
    windowLengths,
    rowOffsets,
    columns: Int32Array.from(cols),
    re: Float64Array.from(vre),
    im: Float64Array.from(vim),
    nnz,
  };
}
