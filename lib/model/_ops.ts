/**
 * The few primitives whose gradients depend on the backend. On `wasm` the backend lacks Conv2DBackpropFilter
 * and the depthwise backprop kernels, and a matMul with a transposed operand is 13-35x slower than a plain one,
 * so there each op is a `tf.customGrad` whose forward is the native kernel and whose backward uses only kernels
 * wasm has and runs fast (plain matMul, rank-2..4 transpose, reshape, slice, pad, concat, depthwise forward).
 * `cpu` and `webgpu` take some of these forms too (see {@linkcode createOps}). Tests: `tests/model/ops_test.ts`
 * (customGrad vs tfjs gradients on cpu) and `tests/model/gradients_test.ts` (whole-model gradients of wasm and
 * webgpu against cpu).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { webgpuConv2d } from "./conv2d_filter_grad.ts";
import { winogradApplies, winogradConv2d, winogradConv2dBackward } from "./_winograd.ts";
import { DEPTHWISE_FILTER_GRAD, wasmGemmApplies, wasmKernelsRegistered } from "./_wasm_kernels.ts";
import { webgpuMatMul } from "./matmul_webgpu.ts";
import { webgpuLayerNorm } from "./layer_norm_webgpu.ts";
import { ownWebGpuKernels } from "./kernels.ts";

/** Backend-dependent primitives used by the model blocks. */
export interface Ops {
  /** `a @ b` (or `a @ bᵀ` with `transposeB`) over identical leading batch dims: (..., m, k) x (..., k, n). */
  matMul(a: tf.Tensor, b: tf.Tensor, transposeB?: boolean): tf.Tensor;
  /** PyTorch Linear: x (..., in), weight (out, in), bias (out) -> x·weightᵀ + bias, (..., out). */
  linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor;
  /** NHWC convolution, valid padding, equal stride on both axes: x (B,H,W,Cin), filter (kh,kw,Cin,Cout). */
  conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number): tf.Tensor4D;
  /**
   * Depthwise convolution over time with symmetric zero padding (K-1)/2, no bias:
   * x (B,T,C), weight in PyTorch layout (C,1,K) -> (B,T,C).
   */
  depthwiseConv1d(x: tf.Tensor3D, weight: tf.Tensor3D): tf.Tensor3D;
  /** LayerNorm over the last axis (population variance): x (..., d), weight and bias (d) -> (..., d). */
  layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor;
}

/** LayerNorm from tfjs ops (moments, subtract, rsqrt, scale, shift). */
function opsLayerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true); // (..., 1) each
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, weight), bias);
  });
}

/** The function type `tf.customGrad` takes (tfjs does not export its name). */
type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** Swaps the last two axes: (..., m, n) -> (..., n, m). */
function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return tf.transpose(x, perm);
}

/** (C,1,K) PyTorch depthwise weight -> tfjs depthwise filter (1,K,C,1). */
function depthwiseFilter(weight: tf.Tensor3D): tf.Tensor4D {
  const [c, , k] = weight.shape;
  // (C,1,K) -> (C,K) -> (K,C) -> (1,K,C,1)
  return tf.transpose(tf.reshape(weight, [c, k])).reshape([1, k, c, 1]);
}

function nativeDepthwise(x: tf.Tensor3D, weight: tf.Tensor3D): tf.Tensor3D {
  const [b, t, c] = x.shape;
  const pad = (weight.shape[2] - 1) / 2;
  // (B,T,C) -> (B,1,T,C): time is the image width, channels stay last.
  const x4 = tf.reshape(x, [b, 1, t, c]) as tf.Tensor4D;
  const y = tf.depthwiseConv2d(x4, depthwiseFilter(weight), 1, [[0, 0], [0, 0], [pad, pad], [0, 0]]);
  return tf.reshape(y, [b, t, c]); // (B,1,T,C) -> (B,T,C)
}

