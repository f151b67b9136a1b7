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
import { runWgsl } from "./_wgsl_program.ts";

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
  return runWgsl({
    shaderKey: "coverhunter_dropout_mask",
    code: DROPOUT_MASK_WGSL,
    inputs: [],
    uniforms: [
      { name: "seed", type: "u32", value: seed >>> 0 },
      { name: "threshold", type: "u32", value: dropThreshold(p) },
      { name: "scale", type: "f32", value: 1 / (1 - p) },
    ],
    outputShape: shape,
    workgroupSize: [64, 1, 1],
    flat: true,
  }, []);
}
