/**
 * Matrix products on the webgpu backend from `shaders/matmul.wgsl`: batched, with either operand transposed in place
 * (strides, no Transpose kernel), and a gradient that uses the same kernel. tfjs-webgpu 4.22's `matMul(a, b, false,
 * true)` returns wrong values at some shapes, so the model transposed explicitly before every product and in every
 * gradient; its BatchMatMul kernels were 0.33 s of the 0.88 s of GPU time in a B = 16 training step on the H100.
 * {@linkcode matMulValues} is the kernel's TS twin.
 *
 * @example
 * ```ts
 * import { matMulValues } from "./matmul_webgpu.ts";
 * // (1x2)·(2x1) with B given transposed, i.e. as (1x2).
 * const c = matMulValues(new Float32Array([1, 2]), [1, 2], new Float32Array([3, 4]), [1, 2], false, true);
 * if (c[0] !== 11) throw new Error(String(c[0]));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// Text imports: the shaders travel inside bundles and need no read permission.
import MATMUL_WGSL from "../../shaders/matmul.wgsl" with { type: "text" };
import GEMM_TILE_WGSL from "../../shaders/gemm_tile.wgsl" with { type: "text" };
import { i32Uniforms, runWgsl } from "./_wgsl_program.ts";

/**
 * TS twin: `op(A)·op(B)` per batch element for row-major operands of shapes `aShape` (…, rows, cols) and `bShape`,
 * where op transposes the last two axes when asked. float64 sums, rounded once.
 *
 * @returns the product, row-major (…, M, N)
 */
export function matMulValues(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): Float32Array {
  const p = plan(aShape, bShape, transposeA, transposeB);
  const out = new Float32Array(p.batch * p.m * p.n);
  for (let z = 0; z < p.batch; z++) {
    for (let i = 0; i < p.m; i++) {
      for (let j = 0; j < p.n; j++) {
        let s = 0;
        for (let k = 0; k < p.k; k++) {
          s += a[z * p.aBatch + i * p.aM + k * p.aK]! * b[z * p.bBatch + k * p.bK + j * p.bN]!;
        }
        out[(z * p.m + i) * p.n + j] = s;
      }
    }
  }
  return out;
}

/** Sizes and element strides of `op(A)·op(B)` (see the shader's header). */
function plan(aShape: readonly number[], bShape: readonly number[], transposeA: boolean, transposeB: boolean) {
  if (aShape.length < 2 || aShape.length !== bShape.length) {
    throw new RangeError(`matMul: operands of rank >= 2 and equal rank expected, got [${aShape}] and [${bShape}]`);
  }
  const lead = aShape.slice(0, -2);
  if (lead.some((d, i) => d !== bShape[i])) {
    throw new RangeError(`matMul: batch dims must match, got [${aShape}] and [${bShape}]`);
  }
  const [ar, ac] = aShape.slice(-2) as [number, number];
  const [br, bc] = bShape.slice(-2) as [number, number];
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const [kb, n] = transposeB ? [bc, br] : [br, bc];
  if (k !== kb) throw new RangeError(`matMul: inner sizes differ: [${aShape}] and [${bShape}]`);
  return {
    lead,
    batch: lead.reduce((x, y) => x * y, 1),
    m,
    n,
    k,
    aM: transposeA ? 1 : k,
    aK: transposeA ? m : 1,
    aBatch: m * k,
    bK: transposeB ? 1 : n,
    bN: transposeB ? k : 1,
    bBatch: k * n,
  };
}

/**
 * `op(a)·op(b)` on the webgpu backend (the caller checks the backend), no gradient: see {@linkcode webgpuMatMul}.
 *
 * @param a (…, M, K), or (…, K, M) when `transposeA`
 * @param b (…, K, N), or (…, N, K) when `transposeB`; the same leading dims as `a`
 */
export function matMulWebGpu(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  const p = plan(a.shape, b.shape, transposeA, transposeB);
  return tf.tidy(() => {
    const c = runWgsl({
      shaderKey: "coverhunter_matmul",
      code: `${MATMUL_WGSL}\n${GEMM_TILE_WGSL}`,
      inputs: ["a", "b"],
      uniforms: i32Uniforms({
        m: p.m,
        n: p.n,
        k_steps: p.k,
        a_m: p.aM,
        a_k: p.aK,
        a_batch: p.aBatch,
        b_k: p.bK,
        b_n: p.bN,
        b_batch: p.bBatch,
      }),
      outputShape: [p.batch, p.m, p.n],
      workgroupSize: [16, 16, 1],
      dispatch: [Math.ceil(p.n / 64), Math.ceil(p.m / 64), p.batch],
    }, [a, b]);
    return tf.reshape(c, [...p.lead, p.m, p.n]);
  });
}

/** The function type `tf.customGrad` takes (tfjs does not export its name). */
type CustomGradFn = Parameters<typeof tf.customGrad>[0];

const withGrad = new Map<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

/**
 * `op(a)·op(b)` on the webgpu backend with its gradient, every product (forward and backward) on the WGSL kernel and
 * no operand copied into a transposed layout. For C = op(A)·op(B): dA and dB are products of dC with the other
 * operand, transposed as each case needs.
 */
export function webgpuMatMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  const key = `${transposeA}${transposeB}`;
  let f = withGrad.get(key);
  if (f === undefined) {
    const mm = matMulWebGpu;
    f = tf.customGrad(
      ((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
        save([x, y]);
        return {
          value: mm(x, y, transposeA, transposeB),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
            if (!transposeA && !transposeB) return [mm(dy, sb, false, true), mm(sa, dy, true, false)];
            if (!transposeA) return [mm(dy, sb, false, false), mm(dy, sa, true, false)]; // B given as (N, K)
            if (!transposeB) return [mm(sb, dy, false, true), mm(sa, dy, false, false)]; // A given as (K, M)
            return [mm(sb, dy, true, true), mm(dy, sa, true, true)];
          },
        };
      }) as unknown as CustomGradFn,
    ) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
    withGrad.set(key, f);
  }
  return f(a, b);
}
