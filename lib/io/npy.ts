/**
 * Reads and writes NumPy `.npy` files (format version 1.0-3.0), the feature format of the reference
 * implementation: `cqt_feat/<utt>.cqt.npy` holds a `(T, 96)` matrix, time-major.
 *
 * @module
 */

/** A dense array read from or written to a `.npy` file. */
export interface NpyArray<D extends Float32Array | Float64Array | Int32Array | BigInt64Array = Float32Array> {
  /** Row-major (C order) values. */
  data: D;
  /** Shape, e.g. `[T, 96]`. */
  shape: number[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

type Descr = "<f4" | "<f8" | "<i4" | "<i8" | "|u1";

function parseHeader(
  bytes: Uint8Array,
  name: string,
): { descr: Descr; shape: number[]; fortran: boolean; offset: number } {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new SyntaxError(`${name}: not a .npy file (bad magic)`);
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new SyntaxError(`${name}: unsupported .npy version ${major}`);
  }
  if (start + headerLen > bytes.length) throw new SyntaxError(`${name}: truncated .npy header`);
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) {
    throw new SyntaxError(`${name}: malformed .npy header: ${header.trim()}`);
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new SyntaxError(`${name}: bad shape (${shapeText})`);
  const known: Descr[] = ["<f4", "<f8", "<i4", "<i8", "|u1"];
  if (!known.includes(descr as Descr)) throw new TypeError(`${name}: unsupported dtype '${descr}'`);
  return { descr: descr as Descr, shape, fortran, offset: start + headerLen };
}

function transposeFortran<T extends { length: number; [i: number]: number | bigint }>(
  src: T,
  shape: number[],
  make: (n: number) => T,
): T {
  if (shape.length < 2) return src;
  const out = make(src.length);
  const n = shape.length;
  const fStrides = new Array<number>(n);
  let s = 1;
  for (let d = 0; d < n; d++) {
    fStrides[d] = s;
    s *= shape[d]!;
  }
  const idx = new Array<number>(n).fill(0);
  for (let c = 0; c < src.length; c++) {
    let f = 0;
    for (let d = 0; d < n; d++) f += idx[d]! * fStrides[d]!;
    out[c] = src[f]!;
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Parses `.npy` bytes. Floating-point files (float32 or float64, e.g. from the Python tools) are
 * returned as Float32Array unless `keepFloat64` is set.
 *
 * @param bytes the file contents
 * @param name used in error messages (usually the path)
 * @throws {SyntaxError} on a malformed file, {TypeError} on an unsupported dtype
 */
export function parseNpy(
  bytes: Uint8Array,
  name = "<npy>",
  keepFloat64 = false,
): NpyArray<Float32Array | Float64Array | Int32Array | BigInt64Array> {
  const { descr, shape, fortran, offset } = parseHeader(bytes, name);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = descr === "|u1" ? 1 : descr === "<f4" || descr === "<i4" ? 4 : 8;
  if (offset + count * itemSize > bytes.length) {
    throw new SyntaxError(
      `${name}: truncated .npy data (expected ${count * itemSize} bytes, got ${bytes.length - offset})`,
    );
  }
  const copy = bytes.slice(offset, offset + count * itemSize); // aligned copy
  let data: Float32Array | Float64Array | Int32Array | BigInt64Array;
  switch (descr) {
    case "<f4":
      data = new Float32Array(copy.buffer, 0, count);
      break;
    case "<f8": {
      const f64 = new Float64Array(copy.buffer, 0, count);
      data = keepFloat64 ? f64 : Float32Array.from(f64);
      break;
    }
    case "<i4":
      data = new Int32Array(copy.buffer, 0, count);
      break;
    case "<i8":
      data = new BigInt64Array(copy.buffer, 0, count);
      break;
    case "|u1":
      data = Int32Array.from(copy);
      break;
  }
  if (fortran) {
    // deno-lint-ignore no-explicit-any
    const ctor = (data as any).constructor as new (n: number) => typeof data;
    data = transposeFortran(data, shape, (n) => new ctor(n));
  }
  return { data, shape };
}

/** Reads a float `.npy` file as Float32Array (float64 input is converted). */
export async function readNpy(path: string): Promise<NpyArray<Float32Array>> {
  const arr = parseNpy(await Deno.readFile(path), path);
  if (!(arr.data instanceof Float32Array)) throw new TypeError(`${path}: expected a float array`);
  return arr as NpyArray<Float32Array>;
}

/** Reads a float `.npy` file keeping float64 precision (float32 input is widened). */
export async function readNpyFloat64(path: string): Promise<NpyArray<Float64Array>> {
  const arr = parseNpy(await Deno.readFile(path), path, true);
  if (arr.data instanceof Float64Array) return arr as NpyArray<Float64Array>;
  if (arr.data instanceof Float32Array) return { data: Float64Array.from(arr.data), shape: arr.shape };
  throw new TypeError(`${path}: expected a float array`);
}

/** Serialises an array as `.npy` version 1.0 bytes (float32, float64 or int32, C order). */
export function encodeNpy(arr: NpyArray<Float32Array | Float64Array | Int32Array>): Uint8Array {
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) {
    throw new RangeError(
      `encodeNpy: shape (${arr.shape.join(",")}) holds ${count} values, data has ${arr.data.length}`,
    );
  }
  const descr = arr.data instanceof Float32Array ? "<f4" : arr.data instanceof Float64Array ? "<f8" : "<i4";
  const shapeText = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Header padded with spaces so that data starts on a 64-byte boundary, ending in '\n'.
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + headerBytes.length + arr.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), 10 + headerBytes.length);
  return out;
}

/**
 * Reads only the header of a `.npy` file and checks that the file holds all the data it declares,
 * so a resumed extraction can trust (and size) an existing feature file without loading it.
 *
 * @returns the shape, or null when the file is missing, truncated or not a `.npy` file
 */
export async function statNpy(path: string): Promise<{ shape: number[]; dtype: string } | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return null;
  }
  try {
    const head = new Uint8Array(4096);
    const n = await file.read(head) ?? 0;
    const size = (await file.stat()).size;
    const { descr, shape, offset } = parseHeader(head.subarray(0, n), path);
    const itemSize = descr === "|u1" ? 1 : descr === "<f4" || descr === "<i4" ? 4 : 8;
    return size === offset + shape.reduce((a, b) => a * b, 1) * itemSize ? { shape, dtype: descr } : null;
  } catch {
    return null;
  } finally {
    file.close();
  }
}
