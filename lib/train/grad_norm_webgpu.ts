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

/** Tensors per dispatch: one output and six inputs stay within WebGPU's default 8 storage buffers per stage. */
export const SUM_SQUARES_GROUP = 6;

/** TS twin: Σx² of each array (float64 sums). */
export function sumSquaresValues(arrays: readonly Float32Array[]): Float32Array {
  return Float32Array.from(arrays, (a) => a.reduce((s, v) => s + v * v, 0));
}

/** The tfjs-webgpu program for `count` tensors (tfjs adds bindings, uniforms struct and entry point). */
class SumSquaresProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  // Not a flat layout (2-D output): `main()` reads the workgroup and local ids itself.
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  uniforms: string;
  workgroupSize: [number, number, number] = [256, 1, 1];

  constructor(readonly count: number) {
    this.variableNames = Array.from({ length: count }, (_, i) => `p${i}`);
    this.outputShape = [1, count];
    this.shaderKey = `coverhunter_sum_squares_${count}`;
    this.dispatch = [count, 1, 1];
    this.uniforms = this.variableNames.map((_, i) => `n${i} : i32,`).join(" ");
  }

  getUserCode(): string {
    const sums = this.variableNames.map((p, i) =>
      `if (w == ${i}) { for (var j = li; j < uniforms.n${i}; j += 256) { let v = ${p}[j]; s = s + v * v; } }`
    );
    return SUM_SQUARES_WGSL.replace("// SUMS", sums.join(" else "));
  }
}

interface WebGpuBackendLike {
  runWebGPUProgram(
    program: SumSquaresProgram,
    inputs: tf.TensorInfo[],
    dtype: "float32",
    uniforms: { type: string; data: number[] }[],
  ): tf.TensorInfo;
}

/**
 * Σx² of each tensor, as one 1-D tensor (same order), on the webgpu backend (the caller checks the backend).
 *
 * @param tensors float32 tensors (at least one)
 */
export function sumSquaresWebGpu(tensors: readonly tf.Tensor[]): tf.Tensor1D {
  if (tensors.length === 0) throw new RangeError("sumSquaresWebGpu: no tensor");
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  return tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < tensors.length; i += SUM_SQUARES_GROUP) {
      const group = tensors.slice(i, i + SUM_SQUARES_GROUP).map((t) => tf.reshape(t, [t.size]));
      const info = backend.runWebGPUProgram(
        new SumSquaresProgram(group.length),
        group,
        "float32",
        group.map((t) => ({ type: "int32", data: [t.size] })),
      );
      parts.push(tf.reshape(tf.engine().makeTensorFromTensorInfo(info), [group.length]));
    }
    return (parts.length === 1 ? parts[0]! : tf.concat(parts)) as tf.Tensor1D;
  });
}
