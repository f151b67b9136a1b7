/**
 * The WebAssembly binary encoding of every module this project generates at run time (no WebAssembly toolchain is
 * reachable from its machines, and no binary blobs are kept in the repository: the generator is the source): LEB128
 * numbers, vectors, names, sections, function bodies and modules; plus the opcode table and loops that the model's
 * modules (`lib/model/_wasm_simd.ts`, `lib/model/_wasm_gemm.ts`) are written with. The CQT engine writes its code with
 * the builder in `lib/features/_wasm_asm.ts`, on this encoding.
 *
 * @module
 */

/** Value types. */
export const I32 = 0x7f, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;

/**
 * Unsigned LEB128.
 *
 * @throws {RangeError} for a negative or non-integer value
 */
export function uleb(v: number): number[] {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`uleb: bad value ${v}`);
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/**
 * Signed LEB128.
 *
 * @throws {RangeError} for a non-integer value
 */
export function sleb(v: number): number[] {
  if (!Number.isInteger(v)) throw new RangeError(`sleb: bad value ${v}`);
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v = Math.floor(v / 128);
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

/** One exported function: its name, parameter types (or a count of i32 parameters), and encoded {@linkcode body}. */
export interface ModuleFunction {
  name: string;
  params: number | readonly number[];
  body: number[];
}

/**
 * A module of functions without results, each exported under its name, with one memory: imported as `env.memory`
 * (`{ import: true }`), or its own, exported as `memory` with `pages` initial 64 KiB pages.
 */
export function moduleBytes(
  functions: readonly ModuleFunction[],
  memory: { import: true } | { pages: number } = { import: true },
): Uint8Array<ArrayBuffer> {
  const params = (p: number | readonly number[]) => typeof p === "number" ? Array.from({ length: p }, () => I32) : p;
  const type = (p: number | readonly number[]) => [0x60, ...vec(params(p).map((t) => [t])), 0x00];
  const own = "pages" in memory;
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...section(1, vec(functions.map((f) => type(f.params)))),
    ...(own ? [] : section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, 0x00]]))), // min 0 pages
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...(own ? section(5, vec([[0x00, ...uleb(memory.pages)]])) : []),
    ...section(7, vec(own ? [[...name("memory"), 0x02, 0x00], ...exports] : exports)),
    ...section(10, vec(functions.map((f) => f.body))),
  ]);
}
