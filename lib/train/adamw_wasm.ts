/**
 * AdamW's update on tfjs-wasm as one WebAssembly SIMD pass per parameter (the `adamw` loop of
 * `lib/model/_wasm_simd.ts`): the tfjs-op form runs 13 elementwise kernels per parameter, ~200 ms per step over the
 * covers80 model's 9.9 M values on the 2-core dev machine, and in data-parallel training the workers wait for it.
 * Its twins are the WebGPU kernels' (`adamwMomentValues`, `adamwParamValues`): the same operations in the same order,
 * so both backends round alike.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { heapAlloc, wasmKernel } from "../model/_wasm_kernels.ts";
import { simdTransforms } from "../model/_wasm_simd.ts";
import { adamwMomentValues, type AdamWParamUniforms, adamwParamValues } from "./adamw_webgpu.ts";

const ADAMW = "CoverHunterAdamW";

type Constants = { beta1: number; beta2: number } & AdamWParamUniforms;

/**
 * The update in TypeScript, on `[from, n)` of the arrays: the twin of the SIMD loop (and the loop's tail, n mod 4).
 *
 * @param scale the clip coefficient multiplying g
 * @param out the new p, m and v (may not alias the inputs)
 */
export function adamwUpdateValues(
  x: { p: Float32Array; g: Float32Array; m: Float32Array; v: Float32Array },
  scale: number,
  c: Constants,
  out: { p: Float32Array; m: Float32Array; v: Float32Array },
  from = 0,
): void {
  const part = (a: Float32Array) => a.subarray(from);
  const m = adamwMomentValues(part(x.m), part(x.g), scale, c.beta1, false);
  const v = adamwMomentValues(part(x.v), part(x.g), scale, c.beta2, true);
  out.m.set(m, from);
  out.v.set(v, from);
  out.p.set(adamwParamValues(part(x.p), m, v, c), from);
}

/** Registered on first use (the model's wasm kernels register with the backend, in `registerWasmKernels`). */
function register(): void {
  if (tf.getKernel(ADAMW, "wasm")) return;
  tf.registerKernel(wasmKernel<Constants>(ADAMW, (b, { p, g, m, v, scale }, c) => {
    const outs = Array.from({ length: 3 }, () => b.makeOutput(p!.shape, "float32")); // p', m', v'

    const n = tf.util.sizeFromShape(p!.shape), whole = n - (n % 4);
    const at = (t: tf.TensorInfo) => b.getMemoryOffset(t.dataId);
    // The uniforms, as single floats: the scale is read where the clip left it (no read-back).
    const u = heapAlloc(b, 4 * 9);
    try {
      const consts = [1, c.decay, c.beta1, 1 - c.beta1, c.beta2, 1 - c.beta2, c.bc2Sqrt, c.eps, c.stepSize];
      new Float32Array(b.wasm.asm.memory.buffer, u, 9).set(consts);
      const uniforms = consts.map((_, i) => (i === 0 && scale ? at(scale) : u + 4 * i));
      simdTransforms(b.wasm.asm.memory).adamw(at(p!), at(g!), at(m!), at(v!), ...uniforms, ...outs.map(at), 4 * whole);
      if (whole < n) {
        const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
        const s = scale ? view(scale)[0]! : 1;
        const [po, mo, vo] = outs.map(view) as [Float32Array, Float32Array, Float32Array];
        adamwUpdateValues({ p: view(p!), g: view(g!), m: view(m!), v: view(v!) }, s, c, { p: po, m: mo, v: vo }, whole);
      }
    } finally {
      b.wasm._free(u);
    }
    return outs;
  }));
}

/**
 * One AdamW update of one parameter on the wasm backend (the caller checks the backend): the new parameter value and
 * moments, as fresh tensors of `p`'s shape (the caller assigns and disposes).
 *
 * @param scale a 1-element float32 tensor multiplying `g` (the clip coefficient), or undefined for 1
 */
export function adamwUpdateWasm(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  scale: tf.Tensor | undefined,
  c: Constants,
): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  register();
  const inputs = { p, g, m, v, ...(scale ? { scale } : {}) };
  const [p1, m1, v1] = tf.engine().runKernel(ADAMW, inputs, c as never) as tf.Tensor[];
  return { p: p1!, m: m1!, v: v1! };
}
