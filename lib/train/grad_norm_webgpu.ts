/**
 * Per-tensor sums of squares for the clip's global gradient norm on the webgpu backend: `shaders/sum_squares.wgsl`
 * reduces up to {@linkcode SUM_SQUARES_GROUP} tensors per dispatch (one workgroup each), where tfjs took two kernels
 * per tensor (Square, Sum): ~480 of a 6-block training step's ~3100 dispatches. {@linkcode sumSquaresValues} is the TS
 * twin.
 *
 * @example
 * ```ts
 * import { sumSquaresValues } from "./grad_norm_webgpu.ts";
 * const s = sumSquaresValues([new Float32Array([3, 4]), new Float32Array([1])]);
 * if (s[0] !== 25 || s[1] !== 1) throw new Error(String(s));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// A text import: the shader travels inside bundles and needs no read permission.
import SUM_SQUARES_WGSL from "../../shaders/sum_squares.wgsl" with { type: "text" };
import { i32Uniforms, runWgsl } from "../model/_wgsl_program.ts";

/** Tensors per dispatch: one output and six inputs stay within WebGPU's default 8 storage buffers per stage. */
export const SUM_SQUARES_GROUP = 6;

/** TS twin: Σx² of each array (float64 sums). */
export function sumSquaresValues(arrays: readonly Float32Array[]): Float32Array {
  return Float32Array.from(arrays, (a) => a.reduce((s, v) => s + v * v, 0));
}

/** The kernel text for `count` tensors: one reduction branch per bound tensor p0, p1, ... */
function sumSquaresCode(count: number): string {
  const sums = Array.from(
    { length: count },
    (_, i) => `if (w == ${i}) { for (var j = li; j < uniforms.n${i}; j += 256) { let v = p${i}[j]; s = s + v * v; } }`,
  );
  return SUM_SQUARES_WGSL.replace("// SUMS", sums.join(" else "));
}

/**
 * Σx² of each tensor, as one 1-D tensor (same order), on the webgpu backend (the caller checks the backend).
 *
 * @param tensors float32 tensors (at least one)
 */
export function sumSquaresWebGpu(tensors: readonly tf.Tensor[]): tf.Tensor1D {
  if (tensors.length === 0) throw new RangeError("sumSquaresWebGpu: no tensor");
  return tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < tensors.length; i += SUM_SQUARES_GROUP) {
      const group = tensors.slice(i, i + SUM_SQUARES_GROUP).map((t) => tf.reshape(t, [t.size]));
      const out = runWgsl({
        shaderKey: `coverhunter_sum_squares_${group.length}`,
        code: sumSquaresCode(group.length),
        inputs: group.map((_, k) => `p${k}`),
        uniforms: i32Uniforms(Object.fromEntries(group.map((t, k) => [`n${k}`, t.size]))),
        outputShape: [1, group.length],
        workgroupSize: [256, 1, 1],
        dispatch: [group.length, 1, 1],
      }, group);
      parts.push(tf.reshape(out, [group.length]));
    }
    return (parts.length === 1 ? parts[0]! : tf.concat(parts)) as tf.Tensor1D;
  });
}
