/**
 * The fast CPU engine of the reference CQT: a WebAssembly module generated at run time (see `_wasm_asm.ts`) for
 * one kernel, float64 throughout, 128-bit SIMD (two f64 lanes). Hand-written because no npm FFT is both float64
 * and fast: fft.js gives ~100x real time for this CQT, this engine ~370x; the float32 WASM FFTs (pffft-wasm,
 * kissfft-wasm) miss the 0.01 dB bound at -100 dB.
 *
 * Per pair of frames (a, b), as on the GPU: z = a + i·b, one complex L-point FFT (Stockham passes: radix 4 reading
 * the signal, radix 8 while it fits, then one radix-4 or radix-2 pass; natural order in and out, no bit
 * reversal), then for every bin the two contiguous runs `U = Σ_q w_q·Z[q]` and `V = Σ_q w_q·Z[L−q]` and
 * `|C_a| = |U + conj V|/2`, `|C_b| = |U − conj V|/2`. The kernel weights are `Re(M)` (M is real, see
 * cqt_kernel.ts). It computes the same sums as the plain TypeScript path in `cqt.ts` in a different order, so the
 * two agree to float64 rounding.
 *
 * Memory (bytes, L8 = 8·L): spectrum A (re, then im) from 0, spectrum B from ~2·L8, then twiddles per pass, row
 * descriptors, weights, the 2K output values, L zeros (the missing frame b of an odd count), and the signal range
 * as f64 (grown on demand).
 *
 * @module
 */

import { encodeModule, F64, FunctionBody, I32, V128 } from "./_wasm_asm.ts";
import type { CqtKernel } from "./cqt_kernel.ts";

const PAGE = 65536;
/** Frames per signal copy into linear memory (even, see `magnitudes`). */
const FRAMES_PER_BLOCK = 4096;

