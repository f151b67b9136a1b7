/**
 * Runs one of this project's WGSL kernels as a tfjs-webgpu program: tfjs's template adds the bindings (the output
 * `result`, then one read-only array per input name), the uniforms struct and the entry point, and the kernel text
 * supplies `main`. One place for the glue that every kernel module (dropout masks, matrix products, LayerNorm, the conv
 * filter gradient, AdamW, the clip's norm) would otherwise repeat. The webgpu package is not imported here: importing
 * it registers its backend, which `backend.ts` does only on demand.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** One uniform: WGSL name, type and value (tfjs packs and aligns them). */
export interface WgslUniform {
  name: string;
  type: "i32" | "u32" | "f32";
  value: number;
}

/** i32 uniforms from a record, in its key order (which is the order of the uniforms struct). */
export function i32Uniforms(values: Record<string, number>): WgslUniform[] {
  return Object.entries(values).map(([name, value]) => ({ name, type: "i32", value }));
}

/** A kernel and its launch. */
export interface WgslProgram {
  /** Pipeline cache key (tfjs adds the inputs' ranks and dtypes); one per distinct `code`. */
  shaderKey: string;
  /** The WGSL text: `fn main(index : i32)` when `flat`, else `fn main()` reading `localId`/`workgroupId`. */
  code: string;
  /** Input binding names, in the order of the inputs. */
  inputs: string[];
  uniforms: WgslUniform[];
  outputShape: number[];
  workgroupSize: [number, number, number];
  /** Flat: one invocation per output element, tfjs computes the dispatch and adds a `size` uniform. */
  flat?: boolean;
  /** Workgroups (required unless `flat`). Non-flat programs need an output of rank >= 2. */
  dispatch?: [number, number, number];
}

interface WebGpuBackendLike {
  runWebGPUProgram(
    program: object,
    inputs: tf.TensorInfo[],
    dtype: "float32",
    uniforms: { type: string; data: number[] }[],
  ): tf.TensorInfo;
}

const UNIFORM_TYPES = { i32: "int32", u32: "uint32", f32: "float32" } as const;

/**
 * Dispatches `program` on the active webgpu backend (the caller checks the backend) and returns its float32 output.
 *
 * @throws {RangeError} for a non-flat program without a dispatch or with a rank-1 output
 */
export function runWgsl(program: WgslProgram, inputs: tf.Tensor[]): tf.Tensor {
  const { outputShape, workgroupSize, flat = false } = program;
  const rank = outputShape.length;
  let dispatchLayout: { x: number[]; y?: number[] };
  let dispatch: [number, number, number];
  if (flat) {
    dispatchLayout = { x: outputShape.map((_, i) => i) };
    const size = outputShape.reduce((a, b) => a * b, 1);
    dispatch = [Math.ceil(size / (workgroupSize[0] * workgroupSize[1] * workgroupSize[2])), 1, 1];
  } else {
    // A y dimension makes tfjs call `main()` without an index (its flat template would pass one).
    if (program.dispatch === undefined || rank < 2) {
      throw new RangeError(
        `runWgsl(${program.shaderKey}): a non-flat program needs a dispatch and an output of rank >= 2`,
      );
    }
    dispatchLayout = { x: [rank - 1], y: outputShape.slice(0, -1).map((_, i) => i) };
    dispatch = program.dispatch;
  }
  const tfjsProgram = {
    variableNames: program.inputs,
    outputShape,
    shaderKey: program.shaderKey,
    dispatchLayout,
    dispatch,
    workgroupSize,
    size: flat,
    uniforms: program.uniforms.map((u) => `${u.name} : ${u.type},`).join(" "),
    getUserCode: () => program.code,
  };
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const info = backend.runWebGPUProgram(
    tfjsProgram,
    inputs,
    "float32",
    program.uniforms.map((u) => ({ type: UNIFORM_TYPES[u.type], data: [u.value] })),
  );
  return tf.engine().makeTensorFromTensorInfo(info);
}
