/**
 * A valid 3x3 stride-2 convolution (the subsampling's second conv, Cin = Cout = 128) and its gradients in ~36% fewer
 * multiplies, for tfjs-wasm: XNNPACK runs the direct form at ~14 GFLOP/s, and it was ~45% of an embedding step.
 *
 * The stride-2 conv is the sum of four stride-1 convs over the input's phase planes (even/odd rows x even/odd
 * columns): taps {0,2}x{0,2} form a 2x2 kernel on the (even, even) plane, {0,2}x{1} a 2x1 kernel on (even, odd),
 * {1}x{0,2} a 1x2 kernel on (odd, even) and {1}x{1} a 1x1 kernel on (odd, odd). Each is computed with Winograd's
 * F(3x3, 2x2) (points 0, 1, -1, ∞): an output tile of 3x3 pixels takes 4x4 products per plane, where a 1-tap axis is
 * a 2-tap one with a zero tap, whose fourth product vanishes. The products at one of the 16 transform positions share
 * their output transform, so the planes' terms are one product there, with the planes concatenated along K:
 * `M_p = V_p · U_p`, V_p (tiles, K_p), U_p (K_p, Cout), K_p = Cin x (4 planes at 9 positions, 2 at 6, 1 at one).
 * That is 49 products per 3x3 tile against 81, in 16 large matMuls (~4.8 of the direct 7.6 GFLOP at B = 4, T = 1125):
 * 374 against 518 ms for tf.conv2d on the dev machine, the transforms included. The gradients go through the
 * transposed transforms ({@linkcode winogradConv2dBackward}): 0.97 s against ~1.5 s for per-tap products.
 *
 * One axis (data d0..d3, filter g0, g1, outputs y0..y2), with y_i = g0·d_i + g1·d_{i+1}:
 * - data: `v = [d0 − d2, d1 + d2, d2 − d1, d3 − d1]`
 * - filter: `u = [g0, (g0 + g1)/2, (g0 − g1)/2, g1]`
 * - output from m = u ⊙ v: `y = [m0 + m1 + m2, m1 − m2, m1 + m2 + m3]`
 *
 * In 2-D each transform is applied along rows, then along columns. Pure functions over row-major arrays; the wasm
 * kernels that run them on tensors are registered by `registerWasmKernels` (`_wasm_kernels.ts`). Tests:
 * `tests/model/winograd_test.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { simdTransforms } from "./_wasm_simd.ts";
import { heapAlloc, type WasmBackendLike, wasmKernel } from "./_wasm_kernels.ts";

/** Planes contributing at transform position (r, c) of the 4x4 grid: (e,e) always, (e,o) if c < 3, (o,e) if r < 3, (o,o) if both. */
export function planesAt(r: number, c: number): number {
  return 1 + (c < 3 ? 1 : 0) + (r < 3 ? 1 : 0) + (r < 3 && c < 3 ? 1 : 0);
}

/** Shapes of the Winograd form of a valid 3x3 stride-2 conv on x (B,H,W,C). */
export interface WinogradShape {
  /** batch */
  b: number;
  /** input height */
  h: number;
  /** input width */
  w: number;
  /** input channels */
  cin: number;
  /** output height ⌊(H−3)/2⌋+1 */
  ho: number;
  /** output width ⌊(W−3)/2⌋+1 */
  wo: number;
  /** tile rows ⌈ho/3⌉ */
  th: number;
  /** tile columns ⌈wo/3⌉ */
  tw: number;
  /** tiles B·th·tw: the rows of each V_p and M_p */
  tiles: number;
}

/**
 * The Winograd shapes for x (B,H,W,Cin).
 *
 * @throws {RangeError} when H or W is below 3
 */
export function winogradShape(b: number, h: number, w: number, cin: number): WinogradShape {
  if (h < 3 || w < 3) throw new RangeError(`3x3 conv needs at least 3x3 input, got ${h}x${w}`);
  const ho = Math.floor((h - 3) / 2) + 1, wo = Math.floor((w - 3) / 2) + 1;
  const th = Math.ceil(ho / 3), tw = Math.ceil(wo / 3);
  return { b, h, w, cin, ho, wo, th, tw, tiles: b * th * tw };
}

/** Calls `body` for each tile in order (batch, tile row, tile column) with its row n in the V_p and M_p. */
function forEachTile(s: WinogradShape, body: (bi: number, ti: number, tj: number, n: number) => void): void {
  let n = 0;
  for (let bi = 0; bi < s.b; bi++) {
    for (let ti = 0; ti < s.th; ti++) {
      for (let tj = 0; tj < s.tw; tj++) body(bi, ti, tj, n++);
    }
  }
}

