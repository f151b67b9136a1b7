/**
 * Data-movement kernels for tfjs-wasm that read their inputs in place. tfjs-backend-wasm 4.22's own versions copy
 * more than they use:
 * - `Slice` starts with `readSync(x)`, a copy of the whole input, for every slice: cutting a (32·281, 281) tensor
 *   into its 32 per-head products (`matMulPerBatch`) copied 32 x 10 MB, and Slice was 21% of an embedding step
 *   (424 of ~2000 ms at B = 4);
 * - `Sum` over leading axes (every bias gradient) transposes the whole input first: 159 ms for the first conv's
 *   (4, 562, 47, 128) output;
 * - `Concat` copies each input out of the heap, concatenates element by element into a new array, then copies that
 *   back: 79 ms for nine (105656, 1) columns.
 * - `Identity` (tfjs clones every tensor a gradient saves with it) copies its input: 198 ms of a B = 4 training step.
 * These read heap views and copy contiguous runs; Identity shares its input's data, as Reshape already does (tfjs
 * kernels never write to their inputs). Also, Relu's gradient (tfjs: `dy · cast(step(x))`, three passes and two
 * temporaries; 160 ms for the first conv's output at B = 4) and the depthwise conv's filter gradient (a pad, slice,
 * multiply and sum per tap) run as single SIMD passes (`_wasm_simd.ts`) under wasm. Tests:
 * `tests/model/wasm_kernels_test.ts`. The model's depthwise conv over time (a (B, 1, T, C) image, a 1 x K filter)
 * runs as one SIMD multiply-add per tap and batch element over its run of time steps: tfjs-wasm's kernel took 6 ms
 * for (4, 1, 280, 128) * (1, 15), ~0.35 GMAC/s. `BatchMatMul` runs on our relaxed-SIMD GEMM (`_wasm_gemm.ts`), which also reads
 * transposed operands in place.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { winogradKernels } from "./_winograd.ts";
import { simdTransforms } from "./_wasm_simd.ts";
import { gemm, gemmApplies, gemmModule, gemmScratchBytes } from "./_wasm_gemm.ts";

/** What our wasm kernels use of tfjs-wasm's backend object (not exported by the package). */
export interface WasmBackendLike {
  incRef(dataId: tf.DataId): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** Byte address of a tensor's data in the wasm memory. */
  getMemoryOffset(dataId: tf.DataId): number;
  /** The Emscripten module: its exported memory and allocator. */
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
}

type Flat = Float32Array | Int32Array | Uint8Array;

/** A wasm kernel config whose function gets the backend as {@linkcode WasmBackendLike} and its attributes as `A`. */
export function wasmKernel<A = Record<string, never>>(
  kernelName: string,
  f: (b: WasmBackendLike, inputs: tf.NamedTensorInfoMap, attrs: A) => tf.TensorInfo | tf.TensorInfo[],
): tf.KernelConfig {
  return {
    kernelName,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => f(backend as unknown as WasmBackendLike, inputs, attrs as unknown as A),
  };
}

/**
 * `bytes` of the wasm heap for a kernel's scratch (freed by the caller with `_free`).
 *
 * @throws {RangeError} when the heap cannot grow (tfjs-wasm's malloc returns 0 then, and 0 is a valid address)
 */
export function heapAlloc(b: WasmBackendLike, bytes: number): number {
  const ptr = b.wasm._malloc(bytes) >>> 0;
  if (ptr === 0) throw new RangeError(`wasm heap: cannot allocate ${bytes} bytes of scratch`);
  return ptr;
}

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
  const total = tf.util.sizeFromShape(size as number[]);
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

/**
 * Column sums of a row-major (rows, cols) array: `out[c] = Σ_r x[r·cols + c]`, accumulated in float64. Pure.
 *
 * @param x the input
 * @param rows number of rows
 * @param cols number of columns
 * @param out destination of `cols` values
 */