function linearWith(matMulT: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) {
  return (x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor => {
    const inDim = x.shape[x.rank - 1]!;
    const outDim = weight.shape[0]!;
    const x2 = tf.reshape(x, [-1, inDim]); // (..., in) -> (N, in)
    let y = matMulT(x2, weight); // (N, out)
    if (bias !== undefined) y = tf.add(y, bias);
    return tf.reshape(y, [...x.shape.slice(0, -1), outDim]); // (N, out) -> (..., out)
  };
}

/**
 * Splits x (B,H,W,C) into its s·s phase planes: `planes[a][b] = x[:, a::s, b::s, :]`, each (B,hs,ws,C), after
 * zero-padding x to (s·hs, s·ws). Built from rank-4 reshapes and slices only (fast on wasm, unlike its
 * stridedSlice and rank-5 transposes).
 */
function phasePlanes(x: tf.Tensor4D, s: number, hs: number, ws: number): tf.Tensor4D[][] {
  const [b, h, w, c] = x.shape;
  const xp = tf.pad(x, [[0, 0], [0, s * hs - h], [0, s * ws - w], [0, 0]]); // (B,s·hs,s·ws,C)
  const rows = tf.reshape(xp, [b, hs, s, s * ws * c]); // row phase on axis 2
  return Array.from({ length: s }, (_, a) => {
    // (B,hs,1,s·ws·C) -> (B,hs,ws,s·C): column phase = which C-sized slice of the last axis
    const r = tf.reshape(tf.slice(rows, [0, 0, a, 0], [b, hs, 1, s * ws * c]), [b, hs, ws, s * c]);
    return Array.from({ length: s }, (_, p) => tf.slice(r, [0, 0, 0, p * c], [b, hs, ws, c]) as tf.Tensor4D);
  });
}

/** Inverse of {@linkcode phasePlanes}: planes[a][b] (B,hs,ws,C) -> (B,s·hs,s·ws,C). */
function interleavePlanes(planes: tf.Tensor4D[][]): tf.Tensor4D {
  const s = planes.length;
  const [b, hs, ws, c] = planes[0]![0]!.shape;
  const rows = planes.map((row) => tf.reshape(tf.concat(row, 3), [b, hs, 1, s * ws * c])); // (B,hs,ws,s·C) -> (B,hs,1,s·ws·C)
  return tf.reshape(tf.concat(rows, 2), [b, s * hs, s * ws, c]); // (B,hs,s,s·ws·C) -> (B,s·hs,s·ws,C)
}

/**
 * Gradients of a valid, stride-s conv2d from matMuls (`mm`, which reads transposed operands in place where the
 * backend's product can), one per kernel tap (i,j): the tap reads
 * x[:, s·t+i, s·f+j, :], which is phase plane (i mod s, j mod s) shifted by (⌊i/s⌋, ⌊j/s⌋).
 * dFilter[i,j] = patchᵀ·dy and dx's plane += shift(dy·filter[i,j]ᵀ).
 */
function conv2dBackward(x: tf.Tensor4D, filter: tf.Tensor4D, dy: tf.Tensor4D, s: number, mm: MatMulFn): tf.Tensor[] {
  const [b, h, w, cin] = x.shape;
  const [kh, kw, , cout] = filter.shape;
  const [, ho, wo] = dy.shape;
  const n = b * ho * wo;
  const taps = kh * kw;
  const hs = Math.max(Math.ceil(h / s), Math.floor((kh - 1) / s) + ho);
  const ws = Math.max(Math.ceil(w / s), Math.floor((kw - 1) / s) + wo);
  const planes = phasePlanes(x, s, hs, ws);
  const dy2 = tf.reshape(dy, [n, cout]); // (N,Cout)
  const tap = (t: number) => {
    const i = Math.floor(t / kw), j = t % kw;
    return { i, j, di: Math.floor(i / s), dj: Math.floor(j / s) }; // kernel tap, its phase-plane shift
  };
  const patches = Array.from({ length: taps }, (_, t) => {
    const { i, j, di, dj } = tap(t);
    return tf.reshape(tf.slice(planes[i % s]![j % s]!, [0, di, dj, 0], [b, ho, wo, cin]), [n, cin]); // (N,Cin)
  });
  const wAll = tf.reshape(filter, [taps * cin, cout]); // (kh·kw·Cin, Cout), row = tap·Cin + c
  // Few input channels (the first conv has Cin = 1): both gradients as one product over all taps, since a thin
  // (Cout,N)·(N,1) or (N,Cout)·(Cout,1) product per tap runs at ~1 GFLOP/s. Otherwise one product per tap, the
  // operand shared by all taps being the one XNNPACK packs once.
  let df: tf.Tensor; // (kh·kw·Cin, Cout)
  let contribs: tf.Tensor[]; // per tap (N,Cin)
  if (cin < 16) {
    df = mm(tf.concat(patches, 1), dy2, true, false); // (kh·kw·Cin,N)·(N,Cout)
    const all = mm(dy2, wAll, false, true); // (N,Cout)·(Cout,kh·kw·Cin)
    contribs = Array.from({ length: taps }, (_, t) => tf.slice(all, [0, t * cin], [n, cin]));
  } else {
    df = tf.concat(patches.map((p) => mm(p, dy2, true, false)), 0); // kh·kw x (Cin,N)·(N,Cout)
    // (N,Cout)·(Cout,Cin) -> (N,Cin)
    contribs = Array.from({ length: taps }, (_, t) => mm(dy2, tf.slice(wAll, [t * cin, 0], [cin, cout]), false, true));
  }
  // dx: each tap's contribution goes back to its phase plane at its shift.
  const dPlanes: tf.Tensor[][][] = planes.map((row) => row.map(() => []));
  contribs.forEach((c, t) => {
    const { i, j, di, dj } = tap(t);
    const shifted = tf.pad(tf.reshape(c, [b, ho, wo, cin]), [[0, 0], [di, hs - ho - di], [dj, ws - wo - dj], [0, 0]]);
    dPlanes[i % s]![j % s]!.push(shifted); // (B,hs,ws,Cin)
  });
  const sumPlane = (parts: tf.Tensor[]) => (parts.length === 0 ? tf.zeros([b, hs, ws, cin]) : tf.addN(parts));
  const dxFull = interleavePlanes(dPlanes.map((row) => row.map(sumPlane) as tf.Tensor4D[])); // (B,s·hs,s·ws,Cin)
  const dx = tf.slice(dxFull, [0, 0, 0, 0], [b, h, w, cin]);
  return [dx, tf.reshape(df, [kh, kw, cin, cout])]; // (kh·kw·Cin,Cout) -> (kh,kw,Cin,Cout)
}

/** The plain tfjs ops (tfjs's registered gradients). */
export function nativeOps(): Ops {
  return {
    matMul: (a, b, transposeB = false) => tf.matMul(a, b, false, transposeB),
    linear: linearWith((x, w) => tf.matMul(x, w, false, true)),
    conv2d: (x, filter, stride) => tf.conv2d(x, filter, stride, "valid"),
    depthwiseConv1d: nativeDepthwise,
    layerNorm: opsLayerNorm,
  };
}

/** `op(a) @ op(b)`, op transposing the last two axes where asked: the form the customGrad products are built on. */
export type MatMulFn = (a: tf.Tensor, b: tf.Tensor, transposeA?: boolean, transposeB?: boolean) => tf.Tensor;

/** Plain matMuls only (transposes as Transpose kernels): tfjs's transposed forms are slow or wrong on some backends. */
const transposeThenMatMul: MatMulFn = (a, b, ta = false, tb = false) =>
  tf.matMul(ta ? swapLast(a) : a, tb ? swapLast(b) : b);

/**
 * The wasm product: tfjs-wasm's `BatchMatMul`, which runs on our GEMM (`_wasm_gemm.ts`, transposed operands read in
 * place) where {@linkcode wasmGemmApplies}; otherwise {@linkcode matMulPerBatch} of plain operands.
 */
export const wasmMatMul: MatMulFn = (a, b, ta = false, tb = false) =>
  wasmKernelsRegistered() && tf.getBackend() === "wasm" && wasmGemmApplies(a, b, ta, tb)
    ? tf.matMul(a, b, ta, tb)
    : matMulPerBatch(ta ? swapLast(a) : a, tb ? swapLast(b) : b);

/**
 * `a @ b` with identical leading batch dims, as one 2-D matMul per batch element when the products are large. For
 * tfjs-wasm's stock kernels, where our GEMM does not apply (n not a multiple of 4): its 2-D matMul runs
 * on XNNPACK (~14 GFLOP/s on the dev machine), its batched one on a generic loop (~1 GFLOP/s; 90 ms against 8 ms for
 * the 16 (281, 32)·(32, 281) products of one attention layer at B = 4).
 */
export function matMulPerBatch(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.rank <= 2) return tf.matMul(a, b);
  const lead = a.shape.slice(0, -2);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.rank - 1]!;
  // Each product costs ~0.1 ms of slicing and dispatch: below ~200k multiply-adds the batched kernel is faster
  // (measured: 15x16x15 products 1.0 ms batched vs 7.5 ms split, for 64 of them; 140x32x140: 20 vs 7 ms).
  if (m * k * n < 200_000) return tf.matMul(a, b);
  return tf.tidy(() => {
    // 2-D views by slicing the flat data (tfjs-wasm's Unpack kernel is slow: ~10 ms for 16 (281, 281) slices).
    const a2 = tf.reshape(a, [-1, k]);
    const b2 = tf.reshape(b, [-1, n]);
    const count = a2.shape[0]! / m;
    const out: tf.Tensor[] = [];
    for (let i = 0; i < count; i++) {
      out.push(tf.matMul(tf.slice(a2, [i * m, 0], [m, k]), tf.slice(b2, [i * k, 0], [k, n])));
    }
    return tf.reshape(tf.concat(out, 0), [...lead, m, n]);
  });
}