/**
 * Where transformed row rp of tile n sits in the V_p (rp 0..3: from the even input rows, 4..6: from the odd ones):
 * its blocks at positions (r, 0..3) for the even columns, then at (r, 0..2) for the odd ones, as the positions `p`
 * and the offsets `at` in units of `unit` per channel block (C elements, or 4·C bytes). A position's blocks are in
 * the order (e,e), (e,o), (o,e), (o,o), each present or not ({@linkcode planesAt}).
 */
function vRow(n: number, rp: number, unit: number): { p: number[]; at: number[] } {
  const odd = rp >= 4, r = odd ? rp - 4 : rp;
  const p = [0, 1, 2, 3, 0, 1, 2].map((c) => r * 4 + c);
  // Slot of the block: (e,e) 0, (e,o) 1, (o,e) 2 (1 at column position 3, where (e,o) is absent), (o,o) 3.
  const slot = (i: number) => (i < 4 ? (odd ? (i < 3 ? 2 : 1) : 0) : (odd ? 3 : 1));
  const at = p.map((q, i) => (n * planesAt(q >> 2, q & 3) + slot(i)) * unit);
  return { p, at };
}

/**
 * Data transform: x (B,H,W,C) row-major -> V_p (tiles, planesAt(p)·C) for the 16 positions p = 4r + c, the
 * plane blocks in the order (e,e), (e,o), (o,e), (o,o). Tile (i, j) reads input rows 6i..6i+6 and columns
 * 6j..6j+6; pixels past the input's edge count as zeros.
 *
 * @param x the input
 * @param s its shapes
 * @param v the 16 destinations
 */
export function winogradInput(x: Float32Array, s: WinogradShape, v: Float32Array[]): void {
  const { h, w, cin: c } = s;
  const zeros = new Float32Array(c);
  // Row pass results, per column (7) of the tile: even rows 0,2,4,6 -> 4 values, odd rows 1,3,5 -> 3 values.
  const re = new Float32Array(4 * 7 * c); // [pos][col][ch]
  const ro = new Float32Array(3 * 7 * c);
  const src: Float32Array[] = new Array(7);
  const base = new Int32Array(7);
  forEachTile(s, (bi, ti, tj, n) => {
    // Row pass, column by column.
    for (let col = 0; col < 7; col++) {
      const cc = 6 * tj + col;
      for (let r = 0; r < 7; r++) {
        const rr = 6 * ti + r;
        if (rr < h && cc < w) {
          src[r] = x;
          base[r] = ((bi * h + rr) * w + cc) * c;
        } else {
          src[r] = zeros;
          base[r] = 0;
        }
      }
      const s0 = src[0]!, s1 = src[1]!, s2 = src[2]!, s3 = src[3]!, s4 = src[4]!, s5 = src[5]!, s6 = src[6]!;
      const b0 = base[0]!, b1 = base[1]!, b2 = base[2]!, b3 = base[3]!, b4 = base[4]!, b5 = base[5]!, b6 = base[6]!;
      const e0 = col * c, e1 = (7 + col) * c, e2 = (14 + col) * c, e3 = (21 + col) * c;
      for (let ch = 0; ch < c; ch++) {
        const d0 = s0[b0 + ch]!, d2 = s2[b2 + ch]!, d4 = s4[b4 + ch]!, d6 = s6[b6 + ch]!;
        re[e0 + ch] = d0 - d4;
        re[e1 + ch] = d2 + d4;
        re[e2 + ch] = d4 - d2;
        re[e3 + ch] = d6 - d2;
        const d1 = s1[b1 + ch]!, d3 = s3[b3 + ch]!, d5 = s5[b5 + ch]!;
        ro[e0 + ch] = d1 - d5;
        ro[e1 + ch] = d3 + d5;
        ro[e2 + ch] = d5 - d3;
      }
    }
    // Column pass: even columns 0,2,4,6 -> 4 positions, odd columns 1,3,5 -> 3 positions.
    for (let rp = 0; rp < 7; rp++) {
      const odd = rp >= 4;
      const r = odd ? rp - 4 : rp; // transform row position
      const t = odd ? ro : re;
      const row = r * 7 * c;
      const { at } = vRow(n, rp, c);
      const [o0, o1, o2, o3, q0, q1, q2] = at as [number, number, number, number, number, number, number];
      const v0 = v[r * 4]!, v1 = v[r * 4 + 1]!, v2 = v[r * 4 + 2]!, v3 = v[r * 4 + 3]!;
      for (let ch = 0; ch < c; ch++) {
        const a0 = t[row + ch]!, a2 = t[row + 2 * c + ch]!, a4 = t[row + 4 * c + ch]!, a6 = t[row + 6 * c + ch]!;
        v0[o0 + ch] = a0 - a4;
        v1[o1 + ch] = a2 + a4;
        v2[o2 + ch] = a4 - a2;
        v3[o3 + ch] = a6 - a2;
        const a1 = t[row + c + ch]!, a3 = t[row + 3 * c + ch]!, a5 = t[row + 5 * c + ch]!;
        v0[q0 + ch] = a1 - a5;
        v1[q1 + ch] = a3 + a5;
        v2[q2 + ch] = a5 - a3;
      }
    }
  });
}

