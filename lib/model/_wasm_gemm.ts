/**
 * C = op(A)·op(B) in float32 on tfjs-wasm's memory, by a GEMM assembled here in WebAssembly with relaxed SIMD's fused
 * multiply-add (`f32x4.relaxed_madd`). tfjs-wasm 4.22's XNNPACK build predates relaxed SIMD: its products ran at
 * ~10-14 GFLOP/s on the dev machine's Xeon; this micro-kernel runs at ~23 and whole products at 19-22, packing
 * included (BLIS's scheme below; no WebAssembly toolchain is reachable from this project's machines, hence
 * hand-assembled). It also reads transposed operands in
 * place, through the packing strides, so a product with a transposed operand costs no Transpose kernel.
 *
 * The scheme (BLIS): for each block of {@linkcode GEMM_NC} columns and {@linkcode GEMM_KC} depth, op(B)'s block is
 * packed into panels of 12 columns (k-major, 48 bytes per k), then for each block of {@linkcode GEMM_MC} rows op(A)'s
 * block is packed into panels of 4 rows (16 bytes per k), and the micro-kernel computes each 4 x 12 tile of C in 12
 * f32x4 registers over the block's depth, loading C first where an earlier depth block has written it. The depth is
 * padded with zeros to a multiple of the loop's unroll (16, or 8 for depths below 64). Row and column remainders take
 * micro-kernels of 1-3 rows and 4 or 8 columns, so C needs no padding; `n` must be a multiple of 4
 * ({@linkcode gemmApplies}).
 *
 * Functions of the module (byte addresses into the memory):
 * - `k{mr}x{nv}u{unroll}(ap, bp, c, ldc, kc, mt, nt, acc)`: for each of `nt` B panels (4·nv columns) and `mt` A
 *   panels, the mr x 4·nv tile of C at `c + i·4·ldc + j·16·nv` (+)= A panel i · B panel j over depth `kc` (a multiple
 *   of the unroll, 8 or 16);
 * - `pack(src, dst, rows, k, kfrom, kpad, sr, sk, w)`: `dst[t][kk][r] = X(t·w + r, kk)` for panels t of `w` rows and
 *   depths kfrom <= kk < kpad, zero for rows ≥ `rows` or kk ≥ `k`, with X(r, kk) at `src + r·sr + kk·sk`, one float
 *   at a time (the edges);
 * - `packRows(src, dst, panels, k, kpad, sk, w)`: the same for whole panels whose rows are contiguous (sr = 4), by
 *   vector copies (B, or Aᵀ);
 * - `packCols(src, dst, panels, k4, kpad, sr, w)`: the same for whole panels and depths below k4 (a multiple of 4)
 *   where the depth is contiguous (sk = 4), by 4 x 4 transposes in registers (A, or Bᵀ).
 *
 * @module
 */
import { body, forLoop, forRange, I32, moduleBytes, op, V128 } from "../wasm/asm.ts";

/** Rows of a micro-tile. */
export const GEMM_MR = 4;
/** Columns of a micro-tile (three f32x4). */
export const GEMM_NR = 12;
/** Depth of a packed block (a multiple of the unroll, 16): a 12-column B panel is 12 KiB, within L1. */
export const GEMM_KC = 256;
/** Rows of a packed A block (a multiple of 4): 128 KiB at {@linkcode GEMM_KC}, within L2. */
export const GEMM_MC = 128;
/** Columns of a packed B block (a multiple of 12): 3 MiB at {@linkcode GEMM_KC}. */
export const GEMM_NC = 3072;
/**
 * Depth steps per loop iteration: 16 where the block's depth is at least 64 (+4-5% over 8 on the model's products),
 * else 8 (the depth is zero-padded to a multiple: 16 cost the (30000, 4)ᵀ·(4, 128) product 60%).
 */
const unrollFor = (kc: number) => (kc >= 64 ? 16 : 8);

/** One product: byte addresses of A, B and C in the memory, C's shape (m, n), the depth k, and the transposes. */
export interface GemmArgs {
  a: number;
  b: number;
  c: number;
  m: number;
  k: number;
  n: number;
  /** A is stored (k, m): op(A) = Aᵀ. */
  transposeA: boolean;
  /** B is stored (n, k): op(B) = Bᵀ. */
  transposeB: boolean;
}

