import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_golden.ts";
import { readNpy } from "../../lib/io/npy.ts";
import { createCqtKernel } from "../../lib/features/cqt_kernel.ts";
import { cqt, cqtFrameCount, cqtMagnitude, CqtPlan, magnitudeToDb } from "../../lib/features/cqt.ts";
import { shorter } from "../../lib/features/shorter.ts";

const CASES = ["two_tone", "noise", "lena", "chirp"] as const;
/** Cells at or below this (reference dB) are not compared: the reference itself is float64 at -150 dB. */
const FLOOR_DB = -100;
/** Bound on |ours − reference| in dB for every compared cell. */
const TOL_DB = 0.01;

const kernel = createCqtKernel();

/** max and mean |a − b| over cells where the reference is above FLOOR_DB. */
function compare(ours: Float32Array, ref: Float32Array): { max: number; mean: number; cells: number } {
  let max = 0, sum = 0, cells = 0;
  for (let i = 0; i < ref.length; i++) {
    if (ref[i]! <= FLOOR_DB) continue;
    const d = Math.abs(ours[i]! - ref[i]!);
    if (!(d <= max)) max = d; // NaN propagates into max
    sum += d;
    cells++;
  }
  return { max, mean: sum / cells, cells };
}

Deno.test("cqt() matches the reference golden vectors within 0.01 dB above -100 dB (wasm and js engines)", async (t) => {
  for (const engine of ["wasm", "js"] as const) {
    const plan = new CqtPlan(kernel, { engine });
    for (const name of CASES) {
      const x = await readNpy(GOLDEN(`cqt_${name}_input.npy`));
      const ref = await readNpy(GOLDEN(`cqt_${name}_expected.npy`));
      const got = cqt(x.data, plan);
      assertEquals([got.frames, got.bins], ref.shape, `${name}: shape`);
      assertEquals(got.frames, Math.floor(x.data.length / 640), `${name}: T = floor(N/640)`);
      const { max, mean, cells } = compare(got.data, ref.data);
      const label = `${engine} ${name}: max |Δ| ${max.toFixed(5)} dB, mean |Δ| ${mean.toExponential(2)} dB`;
      await t.step(`${label} over ${cells} cells`, () => {
        assertOk(max <= TOL_DB, `${engine} ${name}: max |Δ| ${max} dB > ${TOL_DB}`);
      });
    }
  }
});

/**
 * Worst |a − b| relative to the larger of |b| and 1e-5 of b's maximum (−100 dB): float64 FFT rounding is absolute
 * (~1e-15 of the peak), so cells far below carry relative noise that says nothing about correctness.
 */
function worstRelative(a: Float64Array, b: Float64Array): number {
  let peak = 0;
  for (const v of b) peak = Math.max(peak, v);
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-5 * peak));
  }
  return worst;
}

Deno.test("CqtPlan engines 'wasm' and 'js' agree to float64 rounding (odd/even T, L = 16384, 8192, 32768)", () => {
  const kernels = [
    kernel,
    createCqtKernel({ fmin: 64, nBins: 84 }),
    createCqtKernel({ binsPerOctave: 24, nBins: 160 }),
  ];
  for (const k of kernels) {
    for (const n of [16000 + 640 * 3, 16000 + 640 * 4 + 17]) {
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.013) * Math.sin(i * 0.00021) + 1e-4 * Math.sin(i * 2.9);
      const a = cqtMagnitude(x, new CqtPlan(k, { engine: "wasm" }));
      const b = cqtMagnitude(x, new CqtPlan(k, { engine: "js" }));
      const worst = worstRelative(a, b);
      assertOk(worst < 1e-8, `L=${k.fftLength}, n=${n}: worst relative difference ${worst}`); // 1e-8: 1e-7 dB
    }
  }
  assertThrows(() => new CqtPlan(kernel, { engine: "gpu" as "js" }), "'engine'");
});

Deno.test("cqt() then shorter(3) matches the reference shorter3 golden within 0.01 dB", async (t) => {
  for (const name of CASES) {
    const x = await readNpy(GOLDEN(`cqt_${name}_input.npy`));
    const ref = await readNpy(GOLDEN(`cqt_${name}_shorter3.npy`));
    const got = cqt(x.data, kernel);
    const s = shorter(got.data, got.frames, got.bins, 3);
    assertEquals([s.length / 96, 96], ref.shape, `${name}: shorter3 shape`);
    const { max, mean } = compare(s, ref.data);
    await t.step(`${name}: shorter3 max |Δ| ${max.toFixed(5)} dB, mean |Δ| ${mean.toExponential(2)} dB`, () => {
      assertOk(max <= TOL_DB, `${name}: max |Δ| ${max} dB`);
    });
  }
});