/**
 * Filter transform: filter (3,3,Cin,Cout) row-major (tfjs's layout) -> U_p (planesAt(p)·Cin, Cout), the plane blocks
 * in {@linkcode winogradInput}'s order.
 *
 * @param f the filter
 * @param cin input channels
 * @param cout output channels
 * @param u the 16 destinations
 */
export function winogradFilter(f: Float32Array, cin: number, cout: number, u: Float32Array[]): void {
  const size = cin * cout;
  // dst[at + i] = Σ_q coef[q]·f[tap_q + i] over one, two or four taps, in one rounding.
  const mix = (dst: Float32Array, at: number, coef: number[], taps: number[]) => {
    const [c0, c1, c2, c3] = coef as [number, number, number, number];
    const [t0, t1, t2, t3] = taps.map((t) => t * size) as [number, number, number, number];
    if (taps.length === 1) { for (let i = 0; i < size; i++) dst[at + i] = c0 * f[t0 + i]!; }
    else if (taps.length === 2) { for (let i = 0; i < size; i++) dst[at + i] = c0 * f[t0 + i]! + c1 * f[t1 + i]!; }
    else {
      for (let i = 0; i < size; i++) {
        dst[at + i] = c0 * f[t0 + i]! + c1 * f[t1 + i]! + c2 * f[t2 + i]! + c3 * f[t3 + i]!;
      }
    }
  };
  for (const { p, slot, coef, taps } of filterTerms()) mix(u[p]!, slot * size, coef, taps);
}

/** One plane block of U_p: `U_p[slot] = Σ_q coef[q] · filter[taps[q]]` (taps numbered 3i + j). */
interface FilterTerm {
  p: number;
  slot: number;
  coef: number[];
  taps: number[];
}

/** The filter transform as a table: for each position, its plane blocks in {@linkcode winogradInput}'s order. */
function filterTerms(): FilterTerm[] {
  const two = [[1, 0], [0.5, 0.5], [0.5, -0.5], [0, 1]]; // a 2-tap axis: u_r = two[r][0]·g0 + two[r][1]·g1
  const one = [1, 0.5, 0.5, 0]; // a 1-tap axis: u for g = (g0, 0), over g0
  const terms: FilterTerm[] = [];
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      const p = r * 4 + c;
      const [r0, r1] = two[r] as [number, number], [c0, c1] = two[c] as [number, number];
      let slot = 0;
      // (e,e): u_r(rows) ⊗ u_c(cols) of the 2x2 kernel taps (0|2, 0|2).
      terms.push({ p, slot: slot++, coef: [r0 * c0, r0 * c1, r1 * c0, r1 * c1], taps: [0, 2, 6, 8] });
      if (c < 3) terms.push({ p, slot: slot++, coef: [r0 * one[c]!, r1 * one[c]!], taps: [1, 7] }); // (e,o): (0|2, 1)
      if (r < 3) terms.push({ p, slot: slot++, coef: [one[r]! * c0, one[r]! * c1], taps: [3, 5] }); // (o,e): (1, 0|2)
      if (r < 3 && c < 3) terms.push({ p, slot: slot++, coef: [one[r]! * one[c]!], taps: [4] }); // (o,o): (1, 1)
    }
  }
  return terms;
}

/**
 * Transpose of {@linkcode winogradFilter}, for the filter's gradient: dUᵀ_p (Cout, planesAt(p)·Cin) -> dF
 * (3,3,Cin,Cout), summed in float64.
 *
 * @param dut the 16 gradients of U_p, transposed
 * @param cin input channels
 * @param cout output channels
 * @param df destination
 */
export function winogradFilterT(dut: Float32Array[], cin: number, cout: number, df: Float32Array): void {
  const acc = new Float64Array(9 * cin * cout);
  for (const { p, slot, coef, taps } of filterTerms()) {
    const g = dut[p]!, k = planesAt(p >> 2, p & 3) * cin;
    taps.forEach((tap, q) => {
      const a = coef[q]!, base = tap * cin * cout;
      for (let co = 0; co < cout; co++) {
        const row = co * k + slot * cin;
        for (let ci = 0; ci < cin; ci++) acc[base + ci * cout + co]! += a * g[row + ci]!;
      }
    });
  }
  df.set(acc);
}