type Fn = (...args: number[]) => void;

/** The module's functions, bound to one memory. */
export interface GemmModule {
  /** Micro-kernels by name, `k${mr}x${nv}u${unroll}`. */
  kernels: Record<string, Fn>;
  pack: Fn;
  packRows: Fn;
  packCols: Fn;
}

/** Whether this runtime validates relaxed SIMD (Deno 2 does); without it the kernels multiply and add separately. */
export function relaxedSimd(): boolean {
  const probe = moduleBytes([{
    name: "f",
    params: 1,
    body: body([[3, V128]], [...fmaCode(1, 2, 3, true), ...op.set(3)]),
  }]);
  return WebAssembly.validate(probe as BufferSource);
}

/** Pushes `a·b + c` for v128 locals a, b, c. */
function fmaCode(a: number, b: number, c: number, fused: boolean): number[] {
  return fused
    ? [...op.get(a), ...op.get(b), ...op.get(c), ...op.madd]
    : [...op.get(a), ...op.get(b), ...op.mul, ...op.get(c), ...op.add];
}

function kernelBody(mr: number, nv: number, unroll: number, fused: boolean): number[] {
  const [AP, BP, C, LDC, KC, MT, NT, ACC] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [I, J, K, A, B, CT] = [8, 9, 10, 11, 12, 13];
  const acc = (r: number, v: number) => 14 + r * nv + v, bv = (v: number) => 14 + mr * nv + v, av = 14 + mr * nv + nv;
  const row = (r: number) => [...op.get(CT), ...op.get(LDC), ...op.i32Const(r), ...op.i32Mul, ...op.i32Add];
  const zero: number[] = [], load: number[] = [], store: number[] = [];
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < nv; v++) {
      zero.push(...op.zero, ...op.set(acc(r, v)));
      load.push(...row(r), ...op.load(16 * v), ...op.set(acc(r, v)));
      store.push(...row(r), ...op.get(acc(r, v)), ...op.store(16 * v));
    }
  }
  // `unroll` depth steps, each bumping the pointers (measured: 23 GFLOP/s at 8; with constant offsets and one bump
  // per 8 steps V8's code ran at 16)
  const step: number[] = [];
  for (let u = 0; u < unroll; u++) {
    for (let v = 0; v < nv; v++) step.push(...op.get(B), ...op.load(16 * v), ...op.set(bv(v)));
    for (let r = 0; r < mr; r++) {
      step.push(...op.get(A), ...op.splat(4 * r), ...op.set(av));
      for (let v = 0; v < nv; v++) step.push(...fmaCode(av, bv(v), acc(r, v), fused), ...op.set(acc(r, v)));
    }
    step.push(...op.get(A), ...op.i32Const(16), ...op.i32Add, ...op.set(A));
    step.push(...op.get(B), ...op.i32Const(16 * nv), ...op.i32Add, ...op.set(B));
  }
  const tile = [
    ...op.get(AP),
    ...op.get(I),
    ...op.get(KC),
    ...op.i32Mul,
    ...op.i32Const(16),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.set(A),
    ...op.get(BP),
    ...op.get(J),
    ...op.get(KC),
    ...op.i32Mul,
    ...op.i32Const(16 * nv),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.set(B),
    ...op.get(C),
    ...op.get(I),
    ...op.get(LDC),
    ...op.i32Mul,
    ...op.i32Const(4),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.get(J),
    ...op.i32Const(16 * nv),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.set(CT),
    ...op.get(ACC),
    ...op.if,
    ...load,
    ...op.else,
    ...zero,
    ...op.end,
    ...forLoop(K, op.get(KC), unroll, step),
    ...store,
  ]; // deno-fmt-ignore
  const loops = forLoop(J, op.get(NT), 1, forLoop(I, op.get(MT), 1, tile));
  return body([[6, I32], [mr * nv + nv + 1, V128]], loops);
}

