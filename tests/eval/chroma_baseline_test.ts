import { assertAlmostEquals, assertEquals } from "../_assert.ts";
import { pitchClassProfile, profileDistance, profileDistanceMatrix } from "../../lib/eval/chroma_baseline.ts";

Deno.test("profileDistance() is zero for a transposed copy and positive otherwise", () => {
  const frames = 2, bins = 24;
  const a = new Float32Array(frames * bins).fill(-100);
  const b = new Float32Array(frames * bins).fill(-100);
  for (let t = 0; t < frames; t++) {
    a[t * bins + 0] = 0; // C
    a[t * bins + 4] = -6; // E
    b[t * bins + 3] = 0; // the same, 3 semitones up
    b[t * bins + 7] = -6;
  }
  const pa = pitchClassProfile(a, frames, bins), pb = pitchClassProfile(b, frames, bins);
  assertAlmostEquals(profileDistance(pa, pb), 0, 1e-12);
  const c = new Float32Array(frames * bins).fill(-100);
  for (let t = 0; t < frames; t++) c[t * bins + 0] = c[t * bins + 1] = 0;
  assertEquals(profileDistance(pa, pitchClassProfile(c, frames, bins)) > 0.1, true);
  assertEquals(profileDistanceMatrix([pa, pb])[0], -1);
});