/**
 * Output transform: M_p (tiles, Cout) for the 16 positions -> y (B,ho,wo,Cout) row-major; a tile's pixels past the
 * output's edge are dropped.
 *
 * @param m the 16 products
 * @param s the shapes
 * @param cout output channels
 * @param y destination
 */
export function winogradOutput(m: Float32Array[], s: WinogradShape, cout: number, y: Float32Array): void {
  const { ho, wo } = s;
  const t = new Float32Array(3 * 4 * cout); // [outRow][col position][ch]
  const cols = [0, 1, 2, 3].map((c) => [0, 4, 8, 12].map((r) => m[r + c]!)); // M_p at column position c, rows 0..3
  forEachTile(s, (bi, ti, tj, n) => {
    const o = n * cout;
    // Row pass: for each column position, 4 row positions -> 3 output rows.
    for (let cp = 0; cp < 4; cp++) {
      const [a, bb, cc, d] = cols[cp] as [Float32Array, Float32Array, Float32Array, Float32Array];
      const t0 = cp * cout, t1 = (4 + cp) * cout, t2 = (8 + cp) * cout;
      for (let ch = 0; ch < cout; ch++) {
        const p1 = bb[o + ch]!, p2 = cc[o + ch]!, s12 = Math.fround(p1 + p2); // rounded as the SIMD twin does
        t[t0 + ch] = a[o + ch]! + s12;
        t[t1 + ch] = p1 - p2;
        t[t2 + ch] = s12 + d[o + ch]!;
      }
    }
    // Column pass: 4 column positions -> 3 output columns, written where they fall inside the output.
    for (let r = 0; r < 3; r++) {
      const row = 3 * ti + r;
      if (row >= ho) break;
      const tr = 4 * r * cout;
      const col0 = 3 * tj;
      const y0 = ((bi * ho + row) * wo + col0) * cout;
      const n1 = col0 + 1 < wo, n2 = col0 + 2 < wo;
      for (let ch = 0; ch < cout; ch++) {
        const p1 = t[tr + cout + ch]!, p2 = t[tr + 2 * cout + ch]!, s12 = Math.fround(p1 + p2);
        y[y0 + ch] = t[tr + ch]! + s12;
        if (n1) y[y0 + cout + ch] = p1 - p2;
        if (n2) y[y0 + 2 * cout + ch] = s12 + t[tr + 3 * cout + ch]!;
      }
    }
  });
}

/**
 * Transpose of {@linkcode winogradOutput}, for the data gradient: dy (B,ho,wo,Cout) -> dM_p (tiles, Cout), pixels
 * past the output's edge counting as zeros. Per axis, `m = [y0, (y0 + y2) + y1, (y0 + y2) − y1, y2]`.
 *
 * @param dy the output's gradient
 * @param s the shapes
 * @param cout output channels
 * @param dm the 16 destinations
 */
export function winogradOutputT(dy: Float32Array, s: WinogradShape, cout: number, dm: Float32Array[]): void {
  const { ho, wo } = s;
  const f = Math.fround;
  const t = new Float32Array(4 * 3 * cout); // [row position][output column][ch]
  const px = (bi: number, row: number, col: number, ch: number) =>
    row < ho && col < wo ? dy[((bi * ho + row) * wo + col) * cout + ch]! : 0;
  forEachTile(s, (bi, ti, tj, n) => {
    for (let j = 0; j < 3; j++) {
      for (let ch = 0; ch < cout; ch++) {
        const y0 = px(bi, 3 * ti, 3 * tj + j, ch), y1 = px(bi, 3 * ti + 1, 3 * tj + j, ch);
        const y2 = px(bi, 3 * ti + 2, 3 * tj + j, ch), s02 = f(y0 + y2);
        t[j * cout + ch] = y0;
        t[(3 + j) * cout + ch] = s02 + y1;
        t[(6 + j) * cout + ch] = s02 - y1;
        t[(9 + j) * cout + ch] = y2;
      }
    }
    for (let r = 0; r < 4; r++) {
      const o = n * cout;
      for (let ch = 0; ch < cout; ch++) {
        const y0 = t[3 * r * cout + ch]!, y1 = t[(3 * r + 1) * cout + ch]!, y2 = t[(3 * r + 2) * cout + ch]!;
        const s02 = f(y0 + y2);
        dm[r * 4]![o + ch] = y0;
        dm[r * 4 + 1]![o + ch] = s02 + y1;
        dm[r * 4 + 2]![o + ch] = s02 - y1;
        dm[r * 4 + 3]![o + ch] = y2;
      }
    }
  });
}

