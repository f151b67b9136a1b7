import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_golden.ts";
import { readNpy, readNpyFloat64 } from "../../lib/io/npy.ts";
import { shorter } from "../../lib/features/shorter.ts";

Deno.test("shorter() averages consecutive frames and drops the incomplete tail", () => {
  // (T=5, F=2): rows [0,1], [2,3], [4,5], [6,7], [8,9]
  const feat = Float32Array.from({ length: 10 }, (_, i) => i);
  assertEquals(Array.from(shorter(feat, 5, 2, 2)), [1, 2, 5, 6]);
  assertEquals(Array.from(shorter(feat, 5, 2, 3)), [2, 3]);
  assertEquals(shorter(feat, 5, 2, 6).length, 0);
});

Deno.test("shorter() with meanSize 1 returns an independent copy", () => {
  const feat = Float32Array.from([1, 2, 3, 4]);
  const out = shorter(feat, 2, 2, 1);
  assertEquals(Array.from(out), [1, 2, 3, 4]);
  out[0] = 9;
  assertEquals(feat[0], 1);
});

Deno.test("shorter() rejects bad sizes", () => {
  assertThrows(() => shorter(new Float32Array(4), 2, 2, 0), "'meanSize' must be a positive integer");
  assertThrows(() => shorter(new Float32Array(3), 2, 2, 1), "holds 3 values");
});

Deno.test("shorter(expected, 3) reproduces the reference shorter3 golden", async () => {
  for (const name of ["two_tone", "noise", "lena", "chirp"]) {
    const a = await readNpyFloat64(GOLDEN(`cqt_${name}_expected.npy`));
    const ref = await readNpy(GOLDEN(`cqt_${name}_shorter3.npy`));
    const [T, F] = a.shape as [number, number];
    const s = shorter(a.data, T, F, 3);
    assertEquals([s.length / F, F], ref.shape, name);
    let max = 0;
    for (let i = 0; i < s.length; i++) max = Math.max(max, Math.abs(s[i]! - ref.data[i]!));
    // The expected CQT is stored as float32, so the means differ from the float64 ones by float32 rounding.
    assertOk(max <= 1e-4, `${name}: max |Δ| ${max}`);
  }
  const a = await readNpy(GOLDEN("cqt_two_tone_expected.npy"));
  const s = shorter(a.data, 100, 96, 3);
  const mean = (a.data[48 * 96 + 45]! + a.data[49 * 96 + 45]! + a.data[50 * 96 + 45]!) / 3;
  assertAlmostEquals(s[16 * 96 + 45]!, mean, 1e-5); // spec §2.1: S[16,45] = mean(A[48:51,45])
});