export function sumRows(x: Flat, rows: number, cols: number, out: Flat): void {
  const acc = new Float64Array(cols);
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    for (let c = 0; c < cols; c++) acc[c]! += x[o + c]!;
  }
  out.set(acc);
}

/**
 * Concatenation of `parts` along an axis, each part viewed as (outer, inner_i) row-major and the result as
 * (outer, Σ inner_i): row r of the result is row r of every part in turn. Pure.
 *
 * @param parts the inputs with their row lengths
 * @param outer number of rows (the product of the axes before the concatenation axis)
 * @param out destination of `outer · Σ inner_i` values
 */
export function concatRows(parts: readonly { vals: Flat; inner: number }[], outer: number, out: Flat): void {
  const width = parts.reduce((a, p) => a + p.inner, 0);
  let col = 0;
  for (const { vals, inner } of parts) {
    for (let r = 0, s = 0, o = col; r < outer; r++, s += inner, o += width) {
      if (inner >= 32) out.set(vals.subarray(s, s + inner), o);
      else for (let i = 0; i < inner; i++) out[o + i] = vals[s + i]!;
    }
    col += inner;
  }
}

/**
 * Relu's gradient: `dx[i] = x[i] > 0 ? dy[i] : 0`, as PyTorch's threshold_backward (tfjs's `dy · step(x)` differs
 * only in the sign of a zero, and in passing a NaN of dy where x ≤ 0). Pure; the twin of the SIMD loop `reluGrad`
 * (`_wasm_simd.ts`) that the wasm kernel runs, and that kernel's tail past the last whole f32x4.
 *
 * @param dy upstream gradient
 * @param x Relu's input
 * @param dx destination, same length
 * @param from first index (default 0)
 */