/**
 * Transpose of {@linkcode winogradInput}, for the data gradient: dV_p (tiles, planesAt(p)·C) -> dx (B,H,W,C), the
 * tiles' shared rows and columns summed in tile order, pixels past the input's edge dropped. Per axis, 4-point
 * `d = [v0, (v1 − v2) − v3, (v1 + v2) − v0, v3]` on the even rows or columns, 3-point `d = [v0, v1 − v2,
 * (v1 + v2) − v0]` on the odd ones.
 *
 * @param dv the 16 gradients of V_p
 * @param s the shapes
 * @param dx destination (overwritten)
 */
export function winogradInputT(dv: Float32Array[], s: WinogradShape, dx: Float32Array): void {
  const { h, w, cin: c } = s;
  const f = Math.fround;
  dx.fill(0);
  const t = new Float32Array(7 * 7 * c); // [row position 0..6 (4 even, 3 odd)][column 0..6][ch]
  // out[0..6] from a (4-point, even outputs) and bb (3-point, odd outputs)
  const t7t = (a: number[], bb: number[]) => [
    a[0]!,
    bb[0]!,
    f(f(a[1]! - a[2]!) - a[3]!),
    f(bb[1]! - bb[2]!),
    f(f(a[1]! + a[2]!) - a[0]!),
    f(f(bb[1]! + bb[2]!) - bb[0]!),
    a[3]!,
  ];
  forEachTile(s, (bi, ti, tj, n) => {
    for (let rp = 0; rp < 7; rp++) {
      const { p, at } = vRow(n, rp, c);
      for (let ch = 0; ch < c; ch++) {
        const a = [0, 1, 2, 3].map((i) => dv[p[i]!]![at[i]! + ch]!);
        const bb = [4, 5, 6].map((i) => dv[p[i]!]![at[i]! + ch]!);
        t7t(a, bb).forEach((val, col) => t[(rp * 7 + col) * c + ch] = val);
      }
    }
    for (let col = 0; col < 7; col++) {
      const cc = 6 * tj + col;
      for (let ch = 0; ch < c; ch++) {
        const a = [0, 1, 2, 3].map((r) => t[(r * 7 + col) * c + ch]!);
        const bb = [4, 5, 6].map((r) => t[(r * 7 + col) * c + ch]!);
        t7t(a, bb).forEach((val, row) => {
          const rr = 6 * ti + row;
          if (rr < h && cc < w) {
            const i = ((bi * h + rr) * w + cc) * c + ch;
            dx[i] = dx[i]! + val;
          }
        });
      }
    }
  });
}

const INPUT = "CoverHunterWinogradInput";
const FILTER = "CoverHunterWinogradFilter";
const OUTPUT = "CoverHunterWinogradOutput";
const OUTPUT_T = "CoverHunterWinogradOutputT";
const INPUT_T = "CoverHunterWinogradInputT";
const FILTER_T = "CoverHunterWinogradFilterT";

/** Byte-address scratch on the wasm heap, zero-filled; the caller frees it with `_free`. */
function scratch(b: WasmBackendLike, bytes: number): number {
  const ptr = heapAlloc(b, bytes);
  new Uint8Array(b.wasm.asm.memory.buffer, ptr, bytes).fill(0);
  return ptr;
}

/**
 * {@linkcode winogradInput} on the heap, with the SIMD loop: per tile, a row pass into scratch (7 columns, each its
 * 4 + 3 transformed rows) and a column pass into the V_p (7 transformed rows, each 4 + 3 positions).
 */
