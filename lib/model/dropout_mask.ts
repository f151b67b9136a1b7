/**
 * Dropout masks as a pure function of (seed, element index): the WGSL kernel `shaders/dropout_mask.wgsl` draws them on
 * the GPU (tfjs-webgpu program, no upload), and {@linkcode dropoutMaskValues} is its TS twin for the other backends,
 * so a seed gives the same mask everywhere.
 *
 * @example
 * ```ts
 * import { dropoutMaskValues } from "./dropout_mask.ts";
 * const m = dropoutMaskValues(1000, 42, 0.1);
 * const kept = m.filter((v) => v > 0).length; // about 900, each 1 / 0.9
 * if (kept < 850 || kept > 950) throw new Error(`unexpected keep count ${kept}`);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// A text import: the shader travels inside bundles and needs no read permission.
import DROPOUT_MASK_WGSL from "../../shaders/dropout_mask.wgsl" with { type: "text" };

/** The WGSL hash, in TS (32-bit wrapping arithmetic via Math.imul and >>> 0). */
export function pcgHash(x: number): number {
  const state = (Math.imul(x >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The drop threshold for probability p: elements whose hash is below it are dropped. */
export function dropThreshold(p: number): number {
  return Math.min(0xffffffff, Math.floor(p * 2 ** 32));
}

/**
 * The mask values: `1 / (1 − p)` where kept, 0 where dropped (TS twin of the kernel).
 *
 * @param size number of elements
 * @param seed a 32-bit seed
 * @param p drop probability in [0, 1)
 */
export function dropoutMaskValues(size: number, seed: number, p: number): Float32Array {
  const out = new Float32Array(size);
  const s = pcgHash(seed);
  const threshold = dropThreshold(p);
  const scale = 1 / (1 - p);
  for (let i = 0; i < size; i++) out[i] = pcgHash((i ^ s) >>> 0) >= threshold ? scale : 0;
  return out;
}

/** The tfjs-webgpu program around the kernel (tfjs adds the bindings, the uniforms struct and the entry point). */
class DropoutMaskProgram {
  variableNames: string[] = [];
  outputShape: number[];
  shaderKey = "coverhunter_dropout_mask";
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  uniforms = "seed : u32, threshold : u32, scale : f32,";
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(shape: number[]) {
    // A flat layout over all dimensions (tfjs reshapes dispatches beyond the per-dimension limit itself). Written out
    // rather than imported: importing the webgpu package registers its backend, which backend.ts does only on demand.
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / this.workgroupSize[0]), 1, 1];
  }

  getUserCode(): string {
    return DROPOUT_MASK_WGSL;
  }
}

interface WebGpuBackendLike {
  runWebGPUProgram(
    program: DropoutMaskProgram,
    inputs: tf.TensorInfo[],
    dtype: "float32",
    uniforms: { type: string; data: number[] }[],
  ): tf.TensorInfo;
}

/**
 * A dropout mask tensor of `shape`: drawn on the GPU by the WGSL kernel on the webgpu backend, from the TS twin
 * elsewhere (the same values either way).
 *
 * @param shape mask shape
 * @param seed a 32-bit seed (draw one per dropout call from the run's PRNG)
 * @param p drop probability in [0, 1)
 */
export function dropoutMask(shape: number[], seed: number, p: number): tf.Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropoutMask: p must be in [0, 1), got ${p}`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (tf.getBackend() !== "webgpu") return tf.tensor(dropoutMaskValues(size, seed, p), shape, "float32");
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const info = backend.runWebGPUProgram(new DropoutMaskProgram(shape), [], "float32", [
    { type: "uint32", data: [seed >>> 0] },
    { type: "uint32", data: [dropThreshold(p)] },
    { type: "float32", data: [1 / (1 - p)] },
  ]);
  return tf.engine().makeTensorFromTensorInfo(info);
}