export function reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, from = 0): void {
  const n = x.length;
  for (let i = from; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : 0;
}

/** Name of the one-pass Relu gradient kernel registered for wasm. */
const RELU_GRAD = "CoverHunterReluGrad";

/**
 * Filter gradient of a depthwise conv along time with symmetric zero padding (k odd): `dw[c·k + j] =
 * Σ_{b,t} x[b, t + j − (k−1)/2, c] · dy[b, t, c]`, summed in float32 in the order tap, batch, time, as the SIMD loop
 * `mulAcc` does (PyTorch's CPU kernel sums in float32 too). Pure; the twin of the wasm kernel.
 *
 * @param x the conv's input (B,T,C)
 * @param dy its output's gradient (B,T,C)
 * @param shape [B, T, C, k]
 * @param dw destination (C, 1, k)
 */
export function depthwiseFilterGrad(
  x: Float32Array,
  dy: Float32Array,
  [b, t, c, k]: readonly [number, number, number, number],
  dw: Float32Array,
): void {
  const pad = (k - 1) / 2;
  const acc = new Float32Array(c);
  for (let j = 0; j < k; j++) {
    acc.fill(0);
    for (let bi = 0; bi < b; bi++) {
      for (let ti = Math.max(0, pad - j); ti < Math.min(t, t + pad - j); ti++) {
        const xo = (bi * t + ti + j - pad) * c, yo = (bi * t + ti) * c;
        for (let ch = 0; ch < c; ch++) acc[ch] = acc[ch]! + Math.fround(x[xo + ch]! * dy[yo + ch]!);
      }
    }
    for (let ch = 0; ch < c; ch++) dw[ch * k + j] = acc[ch]!;
  }
}

/**
 * The TypeScript twin of the wasm depthwise conv over time: y[b, t, c] = Σ_j x[b, t + j − padLeft, c]·w[j, c] over
 * the taps j that land inside x, summed from 0 in tap order with float32 rounding of each product and sum.
 *
 * @param x (B, T, C) row-major
 * @param w (K, C) row-major (tfjs's (1, K, C, 1) depthwise filter)
 * @param tOut output length
 * @returns (B, tOut, C)
 */
export function depthwiseTime(
  x: Float32Array,
  w: Float32Array,
  [b, t, c]: [number, number, number],
  k: number,
  padLeft: number,
  tOut: number,
): Float32Array {
  const y = new Float32Array(b * tOut * c);
  for (let bi = 0; bi < b; bi++) {
    for (let j = 0; j < k; j++) {
      for (let to = Math.max(0, padLeft - j); to < Math.min(tOut, t + padLeft - j); to++) {
        const xo = (bi * t + to + j - padLeft) * c, yo = (bi * tOut + to) * c;
        for (let ch = 0; ch < c; ch++) {
          y[yo + ch] = Math.fround(y[yo + ch]! + Math.fround(x[xo + ch]! * w[j * c + ch]!));
        }
      }
    }
  }
  return y;
}

/** Name of the depthwise filter-gradient kernel registered for wasm (inputs x, dy; attribute k). */
export const DEPTHWISE_FILTER_GRAD = "CoverHunterDepthwiseFilterGrad";

/** C's shape (m, n), the depth k, and the leading dims of a product's operands; undefined where the depths differ. */
function productDims(
  a: { shape: number[] },
  b: { shape: number[] },
  transposeA: boolean,
  transposeB: boolean,
): { m: number; k: number; n: number; la: number[]; lb: number[] } | undefined {
  const [ra, rb] = [a.shape.length, b.shape.length];
  const m = a.shape[transposeA ? ra - 1 : ra - 2]!, k = a.shape[transposeA ? ra - 2 : ra - 1]!;
  const n = b.shape[transposeB ? rb - 2 : rb - 1]!;
  if (k !== b.shape[transposeB ? rb - 1 : rb - 2]) return undefined;
  return { m, k, n, la: a.shape.slice(0, -2), lb: b.shape.slice(0, -2) };
}

/**
 * Whether tfjs-wasm's `BatchMatMul` of these operands runs on our GEMM once {@linkcode registerWasmKernels} ran:
 * float32, rank >= 2, n a multiple of 4, nothing empty, leading (batch) dims equal or one side without any (size 1).
 */
export function wasmGemmApplies(
  a: { shape: number[]; dtype: string },
  b: { shape: number[]; dtype: string },
  transposeA = false,
  transposeB = false,
): boolean {
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) return false;
  const d = productDims(a, b, transposeA, transposeB);
  if (d === undefined || !gemmApplies(d.m, d.k, d.n)) return false;
  const one = (l: number[]) => l.every((v) => v === 1);
  return one(d.la) || one(d.lb) || (d.la.length === d.lb.length && d.la.every((v, i) => v === d.lb[i]));
}

/** Registers `kernelFunc` for wasm in place of the stock kernel, which it may call back for cases it leaves. */
function replace(
  name: string,
  kernelFunc: (args: Parameters<tf.KernelFunc>[0], stock: tf.KernelFunc) => ReturnType<tf.KernelFunc>,
) {
  const original = tf.getKernel(name, "wasm");
  if (original === undefined) return;
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ ...original, kernelFunc: (args) => kernelFunc(args, original.kernelFunc) });
}

let registered = false;

/** Whether {@linkcode registerWasmKernels} has replaced the stock kernels (`BatchMatMul` on our GEMM among them). */
export function wasmKernelsRegistered(): boolean {
  return registered;
}

/**
 * Replaces tfjs-wasm's `Slice`, `Concat`, leading-axes `Sum` and `Identity` kernels with ones that read their
 * inputs in place, and Relu's gradient with one SIMD pass under wasm; adds the depthwise filter-gradient kernel and
 * the Winograd conv's kernels (idempotent; call after the wasm backend is registered). Other cases (strings, other
 * reductions, other backends) keep the stock kernels and gradient.
 */
