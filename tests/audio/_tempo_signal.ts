/**
 * The input of the sox tempo golden files (`tests/testdata/audio/tempo_sox_*.wav`): a G-major chord
 * with a vibrato partial and seeded noise, 0.36 s at 16 kHz. Shared by the script that made the golden
 * files and by the test, so both see the same samples.
 *
 * @module
 */
import { createPrng } from "../../lib/data/prng.ts";

/** Sampling rate of the golden files. */
export const TEMPO_GOLDEN_RATE = 16000;

/** The golden input signal (float32, deterministic). */
export function tempoGoldenInput(): Float32Array {
  const rate = TEMPO_GOLDEN_RATE;
  const prng = createPrng(77);
  const n = Math.round(0.36 * rate);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    let s = 0;
    for (const f of [196, 246.94, 293.66, 392]) s += 0.15 * Math.sin(2 * Math.PI * f * t);
    s += 0.1 * Math.sin(2 * Math.PI * 880 * t + 3 * Math.sin(2 * Math.PI * 5 * t));
    y[i] = s + 0.03 * prng.normal();
  }
  return y;
}
