/**
 * The customGrad primitives (used on wasm, and for conv2d on cpu) against tfjs's own ops and gradients, on
 * the cpu backend where both exist.
 */
import * as tf from "@tensorflow/tfjs";
import { createPrng } from "../../lib/data/prng.ts";
import { createOps, gradSafeOps, matMulPerBatch, nativeOps, type Ops } from "../../lib/model/_ops.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { assertEquals, assertOk } from "../_assert.ts";

const prng = createPrng(3);
const random = (shape: number[]) =>
  tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => prng.normal()), shape);

/** Max |a - b| over the values and over every input gradient of sum(f(x)·r), relative to max |native|. */
function compare(f: (ops: Ops, ...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][]): number {
  return tf.tidy(() => {
    const xs = shapes.map(random);
    const native = nativeOps(), safe = gradSafeOps();
    const yNative = f(native, ...xs);
    const r = random(yNative.shape);
    const gNative = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(native, ...a), r)))(xs);
    const gSafe = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(safe, ...a), r)))(xs);
    const pairs: [tf.Tensor, tf.Tensor][] = [
      [yNative, f(safe, ...xs)],
      ...gNative.map((g, i) =>
        [g, gSafe[i]!] as [
          tf.Tensor,
          tf.Tensor,
        ]
      ),
    ];
    let worst = 0;
    for (const [a, b] of pairs) {
      assertEquals(b.shape, a.shape);
      const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
      const scale = tf.max(tf.abs(a)).dataSync()[0]!;
      worst = Math.max(worst, diff / scale);
    }
    return worst;
  });
}

type Case = { name: string; shapes: number[][]; f: (ops: Ops, ...xs: tf.Tensor[]) => tf.Tensor };
const conv = (stride: number) => (o: Ops, x?: tf.Tensor, w?: tf.Tensor) =>
  o.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride);
const depthwise = (o: Ops, x?: tf.Tensor, w?: tf.Tensor) => o.depthwiseConv1d(x as tf.Tensor3D, w as tf.Tensor3D);
const CASES: Case[] = [
  { name: "matMul", shapes: [[3, 5, 7], [3, 7, 4]], f: (o, a, b) => o.matMul(a!, b!) },
  { name: "matMul transposeB", shapes: [[2, 3, 5, 7], [2, 3, 4, 7]], f: (o, a, b) => o.matMul(a!, b!, true) },
  { name: "linear", shapes: [[2, 5, 7], [4, 7], [4]], f: (o, x, w, b) => o.linear(x!, w!, b!) },
  { name: "conv2d k3 s2, odd sizes", shapes: [[2, 15, 11, 3], [3, 3, 3, 5]], f: conv(2) },
  { name: "conv2d k3 s2, even sizes, Cin 1", shapes: [[2, 16, 12, 1], [3, 3, 1, 4]], f: conv(2) },
  { name: "conv2d k2 s3", shapes: [[2, 17, 13, 2], [2, 2, 2, 3]], f: conv(3) },
  { name: "conv2d k3 s1", shapes: [[2, 9, 8, 2], [3, 3, 2, 3]], f: conv(1) },
  { name: "depthwiseConv1d k15, T 20", shapes: [[2, 20, 6], [6, 1, 15]], f: depthwise },
  { name: "depthwiseConv1d k15, T 5 < K", shapes: [[2, 5, 6], [6, 1, 15]], f: depthwise },
];

Deno.test("gradSafeOps() values and gradients equal nativeOps() ones on cpu (relative 1e-6)", async (t) => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  for (const { name, f, shapes } of CASES) {
    const worst = compare(f, shapes);
    await t.step(`${name}: ${worst.toExponential(2)}`, () => assertOk(worst <= 1e-6));
  }
  assertEquals(tf.memory().numTensors, before);
});

const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
const adapter = gpu === undefined ? null : await gpu.requestAdapter();

Deno.test({
  name: "createOps('webgpu').linear avoids tfjs-webgpu's wrong transposed matMul (ignored without an adapter)",
  ignore: adapter === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // (36,2944)·(128,2944)ᵀ: the shape of the subsampling Linear for B = 4, T = 40.
    const x = Float32Array.from({ length: 36 * 2944 }, () => prng.normal());
    const w = Float32Array.from({ length: 128 * 2944 }, () => prng.normal());
    const run = async (backend: "cpu" | "webgpu") => {
      await initBackend(backend);
      const y = createOps(backend).linear(tf.tensor2d(x, [36, 2944]), tf.tensor2d(w, [128, 2944]));
      const values = await y.data();
      y.dispose();
      return values;
    };
    const expected = await run("cpu");
    const actual = await run("webgpu");
    await initBackend("cpu");
    let diff = 0;
    for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    assertOk(diff <= 1e-3, `max |Δ| ${diff}`);
  },
});

Deno.test("matMulPerBatch() equals tf.matMul for rank 2, 3 and 4 operands, small (batched) and large (split)", async () => {
  await initBackend("cpu");
  tf.tidy(() => {
    for (
      const [lead, m, k, n] of [[[], 3, 4, 5], [[6], 7, 3, 2], [[3], 100, 50, 60], [[2, 2], 80, 40, 70]] as [
        number[],
        number,
        number,
        number,
      ][]
    ) {
      const a = tf.randomNormal([...lead, m, k], 0, 1, "float32", 1);
      const b = tf.randomNormal([...lead, k, n], 0, 1, "float32", 2);
      const got = matMulPerBatch(a, b);
      assertEquals(got.shape, [...lead, m, n]);
      const diff = tf.max(tf.abs(tf.sub(got, tf.matMul(a, b)))).dataSync()[0]!;
      assertOk(diff < 1e-5, `lead [${lead}]: ${diff}`);
    }
  });
});