export function registerWasmKernels(): void {
  if (registered || tf.getKernel(tf.Slice, "wasm") === undefined) return;
  registered = true;
  for (const k of winogradKernels()) tf.registerKernel(k);
  tf.registerKernel(wasmKernel(RELU_GRAD, (b, { dy, x }) => {
    const out = b.makeOutput(x!.shape, "float32");
    const n = tf.util.sizeFromShape(x!.shape), whole = n - (n % 4);
    const at = (t: tf.TensorInfo) => b.getMemoryOffset(t.dataId);
    simdTransforms(b.wasm.asm.memory).reluGrad(at(dy!), at(x!), at(out), 4 * whole);
    const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
    if (whole < n) reluGrad(view(dy!), view(x!), view(out), whole);
    return out;
  }));
  tf.registerKernel(wasmKernel<{ k: number }>(DEPTHWISE_FILTER_GRAD, (be, { x, dy }, { k }) => {
    const [b, t, c] = x!.shape as [number, number, number];
    const dw = be.makeOutput([c, 1, k], "float32");
    const cb = 4 * c, pad = (k - 1) / 2;
    const mem = be.wasm.asm.memory;
    const acc = heapAlloc(be, cb);
    try {
      const simd = simdTransforms(mem);
      const xAt = be.getMemoryOffset(x!.dataId), yAt = be.getMemoryOffset(dy!.dataId);
      for (let j = 0; j < k; j++) {
        new Uint8Array(mem.buffer, acc, cb).fill(0);
        for (let bi = 0; bi < b; bi++) {
          for (let ti = Math.max(0, pad - j); ti < Math.min(t, t + pad - j); ti++) {
            simd.mulAcc(xAt + (bi * t + ti + j - pad) * cb, yAt + (bi * t + ti) * cb, acc, cb);
          }
        }
        const sums = new Float32Array(mem.buffer, acc, c), out = be.typedArrayFromHeap(dw) as Float32Array;
        for (let ch = 0; ch < c; ch++) out[ch * k + j] = sums[ch]!;
      }
    } finally {
      be.wasm._free(acc);
    }
    return dw;
  }));
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => {
      const x = saved[0]!;
      const g = dy as tf.Tensor;
      return {
        x: () =>
          tf.getBackend() === "wasm" && x.dtype === "float32"
            ? tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tf.Tensor
            : tf.mul(g, tf.cast(tf.step(x), "float32")),
      };
    },
  });
  replace(tf.BatchMatMul, (args, stock) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!wasmGemmApplies(a, b, transposeA, transposeB)) return stock(args);
    const { m, k, n, la, lb } = productDims(a, b, transposeA, transposeB)!;
    const lead = tf.util.sizeFromShape(la) >= tf.util.sizeFromShape(lb) ? la : lb;
    const batch = tf.util.sizeFromShape(lead);
    const be = args.backend as unknown as WasmBackendLike;
    const out = be.makeOutput([...lead, m, n], "float32");
    const scratch = heapAlloc(be, gemmScratchBytes(m, n) + 16);
    try {
      const g = gemmModule(be.wasm.asm.memory);
      const [pa, pb, pc] = [a, b, out].map((t) => be.getMemoryOffset(t.dataId));
      const sa = tf.util.sizeFromShape(la) === 1 ? 0 : 4 * m * k, sb = tf.util.sizeFromShape(lb) === 1 ? 0 : 4 * k * n;
      for (let i = 0; i < batch; i++) {
        const p = { a: pa! + i * sa, b: pb! + i * sb, c: pc! + 4 * i * m * n, m, k, n, transposeA, transposeB };
        gemm(g, p, (scratch + 15) & ~15);
      }
    } finally {
      be.wasm._free(scratch);
    }
    return out;
  });
  replace(tf.DepthwiseConv2dNative, (args, stock) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const a = args.attrs as unknown as {
      strides: number | number[];
      dilations: number | number[];
      pad: unknown;
      dataFormat?: string;
    };
    const ones = (v: number | number[]) => [v].flat().every((d) => d === 1);
    const pad = a.pad as number[][];
    const [b, h, t, c] = x.shape as [number, number, number, number];
    const [fh, k, fc, mult] = filter.shape as [number, number, number, number];
    // Only time as the image width: NHWC, height 1, a 1 x K filter, channel multiplier 1, stride and dilation 1,
    // explicit padding along time only, float32, C a multiple of 4.
    if (
      (a.dataFormat ?? "NHWC") !== "NHWC" || x.dtype !== "float32" || filter.dtype !== "float32" || h !== 1 ||
      fh !== 1 || mult !== 1 || fc !== c || c % 4 !== 0 || !ones(a.strides) || !ones(a.dilations) ||
      !Array.isArray(pad) ||
      [0, 1, 3].some((i) => pad[i]?.[0] !== 0 || pad[i]?.[1] !== 0)
    ) return stock(args);
    const [padLeft, padRight] = pad[2] as [number, number];
    const tOut = t + padLeft + padRight - k + 1;
    if (tOut <= 0) return stock(args);
    const be = args.backend as unknown as WasmBackendLike;
    const out = be.makeOutput([b, 1, tOut, c], "float32");
    (be.typedArrayFromHeap(out) as Float32Array).fill(0);
    const simd = simdTransforms(be.wasm.asm.memory);
    const [xAt, wAt, yAt] = [x, filter, out].map((v) => be.getMemoryOffset(v.dataId)) as [number, number, number];
    const row = 4 * c;
    for (let bi = 0; bi < b; bi++) {
      for (let j = 0; j < k; j++) {
        const t0 = Math.max(0, padLeft - j), t1 = Math.min(tOut, t + padLeft - j);
        if (t1 > t0) {
          simd.rowsMulAcc(
            xAt + (bi * t + t0 + j - padLeft) * row,
            wAt + j * row,
            yAt + (bi * tOut + t0) * row,
            t1 - t0,
            row,
          );
        }
      }
    }
    return out;
  });
  replace(tf.Slice, (args, stock) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === "string") return stock(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(s, x.dtype);
    // Views after makeOutput: its allocation may grow the wasm memory, which detaches older views.
    copyBox(backend.typedArrayFromHeap(x), x.shape, b, s, backend.typedArrayFromHeap(out));
    return out;
  });
  replace(tf.Sum, (args, stock) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const k = axes.length;
    // Only a reduction over the leading axes 0..k−1 (k < rank) of float32 data; the stock kernel does the rest.
    if (x.dtype !== "float32" || k === 0 || k === x.shape.length || axes.some((a, i) => a !== i)) return stock(args);
    const kept = x.shape.slice(k);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, "float32");
    sumRows(
      backend.typedArrayFromHeap(x),
      tf.util.sizeFromShape(x.shape.slice(0, k)),
      tf.util.sizeFromShape(kept),
      backend.typedArrayFromHeap(out),
    );
    return out;
  });
  replace(tf.Identity, (args, stock) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === "string") return stock(args);
    (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
  replace(tf.Concat, (args, stock) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const dtype = inputs[0]!.dtype;
    if (dtype === "string" || inputs.some((t) => t.dtype !== dtype)) return stock(args);
    const { axis } = args.attrs as unknown as { axis: number | number[] };
    const a = tf.util.parseAxisParam(axis, inputs[0]!.shape)[0]!;
    const outShape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), a);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(outShape, dtype);
    const parts = inputs.filter((t) => tf.util.sizeFromShape(t.shape) > 0).map((t) => ({
      vals: backend.typedArrayFromHeap(t),
      inner: tf.util.sizeFromShape(t.shape.slice(a)),
    }));
    concatRows(parts, tf.util.sizeFromShape(outShape.slice(0, a)), backend.typedArrayFromHeap(out));
    return out;
  });
}
