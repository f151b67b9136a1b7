/**
 * A builder for the CQT engine's code (`_cqt_wasm.ts`): a function body with named locals and the i32/f64 scalar and
 * 128-bit SIMD (f64x2) instructions it uses, encoded as `lib/wasm/asm.ts` encodes every generated module.
 *
 * @module
 */
import { moduleBytes, sleb as slebBytes, uleb as ulebBytes } from "../wasm/asm.ts";

export { F64, I32, V128 } from "../wasm/asm.ts";

const uleb = (n: number, out: number[]) => out.push(...ulebBytes(n));
const sleb = (n: number, out: number[]) => out.push(...slebBytes(n));

/** Instruction stream of one function body, with named locals. */
export class FunctionBody {
  readonly #code: number[] = [];
  readonly #params: number[];
  readonly #locals: number[] = [];

  /** @param params parameter types (locals 0..n−1) */
  constructor(params: number[]) {
    this.#params = params;
  }

  /** Declares a local of `type`; returns its index. */
  local(type: number): number {
    this.#locals.push(type);
    return this.#params.length + this.#locals.length - 1;
  }

  /** Encoded body (locals + code + end). */
  encode(): number[] {
    const body: number[] = [];
    uleb(this.#locals.length, body);
    for (const t of this.#locals) {
      body.push(1, t);
    }
    body.push(...this.#code, 0x0b);
    const out: number[] = [];
    uleb(body.length, out);
    return out.concat(body);
  }

  // ---- control ----
  /** `block` (no result). */
  block(): this {
    this.#code.push(0x02, 0x40);
    return this;
  }
  /** `loop` (no result). */
  loop(): this {
    this.#code.push(0x03, 0x40);
    return this;
  }
  /** `end`. */
  end(): this {
    this.#code.push(0x0b);
    return this;
  }
  /** `br depth`. */
  br(depth: number): this {
    this.#code.push(0x0c);
    uleb(depth, this.#code);
    return this;
  }
  /** `br_if depth`. */
  brIf(depth: number): this {
    this.#code.push(0x0d);
    uleb(depth, this.#code);
    return this;
  }

  // ---- locals and constants ----
  /** `local.get`. */
  get(i: number): this {
    this.#code.push(0x20);
    uleb(i, this.#code);
    return this;
  }
  /** `local.set`. */
  set(i: number): this {
    this.#code.push(0x21);
    uleb(i, this.#code);
    return this;
  }
  /** `local.tee`. */
  tee(i: number): this {
    this.#code.push(0x22);
    uleb(i, this.#code);
    return this;
  }
  /** `i32.const`. */
  i32(n: number): this {
    this.#code.push(0x41);
    sleb(n | 0, this.#code);
    return this;
  }

  // ---- i32 arithmetic ----
  /** `i32.add`. */
  add(): this {
    this.#code.push(0x6a);
    return this;
  }
  /** `i32.sub`. */
  sub(): this {
    this.#code.push(0x6b);
    return this;
  }
  /** `i32.mul`. */
  mul(): this {
    this.#code.push(0x6c);
    return this;
  }
  /** `i32.shl`. */
  shl(): this {
    this.#code.push(0x74);
    return this;
  }
  /** `i32.lt_u`. */
  ltU(): this {
    this.#code.push(0x49);
    return this;
  }
  /** `i32.lt_s`. */
  ltS(): this {
    this.#code.push(0x48);
    return this;
  }
  /** `i32.eqz`. */
  eqz(): this {
    this.#code.push(0x45);
    return this;
  }
  /** `i32.ge_s`. */
  geS(): this {
    this.#code.push(0x4e);
    return this;
  }
  /** `i32.load offset` (4-byte aligned). */
  i32Load(offset = 0): this {
    this.#code.push(0x28, 2);
    uleb(offset, this.#code);
    return this;
  }

  // ---- f64 scalar ----
  /** `f64.const`. */
  f64(x: number): this {
    this.#code.push(0x44, ...new Uint8Array(new Float64Array([x]).buffer));
    return this;
  }
  /** `f64.add`. */
  fadd(): this {
    this.#code.push(0xa0);
    return this;
  }
  /** `f64.sub`. */
  fsub(): this {
    this.#code.push(0xa1);
    return this;
  }
  /** `f64.mul`. */
  fmul(): this {
    this.#code.push(0xa2);
    return this;
  }
  /** `f64.sqrt`. */
  fsqrt(): this {
    this.#code.push(0x9f);
    return this;
  }
  /** `f64.store offset`. */
  fstore(offset = 0): this {
    this.#code.push(0x39, 3);
    uleb(offset, this.#code);
    return this;
  }

  // ---- SIMD ----
  #simd(op: number): this {
    this.#code.push(0xfd);
    uleb(op, this.#code);
    return this;
  }
  /** `v128.load offset` (align hint 8 bytes: the arrays are f64-aligned). */
  vload(offset = 0): this {
    this.#simd(0x00);
    this.#code.push(3);
    uleb(offset, this.#code);
    return this;
  }
  /** `v128.load64_zero offset`: one f64 in lane 0, zero in lane 1. */
  vload64Zero(offset = 0): this {
    this.#simd(0x5d);
    this.#code.push(3);
    uleb(offset, this.#code);
    return this;
  }
  /** `v128.store offset`. */
  vstore(offset = 0): this {
    this.#simd(0x0b);
    this.#code.push(3);
    uleb(offset, this.#code);
    return this;
  }
  /** `v128.const` of two f64. */
  vconstF64(a: number, b: number): this {
    this.#simd(0x0c);
    const bytes = new Uint8Array(new Float64Array([a, b]).buffer);
    this.#code.push(...bytes);
    return this;
  }
  /** `i8x16.shuffle` choosing f64 lanes: 0,1 from the first operand, 2,3 from the second. */
  shuffleF64(lane0: number, lane1: number): this {
    this.#simd(0x0d);
    for (const l of [lane0, lane1]) for (let b = 0; b < 8; b++) this.#code.push(l * 8 + b);
    return this;
  }
  /** `f64x2.extract_lane`. */
  extract(lane: number): this {
    this.#simd(0x21);
    this.#code.push(lane);
    return this;
  }
  /** `f64x2.add`. */
  vadd(): this {
    return this.#simd(0xf0);
  }
  /** `f64x2.sub`. */
  vsub(): this {
    return this.#simd(0xf1);
  }
  /** `f64x2.mul`. */
  vmul(): this {
    return this.#simd(0xf2);
  }
}

/** One exported function of a module. */
export interface WasmFunction {
  /** Export name. */
  name: string;
  /** Parameter types. */
  params: number[];
  /** The body. */
  body: FunctionBody;
}

/**
 * Encodes a module: one exported memory ("memory", `pages` initial 64 KiB pages) and the given functions
 * (no results), each exported under its name.
 *
 * @param pages initial memory size in pages
 * @param functions the functions
 * @returns the module bytes
 */
export function encodeModule(pages: number, functions: WasmFunction[]): Uint8Array<ArrayBuffer> {
  return moduleBytes(functions.map((f) => ({ name: f.name, params: f.params, body: f.body.encode() })), { pages });
}