/** One Stockham pass: radix, span `ns`, twiddle table offset (bytes), source and destination spectra. */
interface Pass {
  radix: 2 | 4 | 8;
  ns: number;
  tw: number;
  src: number;
  dst: number;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** Emits `dst = a op b` for v128 locals. */
function vop(f: FunctionBody, dst: number, a: number, b: number, op: "add" | "sub" | "mul"): void {
  f.get(a).get(b);
  if (op === "add") f.vadd();
  else if (op === "sub") f.vsub();
  else f.vmul();
  f.set(dst);
}

/**
 * Emits the complex multiply `(xr + i·xi)·(wr + i·wi)` into (xr, xi) in place; wr/wi loaded from `ptr + off`.
 */
function cmulTwiddle(f: FunctionBody, xr: number, xi: number, ptr: number, off: number, t: number[]): void {
  const [wr, wi, tr] = t as [number, number, number];
  f.get(ptr).vload(off).set(wr);
  f.get(ptr).vload(off + 16).set(wi);
  // tr = xr·wr − xi·wi; xi = xr·wi + xi·wr; xr = tr
  f.get(xr).get(wr).vmul().get(xi).get(wi).vmul().vsub().set(tr);
  f.get(xr).get(wi).vmul().get(xi).get(wr).vmul().vadd().set(xi);
  f.get(tr).set(xr);
}

/**
 * Radix-4 butterfly on v0..v3 (re/im local pairs, already twiddled), leaving Y0..Y3 in the same locals:
 * Y0 = t0 + t2, Y1 = t1 − i·t3, Y2 = t0 − t2, Y3 = t1 + i·t3 with t0 = v0 + v2, t1 = v0 − v2, t2 = v1 + v3,
 * t3 = v1 − v3.
 */
function butterfly4(f: FunctionBody, v: number[], t: number[]): void {
  const [v0r, v0i, v1r, v1i, v2r, v2i, v3r, v3i] = v as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [t0r, t0i, t1r, t1i, t2r, t2i, t3r, t3i] = t as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  vop(f, t0r, v0r, v2r, "add");
  vop(f, t0i, v0i, v2i, "add");
  vop(f, t1r, v0r, v2r, "sub");
  vop(f, t1i, v0i, v2i, "sub");
  vop(f, t2r, v1r, v3r, "add");
  vop(f, t2i, v1i, v3i, "add");
  vop(f, t3r, v1r, v3r, "sub");
  vop(f, t3i, v1i, v3i, "sub");
  vop(f, v0r, t0r, t2r, "add");
  vop(f, v0i, t0i, t2i, "add");
  vop(f, v2r, t0r, t2r, "sub");
  vop(f, v2i, t0i, t2i, "sub");
  vop(f, v1r, t1r, t3i, "add"); // t1 − i·t3 = (t1r + t3i, t1i − t3r)
  vop(f, v1i, t1i, t3r, "sub");
  vop(f, v3r, t1r, t3i, "sub"); // t1 + i·t3 = (t1r − t3i, t1i + t3r)
  vop(f, v3i, t1i, t3r, "add");
}

/** Emits `counter` iterations (counter > 0, known at code generation) of `body`, counting down `cnt`. */
function countedLoop(f: FunctionBody, cnt: number, count: number, body: () => void): void {
  f.i32(count).set(cnt);
  f.loop();
  body();
  f.get(cnt).i32(1).sub().tee(cnt);
  f.brIf(0);
  f.end();
}

/**
 * One radix-8 Stockham pass (span ns >= 4, SIMD over k, k+1): x_r = src[j + r·L/8]·W^(r·k), W = e^(−2πi/(8·ns));
 * a_r = x_r + x_{r+4}, b_r = (x_r − x_{r+4})·W8^r; outputs 2m = DFT4(a)_m, 2m+1 = DFT4(b)_m at
 * dst[(j/ns)·8·ns + k + s·ns].
 */
function emitRadix8Pass(
  f: FunctionBody,
  p: Pass,
  L: number,
  IM: number,
  l: { pin: number; pout: number; ptw: number; cnt: number; gcnt: number; pinG: number; poutG: number },
  regs: { a: number[]; b: number[]; tmp: number[] },
): void {
  const E = 8 * (L / 8); // bytes between the 8 inputs
  const { a, b, tmp } = regs;
  const [xr, xi, yr, yi, c0, c1, c2] = tmp as [number, number, number, number, number, number, number];
  const loadTw = (r: number, re: number, im: number) => {
    f.get(l.pin).vload(r * E).set(re);
    f.get(l.pin).vload(r * E + IM).set(im);
    if (r > 0) cmulTwiddle(f, re, im, l.ptw, (r - 1) * 32, [c0, c1, c2]);
  };
  /** Radix-4 DFT of 4 complex (re/im local pairs) into outputs 0..3 at `pout + (2m + odd)·ns`. */
  const dft4Store = (z: number[], odd: number) => {
    const [z0r, z0i, z1r, z1i, z2r, z2i, z3r, z3i] = z as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    // t0 = z0 + z2 → (xr, xi); t1 = z0 − z2 → (z0); t2 = z1 + z3 → (yr, yi); t3 = z1 − z3 → (z1)
    vop(f, xr, z0r, z2r, "add");
    vop(f, xi, z0i, z2i, "add");
    vop(f, z0r, z0r, z2r, "sub");
    vop(f, z0i, z0i, z2i, "sub");
    vop(f, yr, z1r, z3r, "add");
    vop(f, yi, z1i, z3i, "add");
    vop(f, z1r, z1r, z3r, "sub");
    vop(f, z1i, z1i, z3i, "sub");
    const at = (m: number) => 8 * (2 * m + odd) * p.ns;
    f.get(l.pout).get(xr).get(yr).vadd().vstore(at(0));
    f.get(l.pout).get(xi).get(yi).vadd().vstore(at(0) + IM);
    f.get(l.pout).get(xr).get(yr).vsub().vstore(at(2));
    f.get(l.pout).get(xi).get(yi).vsub().vstore(at(2) + IM);
    f.get(l.pout).get(z0r).get(z1i).vadd().vstore(at(1)); // t1 − i·t3
    f.get(l.pout).get(z0i).get(z1r).vsub().vstore(at(1) + IM);
    f.get(l.pout).get(z0r).get(z1i).vsub().vstore(at(3)); // t1 + i·t3
    f.get(l.pout).get(z0i).get(z1r).vadd().vstore(at(3) + IM);
  };
  f.i32(p.src).set(l.pinG);
  f.i32(p.dst).set(l.poutG);
  countedLoop(f, l.gcnt, L / (8 * p.ns), () => {
    f.get(l.pinG).set(l.pin);
    f.get(l.poutG).set(l.pout);
    f.i32(p.tw).set(l.ptw);
    countedLoop(f, l.cnt, p.ns / 2, () => {
      for (let r = 0; r < 4; r++) {
        const [ar, ai, br, bi] = [a[2 * r]!, a[2 * r + 1]!, b[2 * r]!, b[2 * r + 1]!];
        loadTw(r, ar, ai);
        loadTw(r + 4, xr, xi);
        vop(f, br, ar, xr, "sub");
        vop(f, bi, ai, xi, "sub");
        vop(f, ar, ar, xr, "add");
        vop(f, ai, ai, xi, "add");
      }
      const s = Math.SQRT1_2;
      const [, , b1r, b1i, b2r, b2i, b3r, b3i] = b as [number, number, number, number, number, number, number, number];
      // b1·W8 = ((b1r + b1i)/√2, (b1i − b1r)/√2)
      f.get(b1r).get(b1i).vadd().vconstF64(s, s).vmul().set(xr);
      f.get(b1i).get(b1r).vsub().vconstF64(s, s).vmul().set(b1i);
      f.get(xr).set(b1r);
      // b2·W8² = b2·(−i) = (b2i, −b2r)
      f.get(b2i).set(xr);
      f.vconstF64(0, 0).get(b2r).vsub().set(b2i);
      f.get(xr).set(b2r);
      // b3·W8³ = ((b3i − b3r)/√2, (−b3r − b3i)/√2)
      f.get(b3i).get(b3r).vsub().vconstF64(s, s).vmul().set(xr);
      f.vconstF64(0, 0).get(b3r).vsub().get(b3i).vsub().vconstF64(s, s).vmul().set(b3i);
      f.get(xr).set(b3r);
      dft4Store(a, 0);
      dft4Store(b, 1);
      f.get(l.pin).i32(16).add().set(l.pin);
      f.get(l.pout).i32(16).add().set(l.pout);
      f.get(l.ptw).i32(7 * 32).add().set(l.ptw);
    });
    f.get(l.pinG).i32(8 * p.ns).add().set(l.pinG);
    f.get(l.poutG).i32(64 * p.ns).add().set(l.poutG);
  });
}

/** Builds the module for `kernel` and returns its bytes and memory layout. */
function generate(kernel: CqtKernel) {
  const L = kernel.fftLength, K = kernel.nBins;
  const L8 = 8 * L;
  // im arrays follow the re arrays; the small pads keep the four arrays off the same cache sets (~4% faster).
  const IM = L8 + 64;
  const SPEC = [0, 2 * IM + 128];
  const Q = L / 4;
  // ---- passes and twiddle tables ----
  const passes: Pass[] = [];
  let ns = 1, cur = 0, twOff = align16(SPEC[1]! + 2 * IM);
  const twiddles: { offset: number; values: Float64Array }[] = [];
  // Radix 4 first (it reads the signal), then radix 8 while it fits, then one radix-4 or radix-2 pass for the
  // remaining factor (L / ns < 8).
  const addPass = (radix: 2 | 4 | 8) => {
    const p: Pass = { radix, ns, tw: twOff, src: SPEC[cur]!, dst: SPEC[1 - cur]! };
    if (ns > 1) {
      // Per pair of k: for r = 1..radix−1, [cos θ(k), cos θ(k+1), sin θ(k), sin θ(k+1)], θ(k) = −2π·r·k/(radix·ns).
      const values = new Float64Array((ns / 2) * (radix - 1) * 4);
      for (let k = 0; k < ns; k += 2) {
        for (let r = 1; r < radix; r++) {
          for (let lane = 0; lane < 2; lane++) {
            const a = (-2 * Math.PI * r * (k + lane)) / (radix * ns);
            const o = (k / 2) * (radix - 1) * 4 + (r - 1) * 4 + lane;
            values[o] = Math.cos(a);
            values[o + 2] = Math.sin(a);
          }
        }
      }
      twiddles.push({ offset: twOff, values });
      twOff += values.byteLength;
    }
    passes.push(p);
    cur = 1 - cur;
    ns *= radix;
  };
  addPass(4);
  while (ns * 8 <= L) addPass(8);
  if (ns * 4 <= L) addPass(4);
  if (ns * 2 <= L) addPass(2);
  const final = SPEC[cur]!;
  // ---- rows and weights ----
  const ROWS = align16(twOff);
  const WEIGHTS = align16(ROWS + 16 * K);
  const rows = new Int32Array(4 * K);
  const weights = new Float64Array(kernel.nnz);
  let w = 0;
  for (let k = 0; k < K; k++) {
    const a = kernel.rowOffsets[k]!, b = kernel.rowOffsets[k + 1]!, n = b - a;
    const q0 = n > 0 ? kernel.columns[a]! : 1;
    for (let i = a + 1; i < b; i++) {
      if (kernel.columns[i] !== kernel.columns[i - 1]! + 1) {
        throw new RangeError(`CqtWasmEngine: row ${k} of the kernel is not a contiguous run of columns`);
      }
    }
    if (n > 0 && q0 < 1) throw new RangeError(`CqtWasmEngine: row ${k} uses column 0 (DC), which is not supported`);
    rows[4 * k] = final + 8 * q0;
    rows[4 * k + 1] = n;
    rows[4 * k + 2] = WEIGHTS + 8 * w;
    rows[4 * k + 3] = final + 8 * (L - q0) - 24; // V walks down from Z[L − q0] (pointer kept 24 bytes below)
    for (let i = a; i < b; i++) weights[w++] = kernel.re[i]!;
  }
  const OUT = align16(WEIGHTS + weights.byteLength);
  const ZEROS = align16(OUT + 16 * K);
  const SIG = align16(ZEROS + L8);

  // ---- code: pair(baseA, baseB, outA, outB) ----
  const f = new FunctionBody([I32, I32, I32, I32]);
  const baseA = 0, baseB = 1, outA = 2, outB = 3;
  const pin = f.local(I32), pout = f.local(I32), ptw = f.local(I32), cnt = f.local(I32), gcnt = f.local(I32);
  const pinG = f.local(I32), poutG = f.local(I32);
  const v = Array.from({ length: 8 }, () => f.local(V128));
  const t = Array.from({ length: 8 }, () => f.local(V128));
  const v8 = { a: v, b: t, tmp: Array.from({ length: 8 }, () => f.local(V128)) };
  const [v0r, v0i, v1r, v1i, v2r, v2i, v3r, v3i] = v as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];

