/**
 * Zero-phase FIR filtering by FFT overlap-add, for long filters (hundreds of taps) where direct
 * convolution in JavaScript is too slow. Two consecutive input blocks travel through one complex FFT
 * (one in the real part, one in the imaginary part): the filter is real, so their outputs come back
 * separated in the real and imaginary parts of the inverse transform. Private to `lib/audio`.
 *
 * @module
 */

import FFT from "fft.js";

/** The subset of fft.js's `FFT` object used here (the package ships no type declarations). */
interface FftJs {
  transform(out: Float64Array, data: Float64Array): void;
  inverseTransform(out: Float64Array, data: Float64Array): void;
}

const FftCtor = FFT as unknown as new (size: number) => FftJs;

/** A filter prepared once (its spectrum and FFT plan) and applied to any number of signals. */
export interface FftFir {
  /** Number of taps (odd; the filter is centred on tap `(taps - 1) / 2`). */
  readonly taps: number;
  /**
   * Filters `x` and writes `y[n] = sum_j h[j] x[n + centre - j]` for `n` in `[0, x.length)` (samples of `x`
   * outside its range count as zero) into `out[offset + n]`. `out` must be zero over that range on entry.
   */
  apply(x: Float32Array, out: Float32Array, offset: number): void;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Prepares an FFT overlap-add filter for the odd-length, centred impulse response `h`.
 *
 * @param h impulse response, odd length
 */
export function createFftFir(h: Float64Array): FftFir {
  const taps = h.length;
  if (taps % 2 !== 1) throw new RangeError(`createFftFir: filter length must be odd, got ${taps}`);
  const centre = (taps - 1) / 2;
  // About 8 block samples per tap keeps the overlap-add overhead small.
  const size = Math.max(64, nextPow2(16 * taps));
  const block = size - taps + 1;
  const fft = new FftCtor(size);
  const spectrum = new Float64Array(2 * size);
  {
    const padded = new Float64Array(2 * size);
    for (let j = 0; j < taps; j++) padded[2 * j] = h[j]!;
    fft.transform(spectrum, padded);
  }
  const buf = new Float64Array(2 * size);
  const freq = new Float64Array(2 * size);

  const apply = (x: Float32Array, out: Float32Array, offset: number): void => {
    const n = x.length;
    for (let start = 0; start < n; start += 2 * block) {
      const start2 = start + block;
      buf.fill(0);
      const endA = Math.min(block, n - start);
      for (let i = 0; i < endA; i++) buf[2 * i] = x[start + i]!;
      const endB = Math.max(0, Math.min(block, n - start2));
      for (let i = 0; i < endB; i++) buf[2 * i + 1] = x[start2 + i]!;
      fft.transform(freq, buf);
      for (let k = 0; k < 2 * size; k += 2) {
        const ar = freq[k]!, ai = freq[k + 1]!;
        const br = spectrum[k]!, bi = spectrum[k + 1]!;
        freq[k] = ar * br - ai * bi;
        freq[k + 1] = ar * bi + ai * br;
      }
      fft.inverseTransform(buf, freq);
      // Full convolution sample i of a block starting at s lands at output n = s + i - centre.
      const loA = Math.max(0, centre - start);
      const hiA = Math.min(size, n + centre - start);
      for (let i = loA; i < hiA; i++) out[offset + start + i - centre]! += buf[2 * i]!;
      if (endB > 0) {
        const loB = Math.max(0, centre - start2);
        const hiB = Math.min(size, n + centre - start2);
        for (let i = loB; i < hiB; i++) out[offset + start2 + i - centre]! += buf[2 * i + 1]!;
      }
    }
  };
  return { taps, apply };
}
