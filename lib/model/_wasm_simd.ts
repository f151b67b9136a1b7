/**
 * Two WebAssembly SIMD loops for the Winograd transforms (`_winograd.ts`), run on tfjs-wasm's own memory (imported,
 * so they read and write tensors in place). The same loops in JavaScript ran at ~1 ns per scalar operation: 100 ms
 * for one data transform at B = 4, against ~180 ms saved in the products. The module is assembled here from its
 * instruction list (a few dozen bytes of code; no WebAssembly toolchain is reachable from this project's machines):
 *
 * - `t7(i0..i6, o0..o6, bytes)`: for each f32x4 lane group at byte k < bytes,
 *   `o0 = i0 − i4, o1 = i2 + i4, o2 = i4 − i2, o3 = i6 − i2` (the 4-point data transform of i0, i2, i4, i6) and
 *   `o4 = i1 − i5, o5 = i3 + i5, o6 = i5 − i3` (the 3-point one of i1, i3, i5);
 * - `o4(a, b, c, d, y0, y1, y2, bytes)`: `y0 = a + (b + c), y1 = b − c, y2 = (b + c) + d` (the output transform).
 *
 * Every argument is a byte address in the memory; `bytes` must be a multiple of 16.
 *
 * @module
 */

/** The two loops, bound to one memory. */
export interface SimdTransforms {
  /** The data transform of seven rows (see the module doc). */
  t7(...args: number[]): void;
  /** The output transform of four rows (see the module doc). */
  o4(a: number, b: number, c: number, d: number, y0: number, y1: number, y2: number, bytes: number): void;
}

const I32 = 0x7f, V128 = 0x7b;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, depth],
  br: (depth: number) => [0x0c, depth],
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Add: [0x6a],
  i32GeU: [0x4f],
  load: [0xfd, 0x00, 0x00, 0x00], // v128.load align=1 offset=0
  store: [0xfd, 0x0b, 0x00, 0x00], // v128.store align=1 offset=0
  add: [0xfd, 0xe4, 0x01], // f32x4.add
  sub: [0xfd, 0xe5, 0x01], // f32x4.sub
};

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/**
 * A loop over byte offset k (local `k`) from 0 to `bytes` (local `n`) in steps of 16: the body's code, then k += 16.
 * `load(p)` pushes the v128 at local p + k; `store(p, value)` stores a pushed value at local p + k.
 */
function lanes(k: number, n: number, body: number[]): number[] {
  return [
    ...op.i32Const(0),
    ...op.set(k),
    ...op.block,
    ...op.loop,
    ...op.get(k),
    ...op.get(n),
    ...op.i32GeU,
    ...op.brIf(1),
    ...body,
    ...op.get(k),
    ...op.i32Const(16),
    ...op.i32Add,
    ...op.set(k),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** Function body: locals (runs of [count, type]) and code, with its size prefix. */
function body(locals: [number, number][], code: number[]): number[] {
  const b = [...vec(locals.map(([c, t]) => [...uleb(c), t])), ...code, ...op.end];
  return [...uleb(b.length), ...b];
}

function t7Body(): number[] {
  // params 0..6 = i0..i6, 7..13 = o0..o6, 14 = bytes; locals 15 = k, 16..22 = v0..v6 (v128)
  const k = 15, n = 14, v = (i: number) => 16 + i;
  const at = (p: number) => [...op.get(p), ...op.get(k), ...op.i32Add];
  const code: number[] = [];
  for (let i = 0; i < 7; i++) code.push(...at(i), ...op.load, ...op.set(v(i)));
  const out = (o: number, a: number, b: number, f: number[]) =>
    code.push(...at(7 + o), ...op.get(v(a)), ...op.get(v(b)), ...f, ...op.store);
  out(0, 0, 4, op.sub);
  out(1, 2, 4, op.add);
  out(2, 4, 2, op.sub);
  out(3, 6, 2, op.sub);
  out(4, 1, 5, op.sub);
  out(5, 3, 5, op.add);
  out(6, 5, 3, op.sub);
  return body([[1, I32], [7, V128]], lanes(k, n, code));
}

function o4Body(): number[] {
  // params 0..3 = a, b, c, d, 4..6 = y0..y2, 7 = bytes; locals 8 = k, 9 = b, 10 = c, 11 = b + c (v128)
  const k = 8, n = 7, vb = 9, vc = 10, s = 11;
  const at = (p: number) => [...op.get(p), ...op.get(k), ...op.i32Add];
  const code = [
    ...at(1),
    ...op.load,
    ...op.set(vb),
    ...at(2),
    ...op.load,
    ...op.set(vc),
    ...op.get(vb),
    ...op.get(vc),
    ...op.add,
    ...op.set(s),
    ...at(4),
    ...at(0),
    ...op.load,
    ...op.get(s),
    ...op.add,
    ...op.store,
    ...at(5),
    ...op.get(vb),
    ...op.get(vc),
    ...op.sub,
    ...op.store,
    ...at(6),
    ...op.get(s),
    ...at(3),
    ...op.load,
    ...op.add,
    ...op.store,
  ];
  return body([[1, I32], [3, V128]], lanes(k, n, code));
}

/** The module's bytes: imports `env.memory`, exports `t7` and `o4`. */
export function simdModuleBytes(): Uint8Array {
  const type = (params: number) => [0x60, ...vec(Array.from({ length: params }, () => [I32])), 0x00];
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([type(15), type(8)])),
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, 0x00]])), // memory, min 0 pages
    ...section(3, vec([[0], [1]])),
    ...section(7, vec([[...name("t7"), 0x00, 0], [...name("o4"), 0x00, 1]])),
    ...section(10, vec([t7Body(), o4Body()])),
  ];
  return new Uint8Array(bytes);
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