/** The spec's two_tone signal regenerated in float64 (the golden input file is its float32 rounding). */
function twoToneFloat64(): Float64Array {
  const y = new Float64Array(64000);
  for (let i = 0; i < y.length; i++) {
    y[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000) + 0.25 * Math.sin((2 * Math.PI * 110 * i) / 16000);
  }
  let peak = 0;
  for (const v of y) peak = Math.max(peak, Math.abs(v));
  return y.map((v) => (v / peak) * 0.999);
}

Deno.test("cqt() of the float64 two_tone signal matches the golden in every cell (down to -150 dB)", async () => {
  // The golden was computed from float64 samples; the stored float32 input alone moves -100 dB cells by ~4e-3 dB.
  const ref = await readNpy(GOLDEN("cqt_two_tone_expected.npy"));
  const { data } = cqt(twoToneFloat64(), kernel);
  let max = 0;
  for (let i = 0; i < ref.data.length; i++) max = Math.max(max, Math.abs(data[i]! - ref.data[i]!));
  assertOk(max <= 1e-3, `max |Δ| over all cells ${max} dB`);
});

Deno.test("cqt() reproduces the spec §2.1 two_tone values (frame 50 and frame 0)", () => {
  const { data } = cqt(twoToneFloat64(), kernel);
  const at = (t: number, k: number) => data[t * 96 + k]!;
  let arg = 0;
  for (let k = 1; k < 96; k++) if (at(50, k) > at(50, arg)) arg = k;
  assertEquals(arg, 45);
  const expected = [-6.054, -97.679, -0.001, -98.685, -133.859];
  [21, 33, 45, 57, 95].forEach((k, i) => assertAlmostEquals(at(50, k), expected[i]!, 2e-3, `frame 50 bin ${k}`));
  assertAlmostEquals(at(0, 21), -8.204, 2e-3);
  assertAlmostEquals(at(0, 45), -0.004, 2e-3);
  let max = -Infinity, min = Infinity;
  for (const v of data) {
    max = Math.max(max, v);
    min = Math.min(min, v);
  }
  assertEquals(max, 0);
  assertAlmostEquals(min, -150.555, 0.01);
});

Deno.test("cqtMagnitude() over frame ranges equals the whole-track magnitudes", () => {
  const n = 16000 * 2 + 123;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.05) * Math.cos(i * 0.0007) + 0.1 * Math.sin(i * 1.9);
  const plan = new CqtPlan(kernel);
  const T = cqtFrameCount(n, kernel);
  assertEquals(T, 50);
  const whole = cqtMagnitude(x, plan);
  const parts = [cqtMagnitude(x, plan, { startFrame: 0, endFrame: 17 }), cqtMagnitude(x, plan, { startFrame: 17 })];
  const joined = Array.from(parts[0]!).concat(Array.from(parts[1]!));
  assertEquals(joined.length, whole.length);
  // Frames are transformed in pairs, so a range starting at an odd frame pairs them differently: float64 rounding.
  const worst = worstRelative(Float64Array.from(joined), whole);
  assertOk(worst < 1e-8, `worst relative difference ${worst}`);
  assertThrows(() => cqtMagnitude(x, plan, { startFrame: 0, endFrame: T + 1 }), "frame range");
});

Deno.test("cqt() of a float64 and a float32 copy of float32 samples agree exactly; short input gives 0 frames", () => {
  const x32 = new Float32Array(3000).map((_, i) => Math.sin(i * 0.3));
  const a = cqt(x32, kernel), b = cqt(Float64Array.from(x32), kernel);
  assertEquals(a.frames, 4);
  assertEquals(Array.from(a.data), Array.from(b.data));
  assertEquals(cqt(new Float32Array(639), kernel).frames, 0);
});

Deno.test("magnitudeToDb() is 20·log10(C + 1e-9) re the max, max 0 dB", () => {
  const db = magnitudeToDb(Float64Array.from([1, 0.1, 0, 2]));
  assertAlmostEquals(db[3]!, 0, 1e-6);
  assertAlmostEquals(db[0]!, 20 * Math.log10((1 + 1e-9) / (2 + 1e-9)), 1e-5);
  assertAlmostEquals(db[2]!, 20 * Math.log10(1e-9 / (2 + 1e-9)), 1e-4);
  assertAlmostEquals(magnitudeToDb(Float64Array.from([1]), { reference: 10 })[0]!, -20, 1e-5);
});
