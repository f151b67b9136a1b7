/**
 * Reads an original PyTorch checkpoint (`torch.save` zip format, torch >= 1.6) into host tensors with their
 * PyTorch names, without Python. The zip holds `<dir>/data.pkl` (a pickle of the saved object) and one file
 * `<dir>/data/<key>` per storage; tensors are rebuilt from `torch._utils._rebuild_tensor_v2(storage, offset,
 * size, stride, ...)` with the storage's element type, so views and non-contiguous tensors come out as dense
 * row-major copies.
 *
 * @example
 * ```ts
 * import { importTorchCheckpoint } from "./import_torch.ts";
 * const bytes = await Deno.readFile("../shared/golden/g_00000003");
 * const stateDict = importTorchCheckpoint(bytes);
 * console.log(stateDict.get("_global_cmvn.weight")!.shape); // [96]
 * ```
 *
 * @module
 */
import { unzipSync } from "fflate";
import { isGlobal, unpickle } from "./_pickle.ts";
import { fromLittleEndian, type HostTensor, type TensorDtype, type TensorMap } from "./safetensors.ts";

const STORAGE_DTYPES: Record<string, TensorDtype> = {
  FloatStorage: "F32",
  DoubleStorage: "F64",
  IntStorage: "I32",
  LongStorage: "I64",
};
const ELEMENT_BYTES: Record<TensorDtype, number> = { F32: 4, F64: 8, I32: 4, I64: 8 };

interface Storage {
  dtype: TensorDtype;
  data: HostTensor["data"];
}

/** Keys under which training scripts store the state_dict, tried in order. */
const STATE_DICT_KEYS = ["generator", "model", "state_dict"];

function isTensor(v: unknown): v is HostTensor {
  return v !== null && typeof v === "object" && "dtype" in v && "shape" in v && "data" in v;
}

function ints(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0)) {
    throw new SyntaxError(`torch checkpoint: tensor ${what} must be a tuple of non-negative ints, got ${String(v)}`);
  }
  return v as number[];
}

/** Copies the strided view `(offset, size, stride)` of a storage into a dense row-major tensor. */
function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown): HostTensor {
  if (storage === null || typeof storage !== "object" || !("data" in storage)) {
    throw new SyntaxError("torch checkpoint: _rebuild_tensor_v2 without a storage");
  }
  const { dtype, data } = storage as Storage;
  const shape = ints(size, "size");
  const strides = ints(stride, "stride");
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    throw new SyntaxError(`torch checkpoint: bad storage offset ${String(offset)}`);
  }
  if (strides.length !== shape.length) {
    throw new SyntaxError(`torch checkpoint: stride ${strides} does not match size ${shape}`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const last = n === 0 ? offset : offset + shape.reduce((acc, d, i) => acc + (d - 1) * strides[i]!, 0);
  if (last >= data.length && n > 0) {
    throw new RangeError(
      `torch checkpoint: view (offset ${offset}, size ${shape}, stride ${strides}) exceeds its storage of ${data.length}`,
    );
  }
  const out = new (data.constructor as { new (n: number): HostTensor["data"] })(n);
  let contiguous = true;
  for (let d = shape.length - 1, s = 1; d >= 0; s *= shape[d]!, d--) {
    if (shape[d]! !== 1 && strides[d] !== s) contiguous = false;
  }
  if (contiguous) {
    (out as Float32Array).set((data as Float32Array).subarray(offset, offset + n));
    return { dtype, shape, data: out };
  }
  const idx = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    (out as Float32Array)[i] = (data as Float32Array)[src]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]!++;
      src += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return { dtype, shape, data: out };
}

function pickStateDict(root: unknown): Map<unknown, unknown> {
  if (!(root instanceof Map)) {
    throw new TypeError(
      `torch checkpoint: the saved object is a ${Array.isArray(root) ? "list" : typeof root}, not a dict`,
    );
  }
  for (const key of STATE_DICT_KEYS) {
    const v = root.get(key);
    if (v instanceof Map) return v;
  }
  if (root.size > 0 && [...root.values()].every(isTensor)) return root;
  const keys = [...root.keys()].map((k) => JSON.stringify(k)).join(", ");
  throw new TypeError(
    `torch checkpoint: no state_dict found: expected a dict under ${STATE_DICT_KEYS.map((k) => `'${k}'`).join(", ")} ` +
      `or a bare state_dict of tensors; top-level keys: ${keys || "(none)"}`,
  );
}