/**
 * The customGrad forms, whose backward passes use only plain matMuls and data movement.
 *
 * @param mm the matMul to build on (batch dims identical): plain tfjs matMuls, or {@linkcode wasmMatMul} on wasm
 */
export function gradSafeOps(mm: MatMulFn = transposeThenMatMul): Ops {
  const plainMatMul = tf.customGrad(
    ((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      save([a, b]);
      return {
        value: mm(a, b),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
          mm(dy, saved[1]!, false, true), // dA = dY·Bᵀ
          mm(saved[0]!, dy, true, false), // dB = Aᵀ·dY
        ],
      };
    }) as unknown as CustomGradFn,
  ) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  const matMul = (a: tf.Tensor, b: tf.Tensor, transposeB = false): tf.Tensor => {
    const bb = transposeB ? swapLast(b) : b;
    if (a.rank !== bb.rank || a.shape.slice(0, -2).some((d, i) => d !== bb.shape[i])) {
      throw new RangeError(`matMul: batch dims must match, got [${a.shape}] and [${bb.shape}]`);
    }
    return plainMatMul(a, bb);
  };

  const conv2dGrad = (stride: number) =>
    tf.customGrad(
      ((x: tf.Tensor, filter: tf.Tensor, save: tf.GradSaveFunc) => {
        save([x, filter]);
        return {
          value: stride === 2 && winogradApplies(x as tf.Tensor4D, filter as tf.Tensor4D)
            ? winogradConv2d(x as tf.Tensor4D, filter as tf.Tensor4D)
            : tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, stride, "valid"),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [sx, sf] = saved as [tf.Tensor4D, tf.Tensor4D];
            return stride === 2 && winogradApplies(sx, sf)
              ? winogradConv2dBackward(sx, sf, dy as tf.Tensor4D)
              : conv2dBackward(sx, sf, dy as tf.Tensor4D, stride, mm);
          },
        };
      }) as unknown as CustomGradFn,
    ) as (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;
  const conv2dByStride = new Map<number, (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D>();

  const depthwise = tf.customGrad(
    ((x: tf.Tensor, weight: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x, weight]);
      return {
        value: nativeDepthwise(x as tf.Tensor3D, weight as tf.Tensor3D),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const sx = saved[0] as tf.Tensor3D, sw = saved[1] as tf.Tensor3D;
          const [b, t, c] = sx.shape;
          const k = sw.shape[2];
          const pad = (k - 1) / 2;
          // dx = correlation of dy with the time-reversed kernel (same symmetric padding).
          const dx = nativeDepthwise(dy as tf.Tensor3D, tf.reverse(sw, 2));
          // dW[c,0,k] = Σ_{b,t} xpad[b,t+k,c]·dy[b,t,c]: one SIMD kernel under wasm, else a product and sum per tap.
          if (tf.getBackend() === "wasm" && c % 4 === 0 && tf.getKernel(DEPTHWISE_FILTER_GRAD, "wasm")) {
            const attrs = { k } as unknown as tf.NamedAttrMap;
            return [dx, tf.engine().runKernel(DEPTHWISE_FILTER_GRAD, { x: sx, dy }, attrs) as tf.Tensor];
          }
          const xp = tf.pad(sx, [[0, 0], [pad, pad], [0, 0]]); // (B,T+K-1,C)
          const taps: tf.Tensor[] = [];
          for (let j = 0; j < k; j++) taps.push(tf.sum(tf.mul(tf.slice(xp, [0, j, 0], [b, t, c]), dy), [0, 1])); // (C)
          const dw = tf.reshape(tf.stack(taps, 1), [c, 1, k]); // (C,K) -> (C,1,K)
          return [dx, dw];
        },
      };
    }) as unknown as CustomGradFn,
  ) as (x: tf.Tensor3D, weight: tf.Tensor3D) => tf.Tensor3D;

  // x·wᵀ with w (out,in) as saved: dx = dy·w and dw = dyᵀ·x need no transpose of w (the classifier's is 30000 x 128).
  const linearT = tf.customGrad(
    ((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x, w]);
      return {
        value: mm(x, w, false, true),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [mm(dy, saved[1]!), mm(dy, saved[0]!, true, false)],
      };
    }) as unknown as CustomGradFn,
  ) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

  return {
    matMul,
    linear: linearWith(linearT),
    conv2d: (x, filter, stride) => {
      let f = conv2dByStride.get(stride);
      if (f === undefined) conv2dByStride.set(stride, f = conv2dGrad(stride));
      return f(x, filter);
    },
    depthwiseConv1d: depthwise,
    layerNorm: opsLayerNorm,
  };
}