/** `pack(src, dst, rows, k, kfrom, kpad, sr, sk, w)`: one float at a time (edges: partial panels, depth past k). */
function packBody(): number[] {
  const [S, D, R, K, KFROM, KPAD, SR, SK, W] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [T, KK, RR, ROW] = [9, 10, 11, 12];
  const value = [
    ...op.get(ROW),
    ...op.get(R),
    ...op.i32LtU,
    ...op.get(KK),
    ...op.get(K),
    ...op.i32LtU,
    ...op.i32And,
    ...op.ifF32,
    ...op.get(S),
    ...op.get(ROW),
    ...op.get(SR),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.get(KK),
    ...op.get(SK),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.f32Load,
    ...op.else,
    ...op.f32Zero,
    ...op.end,
  ]; // deno-fmt-ignore
  const inner = [
    ...op.get(T), ...op.get(RR), ...op.i32Add, ...op.set(ROW),
    // dst + ((t/w·kpad + kk)·w + r)·4 = dst + 4·(t·kpad + kk·w + r), t being the panel's first row
    ...op.get(D), ...op.get(T), ...op.get(KPAD), ...op.i32Mul, ...op.get(KK), ...op.get(W), ...op.i32Mul, ...op.i32Add,
    ...op.get(RR), ...op.i32Add, ...op.i32Const(4), ...op.i32Mul, ...op.i32Add,
    ...value, ...op.f32Store,
  ]; // deno-fmt-ignore
  return body([[4, I32]], forRange(T, op.i32Const(0), op.get(R), op.get(W), forRange(KK, op.get(KFROM), op.get(KPAD), op.i32Const(1), forLoop(RR, op.get(W), 1, inner))));
}

/**
 * `packRows(src, dst, panels, k, kpad, sk, w)`: full panels whose rows are contiguous in memory (sr = 4): per depth,
 * w/4 vector copies.
 */
function packRowsBody(): number[] {
  const [S, D, P, K, KPAD, SK, W] = [0, 1, 2, 3, 4, 5, 6];
  const [T, KK, O, SRC, WB] = [7, 8, 9, 10, 11];
  const copy = forLoop(O, op.get(WB), 16, [
    ...op.get(D),
    ...op.get(O),
    ...op.i32Add,
    ...op.get(SRC),
    ...op.get(O),
    ...op.i32Add,
    ...op.load(),
    ...op.store(),
  ]); // deno-fmt-ignore
  const zero = forLoop(O, op.get(WB), 16, [...op.get(D), ...op.get(O), ...op.i32Add, ...op.zero, ...op.store()]);
  const bump = (p: number, by: number[]) => [...op.get(p), ...by, ...op.i32Add, ...op.set(p)];
  const panel = [
    ...op.get(S),
    ...op.get(T),
    ...op.get(WB),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.set(SRC),
    ...forLoop(KK, op.get(K), 1, [...copy, ...bump(SRC, op.get(SK)), ...bump(D, op.get(WB))]),
    ...forRange(KK, op.get(K), op.get(KPAD), op.i32Const(1), [...zero, ...bump(D, op.get(WB))]),
  ]; // deno-fmt-ignore
  return body([[5, I32]], [...op.get(W), ...op.i32Const(4), ...op.i32Mul, ...op.set(WB), ...forLoop(T, op.get(P), 1, panel)]);
}

/**
 * `packCols(src, dst, panels, k4, kpad, sr, w)`: full panels whose depth is contiguous in memory (sk = 4), depth
 * [0, k4) (k4 a multiple of 4): 4 x 4 blocks, loaded by rows and stored by depth after a transpose in registers.
 */