function inputKernel(b: WasmBackendLike, x: tf.TensorInfo, s: WinogradShape, v: tf.TensorInfo[]): void {
  const { h, w, cin: c } = s;
  const simd = simdTransforms(b.wasm.asm.memory);
  const cb = 4 * c; // bytes per pixel
  const zeros = scratch(b, cb);
  const tmp = scratch(b, 7 * 7 * cb); // [row position 0..6 (4 even, 3 odd)][column 0..6][ch]
  const xAt = b.getMemoryOffset(x.dataId);
  const vAt = v.map((t) => b.getMemoryOffset(t.dataId));
  const src = new Array<number>(7);
  try {
    forEachTile(s, (bi, ti, tj, n) => {
      for (let col = 0; col < 7; col++) {
        const cc = 6 * tj + col;
        for (let r = 0; r < 7; r++) {
          const rr = 6 * ti + r;
          src[r] = rr < h && cc < w ? xAt + ((bi * h + rr) * w + cc) * cb : zeros;
        }
        const o = tmp + col * cb;
        simd.t7(
          src[0]!,
          src[1]!,
          src[2]!,
          src[3]!,
          src[4]!,
          src[5]!,
          src[6]!,
          o,
          o + 7 * cb,
          o + 14 * cb,
          o + 21 * cb,
          o + 28 * cb,
          o + 35 * cb,
          o + 42 * cb,
          cb,
        );
      }
      for (let rp = 0; rp < 7; rp++) {
        const row = tmp + rp * 7 * cb;
        const { p, at } = vRow(n, rp, cb);
        const dst = p.map((q, i) => vAt[q]! + at[i]!);
        simd.t7(
          row,
          row + cb,
          row + 2 * cb,
          row + 3 * cb,
          row + 4 * cb,
          row + 5 * cb,
          row + 6 * cb,
          ...dst,
          cb,
        );
      }
    });
  } finally {
    b.wasm._free(zeros);
    b.wasm._free(tmp);
  }
}

/** {@linkcode winogradOutput} on the heap, with the SIMD loop; pixels past the output's edge go to scratch. */
function outputKernel(b: WasmBackendLike, m: tf.TensorInfo[], s: WinogradShape, cout: number, y: tf.TensorInfo): void {
  const { ho, wo } = s;
  const simd = simdTransforms(b.wasm.asm.memory);
  const cb = 4 * cout;
  const tmp = scratch(b, 12 * cb); // [output row 0..2][column position 0..3][ch]
  const sink = scratch(b, cb);
  const mAt = m.map((t) => b.getMemoryOffset(t.dataId));
  const yAt = b.getMemoryOffset(y.dataId);
  try {
    forEachTile(s, (bi, ti, tj, n) => {
      const o = n * cb;
      for (let cp = 0; cp < 4; cp++) {
        const t = tmp + cp * cb;
        simd.o4(mAt[cp]! + o, mAt[4 + cp]! + o, mAt[8 + cp]! + o, mAt[12 + cp]! + o, t, t + 4 * cb, t + 8 * cb, cb);
      }
      for (let r = 0; r < 3; r++) {
        const row = 3 * ti + r;
        if (row >= ho) break;
        const col0 = 3 * tj;
        const y0 = yAt + ((bi * ho + row) * wo + col0) * cb;
        const t = tmp + 4 * r * cb;
        simd.o4(
          t,
          t + cb,
          t + 2 * cb,
          t + 3 * cb,
          y0,
          col0 + 1 < wo ? y0 + cb : sink,
          col0 + 2 < wo ? y0 + 2 * cb : sink,
          cb,
        );
      }
    });
  } finally {
    b.wasm._free(tmp);
    b.wasm._free(sink);
  }
}

/** {@linkcode winogradOutputT} on the heap, with the SIMD loop; pixels past the output's edge read zeros. */
function outputTKernel(b: WasmBackendLike, dy: tf.TensorInfo, s: WinogradShape, cout: number, dm: tf.TensorInfo[]) {
  const { ho, wo } = s;
  const simd = simdTransforms(b.wasm.asm.memory);
  const cb = 4 * cout;
  const zeros = scratch(b, cb);
  const tmp = scratch(b, 12 * cb); // [row position 0..3][output column 0..2][ch]
  const dyAt = b.getMemoryOffset(dy.dataId);
  const mAt = dm.map((t) => b.getMemoryOffset(t.dataId));
  const px = (bi: number, row: number, col: number) =>
    row < ho && col < wo ? dyAt + ((bi * ho + row) * wo + col) * cb : zeros;
  try {
    forEachTile(s, (bi, ti, tj, n) => {
      for (let j = 0; j < 3; j++) {
        const col = 3 * tj + j, t = tmp + j * cb;
        simd.u3(
          px(bi, 3 * ti, col),
          px(bi, 3 * ti + 1, col),
          px(bi, 3 * ti + 2, col),
          t,
          t + 3 * cb,
          t + 6 * cb,
          t + 9 * cb,
          cb,
        );
      }
      const o = n * cb;
      for (let r = 0; r < 4; r++) {
        const t = tmp + 3 * r * cb;
        simd.u3(
          t,
          t + cb,
          t + 2 * cb,
          mAt[r * 4]! + o,
          mAt[r * 4 + 1]! + o,
          mAt[r * 4 + 2]! + o,
          mAt[r * 4 + 3]! + o,
          cb,
        );
      }
    });
  } finally {
    b.wasm._free(zeros);
    b.wasm._free(tmp);
  }
}

