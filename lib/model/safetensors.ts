/**
 * safetensors reading and writing: an 8-byte little-endian header length N, N bytes of JSON
 * (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`), then the
 * tensors' little-endian bytes, row-major, at the given offsets of the data section. Hand-written: the
 * format is that small. Also the in-memory tensor type shared by the checkpoint importer and the params.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, readSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors(new Map([["w", { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) }]]));
 * console.log(readSafetensors(bytes).get("w")!.data); // Float32Array [1, 2]
 * ```
 *
 * @module
 */

/** Element types read and written: float32/float64 and int32/int64 (safetensors names). */
export type TensorDtype = "F32" | "F64" | "I32" | "I64";

/** A dense host tensor, row-major. */
export interface HostTensor {
  /** Element type; `data`'s array type matches it. */
  dtype: TensorDtype;
  /** Shape; `[]` for a scalar. */
  shape: number[];
  /** Values in row-major (C) order. */
  data: Float32Array | Float64Array | Int32Array | BigInt64Array;
}

/** Tensors by name (e.g. PyTorch state_dict keys), in file order. */
export type TensorMap = Map<string, HostTensor>;

const BYTES: Record<TensorDtype, number> = { F32: 4, F64: 8, I32: 4, I64: 8 };

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function arrayOf(dtype: TensorDtype, buf: ArrayBuffer): HostTensor["data"] {
  switch (dtype) {
    case "F32":
      return new Float32Array(buf);
    case "F64":
      return new Float64Array(buf);
    case "I32":
      return new Int32Array(buf);
    case "I64":
      return new BigInt64Array(buf);
  }
}

/** Copies `n` little-endian elements from `bytes` into a new typed array of `dtype` (host byte order). */
export function fromLittleEndian(dtype: TensorDtype, bytes: Uint8Array, n: number): HostTensor["data"] {
  const size = BYTES[dtype];
  const copy = bytes.slice(0, n * size); // fresh, aligned buffer
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  return arrayOf(dtype, copy.buffer);
}

function toLittleEndian(data: HostTensor["data"]): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    for (let i = 0; i < bytes.length; i += data.BYTES_PER_ELEMENT) {
      bytes.subarray(i, i + data.BYTES_PER_ELEMENT).reverse();
    }
  }
  return bytes;
}

function dtypeOfArray(data: HostTensor["data"]): TensorDtype {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  if (data instanceof Int32Array) return "I32";
  return "I64";
}

/**
 * Parses a safetensors file.
 *
 * @param bytes the whole file
 * @returns tensors by name, in header order (`__metadata__` is skipped)
 * @throws {SyntaxError} for a truncated file, bad JSON, or offsets that do not match dtype and shape
 * @throws {TypeError} for a dtype other than F32, F64, I32, I64
 */
export function readSafetensors(bytes: Uint8Array): TensorMap {
  if (bytes.length < 8) throw new SyntaxError(`safetensors: file too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.length) {
    throw new SyntaxError(`safetensors: header length ${headerLen} exceeds the file (${bytes.length} bytes)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new SyntaxError(`safetensors: header is not JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new SyntaxError("safetensors: header must be a JSON object");
  }
  const data = bytes.subarray(8 + headerLen);
  const out: TensorMap = new Map();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== "string" || !(e.dtype in BYTES)) {
      throw new TypeError(
        `safetensors: '${name}' has unsupported dtype ${JSON.stringify(e.dtype)} (F32, F64, I32, I64)`,
      );
    }
    const dtype = e.dtype as TensorDtype;
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SyntaxError(`safetensors: '${name}' has a bad shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new SyntaxError(`safetensors: '${name}' has bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const n = numel(shape);
    if (end - begin !== n * BYTES[dtype] || end > data.length) {
      throw new SyntaxError(
        `safetensors: '${name}' (${dtype} ${JSON.stringify(shape)}) needs ${n * BYTES[dtype]} bytes, ` +
          `data_offsets [${begin}, ${end}] give ${end - begin} within a ${data.length}-byte data section`,
      );
    }
    out.set(name, { dtype, shape: [...shape], data: fromLittleEndian(dtype, data.subarray(begin, end), n) });
  }
  return out;
}

/**
 * Serialises tensors to safetensors bytes, in map order, with the header padded by spaces to a multiple
 * of 8 bytes (as the reference writer does).
 *
 * @param tensors tensors by name; each `data` must match its `dtype` and `shape`
 * @param metadata optional string-to-string `__metadata__`
 * @throws {TypeError} when a tensor's array type, dtype or length disagree
 */
export function encodeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    if (name === "__metadata__") throw new TypeError("safetensors: '__metadata__' is reserved");
    if (dtypeOfArray(t.data) !== t.dtype) {
      throw new TypeError(`safetensors: '${name}' is declared ${t.dtype} but holds a ${t.data.constructor.name}`);
    }
    if (t.data.length !== numel(t.shape)) {
      throw new TypeError(`safetensors: '${name}' has ${t.data.length} values for shape ${JSON.stringify(t.shape)}`);
    }
    const bytes = toLittleEndian(t.data);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