  // Pass 0: radix 4, span 1, reads z = a + i·b from the signal; stores transposed (outputs 4j + r).
  {
    const p = passes[0]!;
    f.get(baseA).set(pin);
    f.get(baseB).set(ptw); // ptw doubles as the b pointer here
    f.i32(p.dst).set(pout);
    countedLoop(f, cnt, Q / 2, () => {
      for (let r = 0; r < 4; r++) {
        f.get(pin).vload(8 * r * Q).set(v[2 * r]!);
        f.get(ptw).vload(8 * r * Q).set(v[2 * r + 1]!);
      }
      butterfly4(f, v, t);
      for (const [part, off] of [[0, 0], [1, IM]] as const) {
        const y = (r: number) => v[2 * r + part]!;
        f.get(pout).get(y(0)).get(y(1)).shuffleF64(0, 2).vstore(off);
        f.get(pout).get(y(2)).get(y(3)).shuffleF64(0, 2).vstore(off + 16);
        f.get(pout).get(y(0)).get(y(1)).shuffleF64(1, 3).vstore(off + 32);
        f.get(pout).get(y(2)).get(y(3)).shuffleF64(1, 3).vstore(off + 48);
      }
      f.get(pin).i32(16).add().set(pin);
      f.get(ptw).i32(16).add().set(ptw);
      f.get(pout).i32(64).add().set(pout);
    });
  }
  // Radix-4 passes with span ns >= 4: groups g, k in steps of 2 (SIMD over k, k+1).
  for (const p of passes.slice(1)) {
    if (p.radix === 8) {
      emitRadix8Pass(f, p, L, IM, { pin, pout, ptw, cnt, gcnt, pinG, poutG }, v8);
    } else if (p.radix === 4) {
      f.i32(p.src).set(pinG);
      f.i32(p.dst).set(poutG);
      countedLoop(f, gcnt, L / (4 * p.ns), () => {
        f.get(pinG).set(pin);
        f.get(poutG).set(pout);
        f.i32(p.tw).set(ptw);
        countedLoop(f, cnt, p.ns / 2, () => {
          // Ordered to keep ~12 v128 values live (x64 has 16 vector registers): t0/t1 from inputs 0 and 2,
          // then t2/t3 from inputs 1 and 3, then the four outputs.
          const load = (r: number, re: number, im: number) => {
            f.get(pin).vload(8 * r * Q).set(re);
            f.get(pin).vload(8 * r * Q + IM).set(im);
          };
          const [t0r, t0i, t1r, t1i, t2r, t2i, t3r, t3i] = t as [
            number,
            number,
            number,
            number,
            number,
            number,
            number,
            number,
          ];
          load(0, v0r, v0i);
          load(2, v2r, v2i);
          cmulTwiddle(f, v2r, v2i, ptw, 32, [v1r, v1i, v3r]);
          vop(f, t0r, v0r, v2r, "add");
          vop(f, t0i, v0i, v2i, "add");
          vop(f, t1r, v0r, v2r, "sub");
          vop(f, t1i, v0i, v2i, "sub");
          load(1, v1r, v1i);
          cmulTwiddle(f, v1r, v1i, ptw, 0, [v0r, v0i, v2r]);
          load(3, v3r, v3i);
          cmulTwiddle(f, v3r, v3i, ptw, 64, [v0r, v0i, v2r]);
          vop(f, t2r, v1r, v3r, "add");
          vop(f, t2i, v1i, v3i, "add");
          vop(f, t3r, v1r, v3r, "sub");
          vop(f, t3i, v1i, v3i, "sub");
          f.get(pout).get(t0r).get(t2r).vadd().vstore(0);
          f.get(pout).get(t0i).get(t2i).vadd().vstore(IM);
          f.get(pout).get(t0r).get(t2r).vsub().vstore(16 * p.ns);
          f.get(pout).get(t0i).get(t2i).vsub().vstore(16 * p.ns + IM);
          f.get(pout).get(t1r).get(t3i).vadd().vstore(8 * p.ns); // t1 − i·t3
          f.get(pout).get(t1i).get(t3r).vsub().vstore(8 * p.ns + IM);
          f.get(pout).get(t1r).get(t3i).vsub().vstore(24 * p.ns); // t1 + i·t3
          f.get(pout).get(t1i).get(t3r).vadd().vstore(24 * p.ns + IM);
          f.get(pin).i32(16).add().set(pin);
          f.get(pout).i32(16).add().set(pout);
          f.get(ptw).i32(96).add().set(ptw);
        });
        f.get(pinG).i32(8 * p.ns).add().set(pinG);
        f.get(poutG).i32(32 * p.ns).add().set(poutG);
      });
    } else {
      // Radix 2, span ns = L/2: out[j] = v0 + w^j·v1, out[j + L/2] = v0 − w^j·v1.
      f.i32(p.src).set(pin);
      f.i32(p.dst).set(pout);
      f.i32(p.tw).set(ptw);
      countedLoop(f, cnt, p.ns / 2, () => {
        f.get(pin).vload(0).set(v0r);
        f.get(pin).vload(IM).set(v0i);
        f.get(pin).vload(8 * p.ns).set(v1r);
        f.get(pin).vload(8 * p.ns + IM).set(v1i);
        cmulTwiddle(f, v1r, v1i, ptw, 0, t);
        f.get(pout).get(v0r).get(v1r).vadd().vstore(0);
        f.get(pout).get(v0i).get(v1i).vadd().vstore(IM);
        f.get(pout).get(v0r).get(v1r).vsub().vstore(8 * p.ns);
        f.get(pout).get(v0i).get(v1i).vsub().vstore(8 * p.ns + IM);
        f.get(pin).i32(16).add().set(pin);
        f.get(pout).i32(16).add().set(pout);
        f.get(ptw).i32(32).add().set(ptw);
      });
    }
  }
  // Product: per row, U over [q0, q0+n) and V over [L−q_last, ...), two lanes at a time plus a one-lane tail.
  {
    const row = f.local(I32), n = f.local(I32), up = f.local(I32), wp = f.local(I32), vp = f.local(I32);
    const [ur, ui, vr, vi, wv] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
    const [ur1, ui1, vr1, vi1] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
    const [sur, sui, svr, svi, xr, xi] = [
      f.local(F64),
      f.local(F64),
      f.local(F64),
      f.local(F64),
      f.local(F64),
      f.local(F64),
    ];
    /**
     * One v128 step at byte offset `off` of the run: U += w·Z[q, q+1] and V += w·Z[L−q, L−q−1]. The V operand
     * is the v128 at (L−q−1, L−q) with its lanes swapped, so both sums share one weight load. `half`: only
     * lane 0 (the last, odd entry); then V reads the single value Z[L−q] (into lane 0) and lane 1 is zero.
     */
    const mac = (au: [number, number], av: [number, number], off: number, voff: number, half: boolean) => {
      if (half) f.get(wp).vload64Zero(off).set(wv);
      else f.get(wp).vload(off).set(wv);
      for (const [acc, im] of [[au[0], 0], [au[1], IM]] as const) {
        f.get(acc).get(wv).get(up);
        if (half) f.vload64Zero(off + im);
        else f.vload(off + im);
        f.vmul().vadd().set(acc);
      }
      for (const [acc, im] of [[av[0], 0], [av[1], IM]] as const) {
        f.get(acc).get(wv).get(vp);
        if (half) f.vload64Zero(voff + im);
        else f.vload(voff + im).get(wv).shuffleF64(1, 0); // swap lanes: (Z[L−q], Z[L−q−1])
        f.vmul().vadd().set(acc);
      }
    };
    const advance = (bytes: number) => {
      f.get(up).i32(bytes).add().set(up);
      f.get(vp).i32(bytes).sub().set(vp);
      f.get(wp).i32(bytes).add().set(wp);
      f.get(cnt).i32(bytes / 8).sub().set(cnt);
    };
    // Σ over the row's n entries: 4 per iteration into two independent accumulator sets (breaks the add
    // latency chain), then 2, then 1. `vp` walks down and points 24 bytes below Z[L − q] for the current q, so
    // every offset is non-negative: (L−q−1, L−q) at +16, (L−q−3, L−q−2) at +0, Z[L−q] alone at +24.
    const run = () => {
      for (const acc of [ur, ui, vr, vi, ur1, ui1, vr1, vi1]) f.vconstF64(0, 0).set(acc);
      f.get(n).set(cnt);
      f.block().loop();
      f.get(cnt).i32(4).ltS().brIf(1);
      mac([ur, ui], [vr, vi], 0, 16, false);
      mac([ur1, ui1], [vr1, vi1], 16, 0, false);
      advance(32);
      f.br(0).end().end();
      f.block();
      f.get(cnt).i32(2).ltS().brIf(0);
      mac([ur1, ui1], [vr1, vi1], 0, 16, false);
      advance(16);
      f.end();
      f.block();
      f.get(cnt).eqz().brIf(0);
      mac([ur, ui], [vr, vi], 0, 24, true);
      f.end();
      for (const [acc, acc1] of [[ur, ur1], [ui, ui1], [vr, vr1], [vi, vi1]] as const) {
        f.get(acc).get(acc1).vadd().set(acc);
      }
    };
    const hsum = (acc: number, dst: number) => f.get(acc).extract(0).get(acc).extract(1).fadd().set(dst);
    f.i32(ROWS).set(row);
    f.get(outA).set(pinG);
    f.get(outB).set(poutG);
    countedLoop(f, gcnt, K, () => {
      f.get(row).i32Load(0).set(up);
      f.get(row).i32Load(4).set(n);
      f.get(row).i32Load(8).set(wp);
      f.get(row).i32Load(12).set(vp);
      run();
      hsum(ur, sur);
      hsum(ui, sui);
      hsum(vr, svr);
      hsum(vi, svi);
      // |A| = |U + conj V| / 2, |B| = |U − conj V| / 2
      f.get(sur).get(svr).fadd().set(xr);
      f.get(sui).get(svi).fsub().set(xi);
      f.get(pinG).get(xr).get(xr).fmul().get(xi).get(xi).fmul().fadd().fsqrt().f64(0.5).fmul().fstore(0);
      f.get(sur).get(svr).fsub().set(xr);
      f.get(sui).get(svi).fadd().set(xi);
      f.get(poutG).get(xr).get(xr).fmul().get(xi).get(xi).fmul().fadd().fsqrt().f64(0.5).fmul().fstore(0);
      f.get(row).i32(16).add().set(row);
      f.get(pinG).i32(8).add().set(pinG);
      f.get(poutG).i32(8).add().set(poutG);
    });
  }
  const bytes = encodeModule(Math.ceil(SIG / PAGE) + 1, [{ name: "pair", params: [I32, I32, I32, I32], body: f }]);
  return { bytes, twiddles, rows, ROWS, weights, WEIGHTS, OUT, ZEROS, SIG };
}

