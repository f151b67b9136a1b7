/**
 * AdamW's update as three WGSL kernels per parameter on the webgpu backend (`shaders/adamw_moment.wgsl`,
 * `shaders/adamw_param.wgsl`): first moment, second moment, parameter. The tfjs-op path takes 13 kernels and 8
 * scalar uploads per parameter (plus one kernel for the gradient clipping, which the moment kernels fold in as a
 * GPU-resident scale); for the 6-block model that was ~3000 dispatches per step. The TS twins below are what tests
 * compare the kernels against; both follow the tfjs-op path's operations in its order.
 *
 * @example
 * ```ts
 * import { adamwMomentValues } from "./adamw_webgpu.ts";
 * const m = adamwMomentValues(new Float32Array([0.5]), new Float32Array([2]), 1, 0.8, false);
 * if (Math.abs(m[0]! - (0.5 * 0.8 + 2 * 0.2)) > 1e-6) throw new Error(String(m[0]));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// Text imports: the shaders travel inside bundles and need no read permission.
import MOMENT_WGSL from "../../shaders/adamw_moment.wgsl" with { type: "text" };
import PARAM_WGSL from "../../shaders/adamw_param.wgsl" with { type: "text" };
import { runWgsl, type WgslUniform } from "../model/_wgsl_program.ts";

const f = Math.fround;

/**
 * TS twin of `adamw_moment.wgsl`: `prev·β + (x·(1 − β))` with `x = g·scale` (first moment) or `(g·scale)²`
 * (second moment), in float32.
 */
export function adamwMomentValues(
  prev: Float32Array,
  g: Float32Array,
  scale: number,
  beta: number,
  square: boolean,
): Float32Array {
  const out = new Float32Array(prev.length);
  const b = f(beta), ob = f(1 - beta), s = f(scale);
  for (let i = 0; i < out.length; i++) {
    const x = f(g[i]! * s);
    const y = square ? f(x * x) : x;
    out[i] = f(f(prev[i]! * b) + f(y * ob));
  }
  return out;
}

/** Uniforms of the parameter kernel (each rounded to float32 on upload, as tfjs scalars are). */
export interface AdamWParamUniforms {
  /** `1 − lr·wd`. */
  decay: number;
  /** `lr / (1 − β1^t)`. */
  stepSize: number;
  /** `sqrt(1 − β2^t)`. */
  bc2Sqrt: number;
  /** Added to the denominator. */
  eps: number;
}

/** TS twin of `adamw_param.wgsl`: `p·decay − (m / (sqrt(v)/bc2Sqrt + eps))·stepSize` in float32. */
export function adamwParamValues(
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  u: AdamWParamUniforms,
): Float32Array {
  const out = new Float32Array(p.length);
  const [decay, stepSize, bc2, eps] = [f(u.decay), f(u.stepSize), f(u.bc2Sqrt), f(u.eps)];
  for (let i = 0; i < out.length; i++) {
    const denom = f(f(f(Math.sqrt(v[i]!)) / bc2) + eps);
    out[i] = f(f(p[i]! * decay) - f(f(m[i]! / denom) * stepSize));
  }
  return out;
}

/**
 * One AdamW update of one parameter on the webgpu backend (the caller checks the backend): new first and second
 * moments and the new parameter value, as fresh tensors of `p`'s shape (the caller assigns and disposes).
 *
 * @param p the parameter
 * @param g its gradient (unscaled)
 * @param m the first moment
 * @param v the second moment
 * @param scale a 1-element float32 tensor multiplying `g` (the clip coefficient, or 1)
 * @param hp β1, β2 and the step's parameter-kernel uniforms
 */
export function adamwUpdateWebGpu(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  scale: tf.Tensor,
  hp: { beta1: number; beta2: number } & AdamWParamUniforms,
): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  return tf.tidy(() => {
    const n = p.size;
    // Flat views (free in tfjs-webgpu): every parameter shares one compiled pipeline per kernel.
    const flat = (t: tf.Tensor) => tf.reshape(t, [n]);
    const gs = [flat(g), tf.reshape(scale, [1])];
    const program = (name: string, code: string, inputs: string[], uniforms: WgslUniform[]) => ({
      shaderKey: `coverhunter_adamw_${name}`,
      code,
      inputs,
      uniforms,
      outputShape: [n],
      workgroupSize: [64, 1, 1] as [number, number, number],
      flat: true,
    });
    const moment = (prev: tf.Tensor, beta: number, square: boolean) =>
      runWgsl(
        program("moment", MOMENT_WGSL, ["prev", "g", "scale"], [
          { name: "beta", type: "f32", value: beta },
          { name: "one_minus_beta", type: "f32", value: 1 - beta },
          { name: "square", type: "u32", value: square ? 1 : 0 },
        ]),
        [flat(prev), ...gs],
      );
    const m1 = moment(m, hp.beta1, false);
    const v1 = moment(v, hp.beta2, true);
    const p1 = runWgsl(
      program("param", PARAM_WGSL, ["p", "m", "v"], [
        { name: "decay", type: "f32", value: hp.decay },
        { name: "step_size", type: "f32", value: hp.stepSize },
        { name: "bc2_sqrt", type: "f32", value: hp.bc2Sqrt },
        { name: "eps", type: "f32", value: hp.eps },
      ]),
      [flat(p), m1, v1],
    );
    return { p: tf.reshape(p1, p.shape), m: tf.reshape(m1, p.shape), v: tf.reshape(v1, p.shape) };
  });
}
