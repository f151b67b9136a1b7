/**
 * The filter gradient of a valid, stride-s NHWC conv2d on the webgpu backend: `shaders/conv2d_filter_grad.wgsl` with
 * the tiled product core `shaders/gemm_tile.wgsl`, a split-K product over the im2col matrix (never stored), then one
 * sum over the K slices. tfjs-webgpu 4.22's
 * Conv2DBackpropFilter gives each filter element one thread that loops over every output position; it was 0.29 s
 * of the 0.88 s of GPU kernels in a B = 16 training step on the H100 (the subsampling's two convolutions).
 * {@linkcode conv2dFilterGradValues} is its TS twin.
 *
 * @example
 * ```ts
 * import { conv2dFilterGradValues } from "./conv2d_filter_grad.ts";
 * // One 2x2 input, a 1x1 filter: dW = Σ x·dy.
 * const dw = conv2dFilterGradValues(new Float32Array([1, 2, 3, 4]), [1, 2, 2, 1], new Float32Array([1, 1, 1, 1]), [1, 1], 1, 1);
 * if (dw[0] !== 10) throw new Error(String(dw[0]));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// Text imports: the shaders travel inside bundles and need no read permission.
import FILTER_GRAD_WGSL from "../../shaders/conv2d_filter_grad.wgsl" with { type: "text" };
import GEMM_TILE_WGSL from "../../shaders/gemm_tile.wgsl" with { type: "text" };
import { i32Uniforms, runWgsl } from "./_wgsl_program.ts";

/** Output positions of a valid convolution: ⌊(size − k)/s⌋ + 1. */
function validOut(size: number, k: number, s: number): number {
  return Math.floor((size - k) / s) + 1;
}

/**
 * TS twin of the kernel: `dW[kh, kw, ci, co] = Σ_{b,oh,ow} x[b, oh·s + kh, ow·s + kw, ci] · dy[b, oh, ow, co]`
 * (float64 sums, rounded once).
 *
 * @param x input, row-major (B, H, W, CI)
 * @param xShape [B, H, W, CI]
 * @param dy output gradient, row-major (B, OH, OW, CO)
 * @param kernel [KH, KW]
 * @param stride the stride (both axes)
 * @param co output channels
 * @returns dW row-major (KH, KW, CI, CO)
 */
export function conv2dFilterGradValues(
  x: Float32Array,
  xShape: readonly [number, number, number, number],
  dy: Float32Array,
  kernel: readonly [number, number],
  stride: number,
  co: number,
): Float32Array {
  const [b, h, w, ci] = xShape;
  const [kh, kw] = kernel;
  const oh = validOut(h, kh, stride), ow = validOut(w, kw, stride);
  const out = new Float32Array(kh * kw * ci * co);
  const acc = new Float64Array(co);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let c = 0; c < ci; c++) {
        acc.fill(0);
        for (let n = 0; n < b; n++) {
          for (let y = 0; y < oh; y++) {
            for (let z = 0; z < ow; z++) {
              const xv = x[((n * h + y * stride + i) * w + z * stride + j) * ci + c]!;
              const d = ((n * oh + y) * ow + z) * co;
              for (let o = 0; o < co; o++) acc[o]! += xv * dy[d + o]!;
            }
          }
        }
        out.set(acc, ((i * kw + j) * ci + c) * co);
      }
    }
  }
  return out;
}

/**
 * The filter gradient on the webgpu backend (the caller checks the backend).
 *
 * @param x the convolution's input (B, H, W, CI)
 * @param dy the gradient of its output (B, OH, OW, CO), valid padding
 * @param kernel [KH, KW]
 * @param stride the stride (both axes)
 * @returns dW (KH, KW, CI, CO)
 */
export function conv2dFilterGradWebGpu(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  kernel: readonly [number, number],
  stride: number,
): tf.Tensor4D {
  const [b, h, w, ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const [kh, kw] = kernel;
  if (oh !== validOut(h, kh, stride) || ow !== validOut(w, kw, stride)) {
    throw new RangeError(`conv2dFilterGradWebGpu: dy [${dy.shape}] is not the valid output of x [${x.shape}]`);
  }
  const p = b * oh * ow, m = kh * kw * ci, n = co;
  // Enough K slices for ~512 workgroups in all, none shorter than 256 positions; slices are whole 16-row steps.
  const tiles = Math.ceil(m / 64) * Math.ceil(n / 64);
  const splits = Math.max(1, Math.min(Math.ceil(512 / tiles), Math.floor(p / 256)));
  const chunk = Math.ceil(Math.ceil(p / splits) / 16) * 16;
  const used = Math.ceil(p / chunk);
  return tf.tidy(() => {
    const partial = runWgsl({
      shaderKey: "coverhunter_conv2d_filter_grad",
      code: `${FILTER_GRAD_WGSL}\n${GEMM_TILE_WGSL}`,
      inputs: ["x", "dy"],
      uniforms: i32Uniforms({ p, m, n, k_steps: chunk, h, w, ci, kw, oh, ow, stride }),
      outputShape: [used, m, n],
      workgroupSize: [16, 16, 1],
      dispatch: [Math.ceil(n / 64), Math.ceil(m / 64), used],
    }, [x, dy]);
    return tf.reshape(used === 1 ? partial : tf.sum(partial, 0), [kh, kw, ci, co]) as tf.Tensor4D;
  });
}

/** The function type `tf.customGrad` takes (tfjs does not export its name). */
type CustomGradFn = Parameters<typeof tf.customGrad>[0];

const byStride = new Map<number, (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D>();

/**
 * A valid, stride-`stride` conv2d for the webgpu backend whose gradient takes the input part from tfjs
 * (`conv2dTranspose`, i.e. Conv2DBackpropInput) and the filter part from {@linkcode conv2dFilterGradWebGpu}.
 */
export function webgpuConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number): tf.Tensor4D {
  let f = byStride.get(stride);
  if (f === undefined) {
    f = tf.customGrad(
      ((xi: tf.Tensor, fi: tf.Tensor, save: tf.GradSaveFunc) => {
        save([xi, fi]);
        return {
          value: tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, stride, "valid"),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [sx, sf] = saved as [tf.Tensor4D, tf.Tensor4D];
            const [kh, kw] = sf.shape;
            return [
              tf.conv2dTranspose(dy as tf.Tensor4D, sf, sx.shape, stride, "valid"),
              conv2dFilterGradWebGpu(sx, dy as tf.Tensor4D, [kh, kw], stride),
            ];
          },
        };
      }) as unknown as CustomGradFn,
    ) as (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;
    byStride.set(stride, f);
  }
  return f(x, filter);
}
