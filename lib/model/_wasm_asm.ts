/**
 * The WebAssembly binary encoding that `_wasm_simd.ts` and `_wasm_gemm.ts` assemble their modules with (no WebAssembly
 * toolchain is reachable from this project's machines): LEB128 numbers, vectors, names, sections, function bodies,
 * the opcodes they use, and a module of i32-parameter functions that imports one memory.
 *
 * @module
 */

/** Value types. */
export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;

/** Unsigned LEB128. */
export function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128. */
export function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/** A vector: its length, then its items. */
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
/** A name (UTF-8 bytes as a vector). */
export const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));
/** A section: id, size, body. */
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** The opcodes used here (memory immediates: alignment exponent, then offset). */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  ifF32: [0x04, F32],
  else: [0x05],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, depth],
  br: (depth: number) => [0x0c, depth],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  f32Load: [0x2a, 0x02, 0x00],
  f32Store: [0x38, 0x02, 0x00],
  f32Zero: [0x43, 0, 0, 0, 0],
  load: (offset = 0) => [0xfd, 0x00, 0x00, ...uleb(offset)], // v128.load align=1
  store: (offset = 0) => [0xfd, 0x0b, 0x00, ...uleb(offset)], // v128.store align=1
  splat: (offset = 0) => [0xfd, 0x09, 0x02, ...uleb(offset)], // v128.load32_splat align=4
  add: [0xfd, 0xe4, 0x01], // f32x4.add
  sub: [0xfd, 0xe5, 0x01], // f32x4.sub
  mul: [0xfd, 0xe6, 0x01], // f32x4.mul
  div: [0xfd, 0xe7, 0x01], // f32x4.div
  sqrt: [0xfd, 0xe3, 0x01], // f32x4.sqrt
  madd: [0xfd, 0x85, 0x02], // f32x4.relaxed_madd (relaxed SIMD): a·b + c, fused where the CPU has FMA
  shuffle: (lanes: number[]) => [0xfd, 0x0d, ...lanes], // i8x16.shuffle: 16 byte indices into a ++ b
  zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)], // v128.const 0
  gt: [0xfd, 0x44], // f32x4.gt
  and: [0xfd, 0x4e], // v128.and
};

/** `for (i = from; i < to; i += step) body`, each bound given as the code that pushes it (unsigned compare). */
export function forRange(i: number, from: number[], to: number[], step: number[], body: number[]): number[] {
  return [
    ...from,
    ...op.set(i),
    ...op.block,
    ...op.loop,
    ...op.get(i),
    ...to,
    ...op.i32GeU,
    ...op.brIf(1),
    ...body,
    ...op.get(i),
    ...step,
    ...op.i32Add,
    ...op.set(i),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** `for (i = 0; i < n; i += step) body`, with n pushed by `n`'s code. */
export function forLoop(i: number, n: number[], step: number, body: number[]): number[] {
  return forRange(i, op.i32Const(0), n, op.i32Const(step), body);
}

/** Function body: locals (runs of [count, type]) and code, with its size prefix. */
export function body(locals: [number, number][], code: number[]): number[] {
  const b = [...vec(locals.map(([c, t]) => [...uleb(c), t])), ...code, ...op.end];
  return [...uleb(b.length), ...b];
}

/** A module that imports `env.memory` and exports functions of i32 parameters and no result. */
export function moduleBytes(functions: readonly { name: string; params: number; body: number[] }[]): Uint8Array {
  const type = (params: number) => [0x60, ...vec(Array.from({ length: params }, () => [I32])), 0x00];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...section(1, vec(functions.map((f) => type(f.params)))),
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, 0x00]])), // memory, min 0 pages
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(functions.map((f) => f.body))),
  ]);
}
