/**
 * LayerNorm over the last axis on the webgpu backend from `shaders/layer_norm.wgsl` (statistics, output, input
 * gradient; one workgroup per row) and `shaders/layer_norm_param_grad.wgsl` (weight and bias gradients): 2 kernels
 * forward and 5 backward (input gradient; weight and bias gradients, each a partial sum and its total), where tfjs's
 * op chain (moments, subtract, rsqrt, scale, shift) takes ~10 and ~20. The model has 31 LayerNorms. {@linkcode layerNormValues} and {@linkcode layerNormGradValues} are the TS twins.
 *
 * @example
 * ```ts
 * import { layerNormValues } from "./layer_norm_webgpu.ts";
 * const y = layerNormValues(new Float32Array([1, 3]), 2, new Float32Array([1, 1]), new Float32Array([0, 0]), 1e-5);
 * if (Math.abs(y[0]! + 1) > 1e-4 || Math.abs(y[1]! - 1) > 1e-4) throw new Error(String(y));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// Text imports: the shaders travel inside bundles and need no read permission.
import LAYER_NORM_WGSL from "../../shaders/layer_norm.wgsl" with { type: "text" };
import PARAM_GRAD_WGSL from "../../shaders/layer_norm_param_grad.wgsl" with { type: "text" };
import { i32Uniforms, runWgsl } from "./_wgsl_program.ts";

/** Per-row mean and 1/sqrt(population variance + eps), in float64. */
function rowStats(x: Float32Array, d: number, eps: number): Float64Array {
  const rows = x.length / d;
  const out = new Float64Array(2 * rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += x[r * d + c]!;
    const mean = s / d;
    let q = 0;
    for (let c = 0; c < d; c++) q += (x[r * d + c]! - mean) ** 2;
    out[2 * r] = mean;
    out[2 * r + 1] = 1 / Math.sqrt(q / d + eps);
  }
  return out;
}

/** TS twin of the forward pass: `(x − mean)·rstd·gamma + beta` per row of `d` values (float64 inside). */
export function layerNormValues(
  x: Float32Array,
  d: number,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
): Float32Array {
  const st = rowStats(x, d, eps);
  return Float32Array.from(x, (v, i) => {
    const r = Math.floor(i / d), c = i % d;
    return (v - st[2 * r]!) * st[2 * r + 1]! * gamma[c]! + beta[c]!;
  });
}

/** TS twin of the backward pass: the gradients of x, gamma and beta for the output gradient `dy`. */
export function layerNormGradValues(
  x: Float32Array,
  d: number,
  gamma: Float32Array,
  dy: Float32Array,
  eps: number,
): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const st = rowStats(x, d, eps);
  const rows = x.length / d;
  const dx = new Float32Array(x.length), dgamma = new Float64Array(d), dbeta = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const mean = st[2 * r]!, rstd = st[2 * r + 1]!;
    let a = 0, b = 0;
    for (let c = 0; c < d; c++) {
      const i = r * d + c, xhat = (x[i]! - mean) * rstd, g = dy[i]! * gamma[c]!;
      a += g;
      b += g * xhat;
      dgamma[c]! += dy[i]! * xhat;
      dbeta[c]! += dy[i]!;
    }
    a /= d;
    b /= d;
    for (let c = 0; c < d; c++) {
      const i = r * d + c;
      dx[i] = rstd * (dy[i]! * gamma[c]! - a - (x[i]! - mean) * rstd * b);
    }
  }
  return { dx, dgamma: Float32Array.from(dgamma), dbeta: Float32Array.from(dbeta) };
}

/** Rows of a (…, d) tensor walked by at most 4096 workgroups. */
function rowPlan(rows: number) {
  const groups = Math.max(1, Math.min(rows, 4096));
  return { groups, perGroup: Math.ceil(rows / groups) };
}

/** One pass of `layer_norm.wgsl`: mode 0 statistics (2 per row), 1 output, 2 input gradient. */
function layerNormPass(
  mode: 0 | 1 | 2,
  x: tf.Tensor,
  gamma: tf.Tensor,
  other: tf.Tensor,
  stats: tf.Tensor,
  d: number,
  eps: number,
): tf.Tensor {
  const rows = x.size / d;
  const { groups, perGroup } = rowPlan(rows);
  return runWgsl({
    shaderKey: "coverhunter_layer_norm",
    code: LAYER_NORM_WGSL,
    inputs: ["x", "gamma", "other", "stats"],
    uniforms: [
      ...i32Uniforms({ mode, rows, d, groups, rows_per_group: perGroup }),
      { name: "eps", type: "f32", value: eps },
    ],
    outputShape: [rows, mode === 0 ? 2 : d],
    workgroupSize: [64, 1, 1],
    dispatch: [groups, 1, 1],
  }, [x, gamma, other, stats].map((t) => tf.reshape(t, [t.size])));
}

/** Weight (which 0) or bias (which 1) gradient: partial sums over row chunks, then their sum. */
function paramGrad(which: 0 | 1, x: tf.Tensor, dy: tf.Tensor, stats: tf.Tensor, d: number): tf.Tensor {
  const rows = x.size / d;
  const chunks = Math.max(1, Math.min(256, Math.floor(rows / 64)));
  const perChunk = Math.ceil(rows / chunks);
  const partial = runWgsl({
    shaderKey: "coverhunter_layer_norm_param_grad",
    code: PARAM_GRAD_WGSL,
    inputs: ["x", "dy", "stats"],
    uniforms: i32Uniforms({ which, rows, d, rows_per_chunk: perChunk }),
    outputShape: [chunks, d],
    workgroupSize: [64, 1, 1],
    dispatch: [Math.ceil(d / 64), chunks, 1],
  }, [x, dy, stats].map((t) => tf.reshape(t, [t.size])));
  return chunks === 1 ? tf.reshape(partial, [d]) : tf.sum(partial, 0);
}

/** The function type `tf.customGrad` takes (tfjs does not export its name). */
type CustomGradFn = Parameters<typeof tf.customGrad>[0];

const byEps = new Map<number, (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor>();

/**
 * LayerNorm of x (…, d) over its last axis with weight `gamma` and bias `beta` (d) on the webgpu backend (the caller
 * checks the backend), with its gradient on the same kernels.
 */
export function webgpuLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  let f = byEps.get(eps);
  if (f === undefined) {
    f = tf.customGrad(
      ((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
        const d = xi.shape[xi.rank - 1]!;
        const stats = layerNormPass(0, xi, g, g, g, d, eps);
        save([xi, g, stats]);
        return {
          value: tf.reshape(layerNormPass(1, xi, g, b, stats, d, eps), xi.shape),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [sx, sg, st] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
            return [
              tf.reshape(layerNormPass(2, sx, sg, dy, st, d, eps), sx.shape),
              paramGrad(0, sx, dy, st, d),
              paramGrad(1, sx, dy, st, d),
            ];
          },
        };
      }) as unknown as CustomGradFn,
    ) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
    byEps.set(eps, f);
  }
  return f(x, gamma, beta);
}
