/**
 * A `Slice` kernel for tfjs-wasm that copies only the slice. tfjs-backend-wasm 4.22's own kernel starts with
 * `readSync(x)`, a copy of the whole input, for every slice: cutting a (32·281, 281) tensor into its 32 per-head
 * products (`matMulPerBatch`) copied 32 x 10 MB, and Slice was 21% of an embedding step (424 of ~2000 ms at B = 4).
 * This one reads the input in place through a heap view and copies contiguous runs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** What this kernel uses of tfjs-wasm's backend object (not exported by the package). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type Flat = Float32Array | Int32Array | Uint8Array;

/**
 * Copies the box `[begin, begin + size)` of a row-major array of `shape` into `dst` (row-major `size`). Pure;
 * the unit of work is the longest run that is contiguous in both arrays.
 *
 * @param src the whole input, row-major
 * @param shape its shape
 * @param begin first index on each axis
 * @param size extent on each axis (all within `shape`)
 * @param dst destination of `Π size` elements
 */
export function copyBox(
  src: Flat,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  dst: Flat,
): void {
  const rank = shape.length;
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  // Axis d: the innermost axis that is not taken whole; the run is size[d] times everything inside it.
  let d = rank - 1;
  let inner = 1; // elements per step of axis d, in src and dst alike
  while (d > 0 && size[d] === shape[d]) inner *= shape[d--]!;
  const run = size[d]! * inner;
  const strides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  let base = 0;
  for (let i = 0; i < rank; i++) base += begin[i]! * strides[i]!;
  // Odometer over the outer axes 0..d−1.
  const idx = new Array<number>(d).fill(0);
  let s = base;
  for (let o = 0; o < total; o += run) {
    if (run >= 32) dst.set(src.subarray(s, s + run), o);
    else for (let i = 0; i < run; i++) dst[o + i] = src[s + i]!;
    for (let a = d - 1; a >= 0; a--) {
      s += strides[a]!;
      if (++idx[a]! < size[a]!) break;
      s -= size[a]! * strides[a]!;
      idx[a] = 0;
    }
  }
}

let registered = false;

/**
 * Replaces tfjs-wasm's `Slice` kernel with one that reads its input in place (idempotent; call after the wasm
 * backend is registered). String tensors keep the original kernel.
 */
export function registerWasmSlice(): void {
  if (registered) return;
  const original = tf.getKernel(tf.Slice, "wasm");
  if (original === undefined) return;
  registered = true;
  tf.unregisterKernel(tf.Slice, "wasm");
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === "string") return original.kernelFunc(args);
      const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
      const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
      const backend = args.backend as unknown as WasmBackendLike;
      const out = backend.makeOutput(s, x.dtype);
      // Views after makeOutput: its allocation may grow the wasm memory, which detaches older views.
      copyBox(backend.typedArrayFromHeap(x), x.shape, b, s, backend.typedArrayFromHeap(out));
      return out;
    },
  });
}