/**
 * Loads the state_dict of a `torch.save` zip checkpoint: `{"generator": state_dict}` (CoverHunter's `g_*`),
 * `{"model": ...}`, `{"state_dict": ...}`, or a bare state_dict.
 *
 * @param bytes the checkpoint file
 * @returns tensors by state_dict name, in saved order (float32 -> F32, float64 -> F64, int32 -> I32, int64 -> I64)
 * @throws {TypeError} for a legacy (pre-1.6) or non-zip file, big-endian data, an unsupported storage type or
 *   global, or when no state_dict of tensors is found (the message lists the top-level keys)
 * @throws {SyntaxError} for a malformed archive or pickle
 */
export function importTorchCheckpoint(bytes: Uint8Array): TensorMap {
  if (bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] <= 5) {
    throw new TypeError(
      "torch checkpoint: legacy (torch < 1.6) serialisation is not supported; re-save it with a newer torch " +
        "(torch.save(torch.load(path), path))",
    );
  }
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new TypeError("torch checkpoint: not a zip archive (expected a torch.save file)");
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new SyntaxError(`torch checkpoint: cannot unzip: ${(e as Error).message}`);
  }
  const pkl = Object.keys(files).filter((n) => n.endsWith("/data.pkl") || n === "data.pkl");
  if (pkl.length !== 1) {
    throw new SyntaxError(`torch checkpoint: expected one data.pkl in the archive, found ${pkl.length}`);
  }
  const dir = pkl[0]!.slice(0, -"data.pkl".length);
  const byteorder = files[`${dir}byteorder`];
  if (byteorder !== undefined && new TextDecoder().decode(byteorder).trim() !== "little") {
    throw new TypeError("torch checkpoint: big-endian archives are not supported");
  }
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) {
      throw new SyntaxError(`torch checkpoint: unexpected persistent id ${JSON.stringify(pid)}`);
    }
    const [, type, key, , numel] = pid;
    if (!isGlobal(type) || typeof key !== "string" || typeof numel !== "number") {
      throw new SyntaxError(`torch checkpoint: malformed storage id for key ${String(key)}`);
    }
    const dtype = STORAGE_DTYPES[type.name];
    if (type.module !== "torch" || dtype === undefined) {
      throw new TypeError(
        `torch checkpoint: unsupported storage type ${type.module}.${type.name} (supported: ` +
          `${Object.keys(STORAGE_DTYPES).map((n) => `torch.${n}`).join(", ")}); convert the model to float32 first`,
      );
    }
    const cached = storages.get(key);
    if (cached !== undefined) return cached;
    const raw = files[`${dir}data/${key}`];
    if (raw === undefined) throw new SyntaxError(`torch checkpoint: storage file ${dir}data/${key} is missing`);
    if (raw.length < numel * ELEMENT_BYTES[dtype]) {
      throw new SyntaxError(
        `torch checkpoint: storage ${key} has ${raw.length} bytes, ${numel} ${dtype} values need ${
          numel * ELEMENT_BYTES[dtype]
        }`,
      );
    }
    const storage = { dtype, data: fromLittleEndian(dtype, raw, numel) };
    storages.set(key, storage);
    return storage;
  };
  const findClass = (module: string, name: string): ((args: unknown[]) => unknown) | undefined => {
    const qualified = `${module}.${name}`;
    switch (qualified) {
      case "collections.OrderedDict":
        return () => new Map();
      case "torch._utils._rebuild_tensor_v2":
        return ([storage, offset, size, stride]) => rebuildTensor(storage, offset, size, stride);
      case "torch._utils._rebuild_parameter":
        return ([data]) => data;
      default:
        return undefined;
    }
  };
  const stateDict = pickStateDict(unpickle(files[pkl[0]!]!, { findClass, persistentLoad }));
  const out: TensorMap = new Map();
  for (const [name, value] of stateDict) {
    if (typeof name !== "string") {
      throw new TypeError(`torch checkpoint: state_dict key ${String(name)} is not a string`);
    }
    if (!isTensor(value)) throw new TypeError(`torch checkpoint: state_dict entry '${name}' is not a tensor`);
    out.set(name, value);
  }
  return out;
}
