/**
 * A model-free baseline on CQT features: each track becomes a 12-bin pitch-class profile (the mean
 * over time of its linear CQT magnitude folded by octave), and two tracks' distance is the smallest
 * cosine distance over the 12 transpositions. Weak by design; it shows what the learned model must beat.
 *
 * @module
 */

/** The 12-bin pitch-class profile of a `(T, bins)` dB feature (unit length). */
export function pitchClassProfile(feat: Float32Array, frames: number, bins: number, binsPerOctave = 12): Float64Array {
  const p = new Float64Array(binsPerOctave);
  for (let t = 0; t < frames; t++) {
    for (let b = 0; b < bins; b++) p[b % binsPerOctave]! += 10 ** (feat[t * bins + b]! / 20);
  }
  let n = 0;
  for (const v of p) n += v * v;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < p.length; i++) p[i]! /= n;
  return p;
}

/** Transposition-invariant cosine distance between two unit profiles. */
export function profileDistance(a: Float64Array, b: Float64Array): number {
  const m = a.length;
  let best = Infinity;
  for (let s = 0; s < m; s++) {
    let dot = 0;
    for (let i = 0; i < m; i++) dot += a[i]! * b[(i + s) % m]!;
    best = Math.min(best, 1 - dot);
  }
  return Math.max(0, best);
}

/** The full distance matrix of a set of profiles, diagonal set to -1 (excluded, as the reference). */
export function profileDistanceMatrix(profiles: Float64Array[]): Float64Array {
  const n = profiles.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) d[i * n + j] = i === j ? -1 : profileDistance(profiles[i]!, profiles[j]!);
  }
  return d;
}
