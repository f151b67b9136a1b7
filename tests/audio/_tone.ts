/**
 * Test helpers: amplitude and frequency of a tone in a signal, from a Hann-windowed DFT evaluated at
 * arbitrary frequencies (no FFT size constraints, sub-Hz resolution by refinement).
 *
 * @module
 */

/** Amplitude of the sinusoid at `freqHz` in `y` (Hann-windowed DFT, scaled so a unit sine gives ~1). */
export function toneAmplitude(y: Float32Array, rateHz: number, freqHz: number): number {
  const n = y.length;
  // e^{-j w i} and the Hann window's cos(2 pi (i + 0.5) / n), both advanced by rotation (no trig per sample).
  const w = (2 * Math.PI * freqHz) / rateHz;
  const cw = Math.cos(w), sw = Math.sin(w);
  const v = (2 * Math.PI) / n;
  const cv = Math.cos(v), sv = Math.sin(v);
  let c = 1, s = 0; // cos(w i), sin(w i)
  let hc = Math.cos(v / 2), hs = Math.sin(v / 2); // cos/sin(v (i + 0.5))
  let re = 0;
  let im = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const h = 0.5 - 0.5 * hc;
    const x = y[i]! * h;
    re += x * c;
    im -= x * s;
    wsum += h;
    const c2 = c * cw - s * sw;
    s = s * cw + c * sw;
    c = c2;
    const hc2 = hc * cv - hs * sv;
    hs = hs * cv + hc * sv;
    hc = hc2;
  }
  return (2 * Math.hypot(re, im)) / wsum;
}

/**
 * Frequency of the strongest component of `y` in `[loHz, hiHz]`: a scan on a grid of `stepHz` (or
 * finer for long signals), then a golden-section refinement to about 0.01 Hz.
 */
export function peakFrequency(y: Float32Array, rateHz: number, loHz: number, hiHz: number, stepHz = 4): number {
  // The Hann main lobe is +-2/T wide: a grid finer than 1/T cannot step over a peak.
  stepHz = Math.min(stepHz, rateHz / y.length);
  let best = loHz;
  let bestA = -1;
  for (let f = loHz; f <= hiHz; f += stepHz) {
    const a = toneAmplitude(y, rateHz, f);
    if (a > bestA) {
      bestA = a;
      best = f;
    }
  }
  let a = Math.max(loHz, best - stepHz);
  let b = Math.min(hiHz, best + stepHz);
  const g = (Math.sqrt(5) - 1) / 2;
  while (b - a > 0.01) {
    const c = b - g * (b - a);
    const d = a + g * (b - a);
    if (toneAmplitude(y, rateHz, c) > toneAmplitude(y, rateHz, d)) b = d;
    else a = c;
  }
  return (a + b) / 2;
}

/** `amp * sin(2 pi f t + phase)` sampled at `rateHz`, `length` samples, as float32. */
export function sine(rateHz: number, length: number, freqHz: number, amp = 1, phase = 0): Float32Array {
  const y = new Float32Array(length);
  const w = (2 * Math.PI * freqHz) / rateHz;
  for (let i = 0; i < length; i++) y[i] = amp * Math.sin(w * i + phase);
  return y;
}

/** Largest absolute difference between consecutive samples. */
export function maxJump(y: Float32Array): number {
  let m = 0;
  for (let i = 1; i < y.length; i++) m = Math.max(m, Math.abs(y[i]! - y[i - 1]!));
  return m;
}