/** {@linkcode winogradInputT} on the heap, with the SIMD loops; pixels past the input's edge go to scratch. */
function inputTKernel(b: WasmBackendLike, dv: tf.TensorInfo[], s: WinogradShape, dx: tf.TensorInfo): void {
  const { h, w, cin: c } = s;
  const simd = simdTransforms(b.wasm.asm.memory);
  const cb = 4 * c;
  const tmp = scratch(b, 7 * 7 * cb); // [row position 0..6 (4 even, 3 odd)][column 0..6][ch]
  const sink = scratch(b, cb);
  const dxAt = b.getMemoryOffset(dx.dataId);
  new Uint8Array(b.wasm.asm.memory.buffer, dxAt, s.b * h * w * cb).fill(0);
  const vAt = dv.map((t) => b.getMemoryOffset(t.dataId));
  const dst = new Array<number>(7);
  try {
    forEachTile(s, (bi, ti, tj, n) => {
      for (let rp = 0; rp < 7; rp++) {
        const row = tmp + rp * 7 * cb;
        const { p, at } = vRow(n, rp, cb);
        simd.t7t(
          ...p.map((q, i) => vAt[q]! + at[i]!),
          row,
          row + cb,
          row + 2 * cb,
          row + 3 * cb,
          row + 4 * cb,
          row + 5 * cb,
          row + 6 * cb,
          cb,
        );
      }
      for (let col = 0; col < 7; col++) {
        const cc = 6 * tj + col;
        for (let r = 0; r < 7; r++) {
          const rr = 6 * ti + r;
          dst[r] = rr < h && cc < w ? dxAt + ((bi * h + rr) * w + cc) * cb : sink;
        }
        const t = tmp + col * cb, rs = 7 * cb;
        simd.t7ta(
          t,
          t + rs,
          t + 2 * rs,
          t + 3 * rs,
          t + 4 * rs,
          t + 5 * rs,
          t + 6 * rs,
          dst[0]!,
          dst[1]!,
          dst[2]!,
          dst[3]!,
          dst[4]!,
          dst[5]!,
          dst[6]!,
          cb,
        );
      }
    });
  } finally {
    b.wasm._free(tmp);
    b.wasm._free(sink);
  }
}

/** The attributes the kernels take: x's shape (B,H,W,Cin). */
interface ShapeAttrs {
  batch: number;
  h: number;
  w: number;
  cin: number;
}

/** The 16 per-position inputs named `${prefix}0` .. `${prefix}15`. */
const sixteen = (inputs: tf.NamedTensorInfoMap, prefix: string) =>
  Array.from({ length: 16 }, (_, p) => inputs[`${prefix}${p}`] as tf.TensorInfo);