function packColsBody(): number[] {
  const [S, D, P, K4, KPAD, SR, W] = [0, 1, 2, 3, 4, 5, 6];
  const [T, G, KK, BASE, OUT, R0] = [7, 8, 9, 10, 11, 12]; // R0..R3, then X0..X3: v128
  const r = (j: number) => R0 + j, x = (j: number) => R0 + 4 + j;
  const lanes = (l: number[]) => l.flatMap((f) => [4 * f, 4 * f + 1, 4 * f + 2, 4 * f + 3]);
  const shuffle = (a: number, b: number, l: number[]) => [...op.get(a), ...op.get(b), ...op.shuffle(lanes(l))];
  const block = [
    ...[0, 1, 2, 3].flatMap((j) => [
      ...op.get(BASE),
      ...op.get(SR),
      ...op.i32Const(j),
      ...op.i32Mul,
      ...op.i32Add,
      ...op.get(KK),
      ...op.i32Const(4),
      ...op.i32Mul,
      ...op.i32Add,
      ...op.load(),
      ...op.set(r(j)),
    ]),
    ...shuffle(r(0), r(1), [0, 4, 1, 5]),
    ...op.set(x(0)),
    ...shuffle(r(0), r(1), [2, 6, 3, 7]),
    ...op.set(x(1)),
    ...shuffle(r(2), r(3), [0, 4, 1, 5]),
    ...op.set(x(2)),
    ...shuffle(r(2), r(3), [2, 6, 3, 7]),
    ...op.set(x(3)),
    // out = dst + ((t·kpad + kk)·w + 4g)·4; rows j of the transpose go w floats apart
    ...op.get(D),
    ...op.get(T),
    ...op.get(KPAD),
    ...op.i32Mul,
    ...op.get(KK),
    ...op.i32Add,
    ...op.get(W),
    ...op.i32Mul,
    ...op.get(G),
    ...op.i32Add,
    ...op.i32Const(4),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.set(OUT),
    ...[[x(0), x(2), [0, 1, 4, 5]], [x(0), x(2), [2, 3, 6, 7]], [x(1), x(3), [0, 1, 4, 5]], [x(1), x(3), [2, 3, 6, 7]]]
      .flatMap(([a, b, l], j) => [
        ...op.get(OUT),
        ...op.get(W),
        ...op.i32Const(4 * j),
        ...op.i32Mul,
        ...op.i32Add,
        ...shuffle(a as number, b as number, l as number[]),
        ...op.store(),
      ]),
  ]; // deno-fmt-ignore
  const group = [
    // base = src + (t·w + g)·sr, g the group's first row within the panel
    ...op.get(S), ...op.get(T), ...op.get(W), ...op.i32Mul, ...op.get(G), ...op.i32Add, ...op.get(SR), ...op.i32Mul,
    ...op.i32Add, ...op.set(BASE),
    ...forLoop(KK, op.get(K4), 4, block),
  ]; // deno-fmt-ignore
  return body([[5, I32], [8, V128]], forLoop(T, op.get(P), 1, forLoop(G, op.get(W), 4, group)));
}

/** The module's bytes: micro-kernels for 1-4 rows by 4, 8 or 12 columns, and `pack`. */
export function gemmModuleBytes(fused = relaxedSimd()): Uint8Array {
  const fns = [];
  for (let mr = 1; mr <= GEMM_MR; mr++) {
    for (let nv = 1; nv <= GEMM_NR / 4; nv++) {
      for (const u of [8, 16]) fns.push({ name: `k${mr}x${nv}u${u}`, params: 8, body: kernelBody(mr, nv, u, fused) });
    }
  }
  fns.push({ name: "pack", params: 9, body: packBody() });
  fns.push({ name: "packRows", params: 7, body: packRowsBody() });
  fns.push({ name: "packCols", params: 7, body: packColsBody() });
  return moduleBytes(fns);
}

const cache = new WeakMap<WebAssembly.Memory, GemmModule>();

/** The module bound to `memory` (compiled once per memory). */
export function gemmModule(memory: WebAssembly.Memory): GemmModule {
  let g = cache.get(memory);
  if (g === undefined) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(gemmModuleBytes() as BufferSource), {
      env: { memory },
    });
    const e = instance.exports as Record<string, Fn>;
    g = { kernels: e, pack: e.pack!, packRows: e.packRows!, packCols: e.packCols! };
    cache.set(memory, g);
  }
  return g;
}

/** Whether {@linkcode gemm} computes a product of C shape (m, n) and depth k: n a multiple of 4, none empty. */
export function gemmApplies(m: number, k: number, n: number): boolean {
  return m > 0 && k > 0 && n > 0 && n % 4 === 0;
}

/** Bytes of a packed A block for C with m rows (whole panels of 4 rows). */
const aBlockBytes = (m: number) => 4 * GEMM_KC * Math.min(GEMM_MC, Math.ceil(m / GEMM_MR) * GEMM_MR);

/** Bytes of scratch {@linkcode gemm} needs: a packed A block, then a packed B block. */
export function gemmScratchBytes(m: number, n: number): number {
  return aBlockBytes(m) + 4 * GEMM_KC * Math.min(GEMM_NC, n);
}

/**
 * C = op(A)·op(B) (see {@linkcode GemmArgs}), C row-major (m, n), overwritten.
 *
 * @param scratch byte address of {@linkcode gemmScratchBytes} bytes, 16-byte aligned
 */
