/**
 * WebAssembly SIMD loops for the Winograd transforms (`_winograd.ts`), two gradients (`_wasm_kernels.ts`) and AdamW, run on
 * tfjs-wasm's own memory (imported, so they read and write tensors in place). The same loops in JavaScript ran at
 * ~1 ns per scalar operation: 100 ms for one data transform at B = 4, against ~180 ms saved in the products. The module is assembled here from the
 * {@linkcode LOOPS} table (no WebAssembly toolchain is reachable from this project's machines). For each f32x4 lane
 * group at byte k < bytes:
 *
 * - `t7(i0..i6, o0..o6, bytes)`: `o0 = i0 − i4, o1 = i2 + i4, o2 = i4 − i2, o3 = i6 − i2` (the 4-point data transform
 *   of i0, i2, i4, i6) and `o4 = i1 − i5, o5 = i3 + i5, o6 = i5 − i3` (the 3-point one of i1, i3, i5);
 * - `o4(a, b, c, d, y0, y1, y2, bytes)`: `y0 = a + (b + c), y1 = b − c, y2 = (b + c) + d` (the output transform);
 * - `u3(y0, y1, y2, m0..m3, bytes)`: `m0 = y0, m1 = (y0 + y2) + y1, m2 = (y0 + y2) − y1, m3 = y2` (the output
 *   transform's transpose);
 * - `t7t(a0..a3, b0..b2, o0..o6, bytes)`: `o0 = a0, o2 = (a1 − a2) − a3, o4 = (a1 + a2) − a0, o6 = a3` and
 *   `o1 = b0, o3 = b1 − b2, o5 = (b1 + b2) − b0` (the data transform's transpose); `t7ta` adds these to o0..o6;
 * - `reluGrad(dy, x, dx, bytes)`: `dx = x > 0 ? dy : 0` (`_wasm_kernels.ts`: a JavaScript loop over heap views slows
 *   from ~2 to ~20 ns per value once the views start past 1 GB of the wasm memory, as in a training step);
 * - `mulAcc(a, b, acc, bytes)`: `acc += a · b` (the depthwise conv's filter gradient, `_wasm_kernels.ts`);
 * - `adamw(p, g, m, v, u0..u8, p', m', v', bytes)`: one AdamW update (`lib/train/adamw_wasm.ts`; the uniforms are
 *   pointers to single floats, see `ADAMW_OUTPUTS`);
 * - `rowsMulAcc(x, w, acc, rows, bytes)`: `acc[r] += x[r] · w` for `rows` consecutive rows of `bytes` each, w one row
 *   (a depthwise conv tap over a run of time steps, `_wasm_kernels.ts`); not from the table.
 *
 * Every argument is a byte address in the memory; `bytes` must be a multiple of 16.
 *
 * @module
 */
import { body, forLoop, I32, moduleBytes, op, V128 } from "../wasm/asm.ts";

/** The loops, bound to one memory: pointers to the inputs, then to the outputs, then the byte count. */
export interface SimdTransforms {
  t7(...args: number[]): void;
  o4(...args: number[]): void;
  u3(...args: number[]): void;
  t7t(...args: number[]): void;
  t7ta(...args: number[]): void;
  reluGrad(...args: number[]): void;
  mulAcc(...args: number[]): void;
  adamw(...args: number[]): void;
  rowsMulAcc(...args: number[]): void;
}

/**
 * An output's value: an input (its index), a uniform (`{ u: i }`: the float at the i-th uniform pointer, the same in
 * every lane), a sum, difference, product or quotient of two values, a square root, or `["mask", a, b]`: a where b > 0,
 * else +0 (Relu's gradient as PyTorch's threshold_backward gives it). Evaluated in f32x4 as written, each operation
 * rounded to float32 as IEEE 754 requires.
 */
export type Expr =
  | number
  | { readonly u: number }
  | readonly ["+" | "-" | "*" | "/" | "mask", Expr, Expr]
  | readonly ["sqrt", Expr];

/**
 * One loop: `inputs` pointers in, `uniforms` pointers to single floats, one pointer per output, then `bytes`;
 * `accumulate` adds to the outputs.
 */
export interface LoopSpec {
  name: string;
  inputs: number;
  uniforms?: number;
  outputs: readonly Expr[];
  accumulate: boolean;
}

/**
 * AdamW's update as PyTorch computes it (`_single_tensor_adamw`), on p, g, m, v with uniforms [clip scale, decay =
 * 1 − lr·wd, β1, 1 − β1, β2, 1 − β2, √(1 − β2^t), eps, step size = lr / (1 − β1^t)]: g' = g·scale,
 * m' = m·β1 + g'·(1 − β1), v' = v·β2 + g'²·(1 − β2), p' = p·decay − m' / (√v' / √(1 − β2^t) + eps) · step size.
 */
const ADAMW_OUTPUTS: readonly Expr[] = (() => {
  const u = (i: number) => ({ u: i });
  const gs: Expr = ["*", 1, u(0)];
  const m: Expr = ["+", ["*", 2, u(2)], ["*", gs, u(3)]];
  const v: Expr = ["+", ["*", 3, u(4)], ["*", ["*", gs, gs], u(5)]];
  const denom: Expr = ["+", ["/", ["sqrt", v], u(6)], u(7)];
  return [["-", ["*", 0, u(1)], ["*", ["/", m, denom], u(8)]], m, v];
})();