/** The wasm kernels of {@linkcode winogradConv2d} and its backward pass (registered by `registerWasmKernels`). */
export function winogradKernels(): tf.KernelConfig[] {
  const f32 = (b: WasmBackendLike) => (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
  return [
    wasmKernel(INPUT, (b, { x }) => {
      const [n, h, w, c] = x!.shape as [number, number, number, number];
      const s = winogradShape(n, h, w, c);
      const v = Array.from({ length: 16 }, (_, p) => b.makeOutput([s.tiles, planesAt(p >> 2, p & 3) * c], "float32"));
      inputKernel(b, x!, s, v);
      return v;
    }),
    wasmKernel(FILTER, (b, { filter }) => {
      const [, , cin, cout] = filter!.shape as [number, number, number, number];
      const u = Array.from({ length: 16 }, (_, p) => b.makeOutput([planesAt(p >> 2, p & 3) * cin, cout], "float32"));
      // Views after all allocations: one may grow the memory, which detaches older views.
      winogradFilter(f32(b)(filter!), cin, cout, u.map(f32(b)));
      return u;
    }),
    wasmKernel<ShapeAttrs>(OUTPUT, (b, inputs, { batch, h, w, cin }) => {
      const m = sixteen(inputs, "m");
      const s = winogradShape(batch, h, w, cin);
      const cout = m[0]!.shape[1]!;
      const y = b.makeOutput([batch, s.ho, s.wo, cout], "float32");
      outputKernel(b, m, s, cout, y);
      return y;
    }),
    wasmKernel<ShapeAttrs>(OUTPUT_T, (b, { dy }, { batch, h, w, cin }) => {
      const s = winogradShape(batch, h, w, cin);
      const cout = dy!.shape[3]!;
      const dm = Array.from({ length: 16 }, () => b.makeOutput([s.tiles, cout], "float32"));
      outputTKernel(b, dy!, s, cout, dm);
      return dm;
    }),
    wasmKernel<ShapeAttrs>(INPUT_T, (b, inputs, { batch, h, w, cin }) => {
      const dx = b.makeOutput([batch, h, w, cin], "float32");
      inputTKernel(b, sixteen(inputs, "d"), winogradShape(batch, h, w, cin), dx);
      return dx;
    }),
    wasmKernel(FILTER_T, (b, inputs) => {
      const g = sixteen(inputs, "g");
      const cout = g[0]!.shape[0]!, cin = g[15]!.shape[1]!; // position 15 holds the (e,e) plane only
      const df = b.makeOutput([3, 3, cin, cout], "float32");
      winogradFilterT(g.map(f32(b)), cin, cout, f32(b)(df));
      return df;
    }),
  ];
}

/** Whether {@linkcode winogradConv2d} takes this conv: wasm, channel counts that fill f32x4 lanes, a 3x3 filter. */
export function winogradApplies(x: tf.Tensor4D, filter: tf.Tensor4D): boolean {
  const [kh, kw, cin, cout] = filter.shape;
  return tf.getBackend() === "wasm" && tf.getKernel(INPUT, "wasm") !== undefined && kh === 3 && kw === 3 &&
    cin % 4 === 0 && cout % 4 === 0 &&
    x.shape[1] >= 3 && x.shape[2] >= 3;
}

/** The transformed data V_p and filter U_p of {@linkcode winogradConv2d}, by the wasm kernels (for tests). */
export function winogradTransforms(x: tf.Tensor4D, filter: tf.Tensor4D): { v: tf.Tensor2D[]; u: tf.Tensor2D[] } {
  return {
    v: tf.engine().runKernel(INPUT, { x }) as unknown as tf.Tensor2D[],
    u: tf.engine().runKernel(FILTER, { filter }) as unknown as tf.Tensor2D[],
  };
}

/**
 * `tf.conv2d(x, filter, 2, "valid")` for a 3x3 filter, by {@linkcode winogradInput} / {@linkcode winogradFilter} /
 * {@linkcode winogradOutput} around 16 matMuls. Forward only (the caller's customGrad gives the gradient); needs
 * {@linkcode winogradApplies}.
 */
export function winogradConv2d(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  const [batch, h, w, cin] = x.shape;
  return tf.tidy(() => {
    const { v, u } = winogradTransforms(x, filter);
    const m: Record<string, tf.Tensor> = {};
    v.forEach((vp, p) => m[`m${p}`] = tf.matMul(vp, u[p]!));
    const attrs = { batch, h, w, cin } as unknown as tf.NamedAttrMap;
    return tf.engine().runKernel(OUTPUT, m, attrs) as tf.Tensor4D;
  });
}

/**
 * Gradients of {@linkcode winogradConv2d} with respect to x and the filter, through the transposed transforms:
 * dM_p = winogradOutputT(dy), dV_p = dM_p·U_pᵀ -> dx = winogradInputT(dV), dUᵀ_p = dM_pᵀ·V_p -> dF =
 * winogradFilterT(dUᵀ). The same ~39% fewer multiplies as the forward pass; V_p is recomputed, not kept.
 *
 * @returns [dx (B,H,W,Cin), dFilter (3,3,Cin,Cout)]
 */
export function winogradConv2dBackward(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  dy: tf.Tensor4D,
): [tf.Tensor4D, tf.Tensor4D] {
  const [batch, h, w, cin] = x.shape;
  return tf.tidy(() => {
    const attrs = { batch, h, w, cin } as unknown as tf.NamedAttrMap;
    const dm = tf.engine().runKernel(OUTPUT_T, { dy }, attrs) as unknown as tf.Tensor2D[];
    const { v, u } = winogradTransforms(x, filter);
    const dv: Record<string, tf.Tensor> = {}, dut: Record<string, tf.Tensor> = {};
    dm.forEach((m, p) => {
      // transposed operands read in place by the GEMM that BatchMatMul runs on (registered with these kernels)
      dv[`d${p}`] = tf.matMul(m, u[p]!, false, true); // (tiles,Cout)·(Cout,K_p)
      dut[`g${p}`] = tf.matMul(m, v[p]!, true, false); // (Cout,tiles)·(tiles,K_p)
    });
    const dx = tf.engine().runKernel(INPUT_T, dv, attrs) as tf.Tensor4D;
    const df = tf.engine().runKernel(FILTER_T, dut) as tf.Tensor4D;
    return [dx, df] as [tf.Tensor4D, tf.Tensor4D];
  });
}
