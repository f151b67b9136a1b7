import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { createCqtKernel, roundHalfToEven } from "../../lib/features/cqt_kernel.ts";

const rowNnz = (k: ReturnType<typeof createCqtKernel>, b: number) => k.rowOffsets[b + 1]! - k.rowOffsets[b]!;

Deno.test("createCqtKernel() builds the PyCqt kernel: L 16384, 96 rows, nnz 30823 (spec §2.1)", () => {
  const k = createCqtKernel();
  assertEquals(k.fftLength, 16384);
  assertEquals(k.nBins, 96);
  assertEquals(k.hopSamples, 640);
  assertEquals(k.nnz, 30823);
  assertEquals(k.rowOffsets[96], 30823);
  assertAlmostEquals(k.q, 16.817153745105756, 1e-12);
  assertEquals([0, 24, 48, 72, 95].map((b) => rowNnz(k, b)), [7, 29, 114, 456, 1788]);
});

Deno.test("createCqtKernel() window lengths are odd 2·round(Q·sr/f/2)+1 with half-to-even rounding", () => {
  const k = createCqtKernel();
  assertEquals(Array.from(k.windowLengths.subarray(0, 3)), [8409, 7937, 7493]);
  assertEquals(Array.from(k.windowLengths.subarray(93)), [41, 37, 35]);
  assertOk(k.windowLengths.every((n) => n % 2 === 1));
});

Deno.test("createCqtKernel() rows are contiguous, sorted, real up to rounding, and peak at Q·L/N_k", () => {
  const k = createCqtKernel();
  let maxIm = 0, maxRe = 0;
  for (let i = 0; i < k.nnz; i++) {
    maxIm = Math.max(maxIm, Math.abs(k.im[i]!));
    maxRe = Math.max(maxRe, Math.abs(k.re[i]!));
  }
  assertOk(maxIm < 1e-12 * maxRe, `imaginary residue ${maxIm} vs ${maxRe}`);
  for (let b = 0; b < k.nBins; b++) {
    const a = k.rowOffsets[b]!, e = k.rowOffsets[b + 1]!;
    let peak = a;
    for (let i = a; i < e; i++) {
      if (i > a) assertEquals(k.columns[i], k.columns[i - 1]! + 1, `row ${b} contiguous`);
      if (Math.abs(k.re[i]!) > Math.abs(k.re[peak]!)) peak = i;
    }
    const expected = (k.q * 16384) / k.windowLengths[b]!; // the kernel's frequency Q/N_k, in FFT bins
    assertOk(Math.abs(k.columns[peak]! - expected) <= 1, `row ${b}: peak at ${k.columns[peak]}, Q·L/N_k = ${expected}`);
    // Peak of conj(S)/L is ~ (Σ w / N) / L = 0.54 / L.
    assertAlmostEquals(Math.abs(k.re[peak]!) * 16384, 0.54, 0.02);
  }
});

Deno.test("createCqtKernel() honours fmin, nBins and binsPerOctave", () => {
  const k = createCqtKernel({ fmin: 64, nBins: 84, binsPerOctave: 12 });
  assertEquals(k.nBins, 84);
  assertEquals(k.fftLength, 8192); // 2^ceil(log2(Q·16000/64)) = 2^ceil(log2(4204.3))
  assertEquals(k.windowLengths[0], 4205);
  const k24 = createCqtKernel({ nBins: 48, binsPerOctave: 24 });
  assertEquals(k24.nBins, 48);
  assertEquals(k24.fftLength, 32768); // Q = 34.1 for 24 bins per octave
  assertOk(k24.nnz > 0);
});

Deno.test("createCqtKernel() rejects bad options with RangeError", () => {
  assertThrows(() => createCqtKernel({ nBins: 0 }), "'nBins' must be a positive integer");
  assertThrows(() => createCqtKernel({ fmin: -1 }), "'fmin' must be a positive number");
  assertThrows(() => createCqtKernel({ nBins: 120 }), "below Nyquist");
  assertThrows(() => createCqtKernel({ binsPerOctave: 1.5 }), "'binsPerOctave'");
});

Deno.test("roundHalfToEven() matches Python 3 round()", () => {
  assertEquals([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4999, 2.5001, 7].map(roundHalfToEven), [0, 2, 2, 4, 0, -2, 2, 3, 7]);
});