/**
 * The primitives for a backend:
 * - `wasm`: every customGrad form, batched matMuls as one 2-D matMul per batch element ({@linkcode matMulPerBatch}),
 *   a 3x3 stride-2 conv and its gradients by Winograd's F(3x3, 2x2) over its phase planes (`_winograd.ts`), the
 *   depthwise filter gradient as one SIMD kernel (`_wasm_kernels.ts`);
 * - `cpu`: the customGrad conv2d (tfjs-cpu's Conv2DBackpropFilter is a naive loop: 45 s for one 4x19x47x128
 *   filter gradient), plain ops otherwise;
 * - `webgpu`: matMul/linear on the WGSL kernel (matmul_webgpu.ts), which reads transposed operands in place
 *   (tfjs-webgpu 4.22 returns wrong values for `matMul(a, b, false, true)` at some shapes, e.g. (36,2944)·(128,2944)ᵀ,
 *   off by 300 on llvmpipe, and tfjs's matMul gradient uses that form); conv2d with the WGSL filter gradient
 *   (conv2d_filter_grad.ts); LayerNorm on WGSL kernels (layer_norm_webgpu.ts); plain depthwise. With
 *   `setWebGpuKernels("tfjs")`: tfjs's kernels, with the customGrad matMul/linear that avoid its transposed form.
 *
 * @param backendName `tf.getBackend()`
 */
export function createOps(backendName: string): Ops {
  if (backendName === "wasm") return gradSafeOps(wasmMatMul);
  const native = nativeOps();
  if (backendName === "cpu") return { ...native, conv2d: gradSafeOps().conv2d };
  if (!ownWebGpuKernels(backendName)) {
    // tfjs's kernels (setWebGpuKernels("tfjs")): products as customGrad plain matMuls, avoiding its transposed form.
    const safe = gradSafeOps();
    return { ...native, matMul: safe.matMul, linear: safe.linear };
  }
  return {
    ...native,
    matMul: (a, b, transposeB = false) => webgpuMatMul(a, b, false, transposeB),
    linear: linearWith((x, w) => webgpuMatMul(x, w, false, true)),
    conv2d: webgpuConv2d,
    layerNorm: webgpuLayerNorm,
  };
}
