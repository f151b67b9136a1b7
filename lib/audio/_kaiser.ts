/**
 * Kaiser-window FIR design helpers shared by the resampler: the window, the empirical formulas that
 * turn a stopband attenuation and a transition width into a shape parameter and a length, and the
 * windowed-sinc kernel itself. Private to `lib/audio`.
 *
 * @module
 */

/** Zeroth-order modified Bessel function of the first kind, I0(x), by its power series. */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * Kaiser's shape parameter beta for a stopband attenuation of `attenuationDb` (Kaiser 1974, as in
 * Oppenheim & Schafer, "Discrete-Time Signal Processing", eq. 7.62).
 */
export function kaiserBeta(attenuationDb: number): number {
  const a = attenuationDb;
  if (a > 50) return 0.1102 * (a - 8.7);
  if (a >= 21) return 0.5842 * Math.pow(a - 21, 0.4) + 0.07886 * (a - 21);
  return 0;
}

/**
 * Number of taps a Kaiser-windowed sinc needs to reach `attenuationDb` with a transition band of
 * `transition` cycles per sample (Oppenheim & Schafer eq. 7.63: M = (A - 8) / (2.285 * 2 pi * df)).
 */
export function kaiserTaps(attenuationDb: number, transition: number): number {
  return Math.ceil((attenuationDb - 7.95) / (2.285 * 2 * Math.PI * transition)) + 1;
}

/**
 * The Kaiser-windowed ideal low-pass kernel at (real) time `t` samples from its centre:
 * `2 fc sinc(2 fc t) * I0(beta sqrt(1 - (t / half)^2)) / I0(beta)` for `|t| <= half`, else 0. Its
 * continuous-time gain at DC is 1 (before windowing), so sampled taps sum to about 1.
 *
 * @param t time from the kernel centre, in samples
 * @param cutoff cutoff frequency in cycles per sample (0 < cutoff <= 0.5 for a sampled filter)
 * @param half half the window length, in samples
 * @param beta Kaiser shape parameter
 * @param i0Beta `besselI0(beta)`, passed in so callers filling large tables compute it once
 */
export function kaiserSinc(t: number, cutoff: number, half: number, beta: number, i0Beta: number): number {
  if (t < -half || t > half) return 0;
  const r = t / half;
  const window = besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
  const x = 2 * cutoff * t;
  const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
  return 2 * cutoff * sinc * window;
}