export function gemm(g: GemmModule, p: GemmArgs, scratch: number): void {
  const { m, k, n } = p;
  // element strides in bytes: op(A)(i, kk) at a + i·sar + kk·sak; op(B)(kk, j) at b + kk·sbk + j·sbn
  const [sar, sak] = p.transposeA ? [4, 4 * m] : [4 * k, 4];
  const [sbk, sbn] = p.transposeB ? [4, 4 * k] : [4 * n, 4];
  const ap = scratch, bp = scratch + aBlockBytes(m);
  const ldc = 4 * n;
  for (let jc = 0; jc < n; jc += GEMM_NC) {
    const nc = Math.min(GEMM_NC, n - jc);
    const nFull = nc - (nc % GEMM_NR), nRest = nc - nFull, nvRest = nRest / 4;
    for (let pc = 0; pc < k; pc += GEMM_KC) {
      const kc = Math.min(GEMM_KC, k - pc), u = unrollFor(kc), kpad = Math.ceil(kc / u) * u;
      const acc = pc > 0 ? 1 : 0;
      const bSrc = p.b + pc * sbk + jc * sbn;
      if (nFull > 0) packBlock(g, bSrc, bp, nFull, kc, kpad, sbn, sbk, GEMM_NR);
      const bRest = bp + 4 * kpad * nFull;
      if (nRest > 0) packBlock(g, bSrc + nFull * sbn, bRest, nRest, kc, kpad, sbn, sbk, nRest);
      for (let ic = 0; ic < m; ic += GEMM_MC) {
        const mc = Math.min(GEMM_MC, m - ic);
        const mFull = Math.floor(mc / GEMM_MR), mRest = mc % GEMM_MR;
        packBlock(g, p.a + ic * sar + pc * sak, ap, mc, kc, kpad, sar, sak, GEMM_MR);
        const c = p.c + ic * ldc + 4 * jc, cRest = c + mFull * GEMM_MR * ldc, aRest = ap + 16 * kpad * mFull;
        const nt = nFull / GEMM_NR;
        if (mFull > 0 && nt > 0) g.kernels[`k4x3u${u}`]!(ap, bp, c, ldc, kpad, mFull, nt, acc);
        if (mRest > 0 && nt > 0) g.kernels[`k${mRest}x3u${u}`]!(aRest, bp, cRest, ldc, kpad, 1, nt, acc);
        if (nRest > 0) {
          if (mFull > 0) g.kernels[`k4x${nvRest}u${u}`]!(ap, bRest, c + 4 * nFull, ldc, kpad, mFull, 1, acc);
          if (mRest > 0) g.kernels[`k${mRest}x${nvRest}u${u}`]!(aRest, bRest, cRest + 4 * nFull, ldc, kpad, 1, 1, acc);
        }
      }
    }
  }
}

/**
 * Packs `rows` rows of X (X(r, kk) at `src + r·sr + kk·sk`, depth `k`, zero-padded to `kpad`) into panels of `w` rows
 * at `dst`: vector copies where rows or depth are contiguous, one float at a time for the edges.
 */
function packBlock(
  g: GemmModule,
  src: number,
  dst: number,
  rows: number,
  k: number,
  kpad: number,
  sr: number,
  sk: number,
  w: number,
) {
  const panels = Math.floor(rows / w), rest = rows - panels * w;
  if (panels > 0) {
    if (sr === 4) g.packRows(src, dst, panels, k, kpad, sk, w);
    else if (sk === 4) {
      const k4 = k - (k % 4);
      g.packCols(src, dst, panels, k4, kpad, sr, w);
      if (k4 < kpad) g.pack(src, dst, panels * w, k, k4, kpad, sr, sk, w);
    } else g.pack(src, dst, panels * w, k, 0, kpad, sr, sk, w);
  }
  if (rest > 0) g.pack(src + panels * w * sr, dst + 4 * panels * w * kpad, rest, k, 0, kpad, sr, sk, w);
}

/**
 * The TypeScript twin: op(A)·op(B) with float64 sums, rounded to float32 (what the tests compare the kernel with).
 */
export function gemmTwin(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let kk = 0; kk < k; kk++) {
        s += a[transposeA ? kk * m + i : i * k + kk]! * b[transposeB ? j * k + kk : kk * n + j]!;
      }
      c[i * n + j] = s;
    }
  }
  return c;
}