/**
 * The generated-WebAssembly CQT engine for one kernel. Holds its own memory; not shareable across threads
 * (build one per worker).
 */
export class CqtWasmEngine {
  /** The kernel. */
  readonly kernel: CqtKernel;
  readonly #memory: WebAssembly.Memory;
  readonly #pair: (baseA: number, baseB: number, outA: number, outB: number) => void;
  readonly #layout: { OUT: number; ZEROS: number; SIG: number };

  /**
   * @param kernel a kernel whose rows are contiguous runs of columns >= 1 (true for `createCqtKernel`)
   * @throws {RangeError} for a kernel that does not fit that shape
   */
  constructor(kernel: CqtKernel) {
    if (kernel.fftLength < 16) throw new RangeError(`CqtWasmEngine: fftLength ${kernel.fftLength} < 16`);
    this.kernel = kernel;
    const g = generate(kernel);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(g.bytes), {});
    this.#memory = instance.exports.memory as WebAssembly.Memory;
    this.#pair = instance.exports.pair as (a: number, b: number, c: number, d: number) => void;
    this.#layout = { OUT: g.OUT, ZEROS: g.ZEROS, SIG: g.SIG };
    const buf = this.#memory.buffer;
    for (const tw of g.twiddles) new Float64Array(buf, tw.offset, tw.values.length).set(tw.values);
    new Int32Array(buf, g.ROWS, g.rows.length).set(g.rows);
    new Float64Array(buf, g.WEIGHTS, g.weights.length).set(g.weights);
  }

  /**
   * `|C[k, j]|` for frames `[startFrame, endFrame)` into `out[(j − startFrame)·K + k]` (reference framing).
   *
   * @param samples the whole signal
   * @param startFrame first frame
   * @param endFrame one past the last frame (> startFrame)
   * @param out destination
   */
  magnitudes(samples: Float32Array | Float64Array, startFrame: number, endFrame: number, out: Float64Array): void {
    // Blocks of an even number of frames keep the pairing (and so the rounding) of one call over the whole range
    // while bounding the signal copy in linear memory (~21 MB per block with the defaults).
    for (let b0 = startFrame; b0 < endFrame; b0 += FRAMES_PER_BLOCK) {
      const b1 = Math.min(endFrame, b0 + FRAMES_PER_BLOCK);
      this.#block(samples, b0, b1, out.subarray((b0 - startFrame) * this.kernel.nBins));
    }
  }

  #block(samples: Float32Array | Float64Array, startFrame: number, endFrame: number, out: Float64Array): void {
    const { fftLength: L, hopSamples: H, nBins: K } = this.kernel;
    const padLeft = Math.ceil((L - H) / 2);
    const { OUT, ZEROS, SIG } = this.#layout;
    // Samples needed: [startFrame·H − padLeft, (endFrame − 1)·H − padLeft + L), zero outside the signal.
    const r0 = startFrame * H - padLeft;
    const r1 = (endFrame - 1) * H - padLeft + L;
    const need = SIG + 8 * (r1 - r0);
    if (need > this.#memory.buffer.byteLength) {
      this.#memory.grow(Math.ceil((need - this.#memory.buffer.byteLength) / PAGE));
    }
    const buf = this.#memory.buffer;
    const sig = new Float64Array(buf, SIG, r1 - r0);
    const from = Math.max(0, r0), to = Math.min(samples.length, r1);
    sig.fill(0);
    if (to > from) sig.set(samples.subarray(from, to), from - r0);
    const res = new Float64Array(buf, OUT, 2 * K);
    for (let j = startFrame; j < endFrame; j += 2) {
      const a = SIG + 8 * (j * H - padLeft - r0);
      const hasB = j + 1 < endFrame;
      this.#pair(a, hasB ? a + 8 * H : ZEROS, OUT, OUT + 8 * K);
      const o = (j - startFrame) * K;
      out.set(res.subarray(0, K), o);
      if (hasB) out.set(res.subarray(K, 2 * K), o + K);
    }
  }
}