/** The loops of this module (see the module doc). */
export const LOOPS: readonly LoopSpec[] = [
  {
    name: "t7",
    inputs: 7,
    outputs: [["-", 0, 4], ["+", 2, 4], ["-", 4, 2], ["-", 6, 2], ["-", 1, 5], ["+", 3, 5], ["-", 5, 3]],
    accumulate: false,
  },
  { name: "o4", inputs: 4, outputs: [["+", 0, ["+", 1, 2]], ["-", 1, 2], ["+", ["+", 1, 2], 3]], accumulate: false },
  { name: "u3", inputs: 3, outputs: [0, ["+", ["+", 0, 2], 1], ["-", ["+", 0, 2], 1], 2], accumulate: false },
  ...[false, true].map((accumulate) => ({
    name: accumulate ? "t7ta" : "t7t",
    inputs: 7, // a0..a3, b0..b2
    outputs: [0, 4, ["-", ["-", 1, 2], 3], ["-", 5, 6], ["-", ["+", 1, 2], 0], ["-", ["+", 5, 6], 4], 3] as Expr[],
    accumulate,
  })),
  { name: "reluGrad", inputs: 2, outputs: [["mask", 0, 1]], accumulate: false }, // (dy, x) -> dx
  { name: "mulAcc", inputs: 2, outputs: [["*", 0, 1]], accumulate: true }, // (a, b, acc): acc += a·b
  { name: "adamw", inputs: 4, uniforms: 9, outputs: ADAMW_OUTPUTS, accumulate: false }, // (p, g, m, v) -> p', m', v'
];

function loopBody({ inputs, uniforms = 0, outputs, accumulate }: LoopSpec): number[] {
  // params: inputs, uniforms, outputs, bytes; locals: k, then one v128 per input and per uniform
  const n = inputs + uniforms + outputs.length, k = n + 1, v = (i: number) => k + 1 + i;
  const at = (p: number) => [...op.get(p), ...op.get(k), ...op.i32Add];
  const expr = (e: Expr): number[] => {
    if (typeof e === "number") return op.get(v(e));
    if (!Array.isArray(e)) return op.get(v(inputs + (e as { u: number }).u));
    const t = e as Exclude<Expr, number | { u: number }>;
    if (t[0] === "sqrt") return [...expr(t[1]), ...op.sqrt];
    if (t[0] === "mask") return [...expr(t[1]), ...expr(t[2]), ...op.zero, ...op.gt, ...op.and];
    const code = { "+": op.add, "-": op.sub, "*": op.mul, "/": op.div }[t[0]];
    return [...expr(t[1]), ...expr(t[2]), ...code];
  };
  const pre: number[] = []; // the uniforms, splat once before the loop
  for (let i = 0; i < uniforms; i++) pre.push(...op.get(inputs + i), ...op.splat(), ...op.set(v(inputs + i)));
  const code: number[] = [];
  for (let i = 0; i < inputs; i++) code.push(...at(i), ...op.load(), ...op.set(v(i)));
  outputs.forEach((e, o) => {
    code.push(...at(inputs + uniforms + o));
    if (accumulate) code.push(...at(inputs + uniforms + o), ...op.load());
    code.push(...expr(e));
    if (accumulate) code.push(...op.add);
    code.push(...op.store());
  });
  return body([[1, I32], [inputs + uniforms, V128]], [...pre, ...forLoop(k, op.get(n), 16, code)]);
}

/** The module's bytes: imports `env.memory`, exports the {@linkcode LOOPS}. */
export function simdModuleBytes(): Uint8Array {
  return moduleBytes([
    ...LOOPS.map((l) => ({
      name: l.name,
      params: l.inputs + (l.uniforms ?? 0) + l.outputs.length + 1,
      body: loopBody(l),
    })),
    { name: "rowsMulAcc", params: 5, body: rowsMulAccBody() },
  ]);
}

/** `rowsMulAcc(x, w, acc, rows, bytes)` (module doc): multiply and add rounded separately, as the twin does. */
function rowsMulAccBody(): number[] {
  const [X, W, ACC, ROWS, BYTES, R, O] = [0, 1, 2, 3, 4, 5, 6];
  const at = (p: number) => [...op.get(p), ...op.get(O), ...op.i32Add];
  const product = [...at(X), ...op.load(), ...at(W), ...op.load(), ...op.mul];
  const row = [
    ...forLoop(O, op.get(BYTES), 16, [...at(ACC), ...at(ACC), ...op.load(), ...product, ...op.add, ...op.store()]),
    ...[X, ACC].flatMap((p) => [...op.get(p), ...op.get(BYTES), ...op.i32Add, ...op.set(p)]),
  ];
  return body([[2, I32]], forLoop(R, op.get(ROWS), 1, row));
}

const cache = new WeakMap<WebAssembly.Memory, SimdTransforms>();

/** The loops bound to `memory` (compiled once per memory). */
export function simdTransforms(memory: WebAssembly.Memory): SimdTransforms {
  let t = cache.get(memory);
  if (t === undefined) {
    const module = new WebAssembly.Module(simdModuleBytes() as BufferSource);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    t = instance.exports as unknown as SimdTransforms;
    cache.set(memory, t);
  }
  return t;
}
