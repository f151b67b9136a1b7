import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertOk, relErr } from "../_assert.ts";
import { webgpuTest } from "../_webgpu.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { conv2dFilterGradValues, conv2dFilterGradWebGpu, webgpuConv2d } from "../../lib/model/conv2d_filter_grad.ts";

Deno.test("conv2dFilterGradValues() equals tfjs's conv2d filter gradient on cpu", async () => {
  await initBackend("cpu");
  const prng = createPrng(Date.now() % 100000); // fresh each run
  const xShape = [2, 9, 8, 3] as const, k = [3, 3] as const, s = 2, co = 5;
  const x = Float32Array.from({ length: 2 * 9 * 8 * 3 }, () => prng.normal());
  const f = tf.tensor4d(Float32Array.from({ length: 3 * 3 * 3 * co }, () => prng.normal()), [3, 3, 3, co]);
  const xt = tf.tensor4d(x, [...xShape]);
  const y = tf.conv2d(xt, f, s, "valid");
  const dy = Float32Array.from({ length: y.size }, () => prng.normal());
  const dyt = tf.tensor(dy, y.shape);
  const want = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xt, w as tf.Tensor4D, s, "valid"), dyt)))(f);
  const got = conv2dFilterGradValues(x, xShape, dy, k, s, co);
  assertOk(relErr(got, await want.data()) < 1e-5, `rel err ${relErr(got, await want.data())}`);
  tf.dispose([f, xt, y, dyt, want]);
});

webgpuTest(
  "conv2d filter gradient: the WGSL kernel equals its TS twin; webgpu conv2d gradients equal cpu's",
  async () => {
    const prng = createPrng(Date.now() % 100000); // fresh each run
    // The model's two shapes in small (CI = 1 and CI = CO), plus tile and slice remainders (M, N not multiples of
    // 64; P not a multiple of 16).
    const cases = [
      { x: [2, 23, 96, 1], k: [3, 3], s: 2, co: 16 },
      { x: [2, 11, 47, 16], k: [3, 3], s: 2, co: 16 },
      { x: [3, 13, 10, 70], k: [3, 2], s: 1, co: 67 },
    ] as const;
    for (const c of cases) {
      const [b, h, w, ci] = c.x;
      const oh = Math.floor((h - c.k[0]) / c.s) + 1, ow = Math.floor((w - c.k[1]) / c.s) + 1;
      const x = Float32Array.from({ length: b * h * w * ci }, () => prng.normal());
      const dy = Float32Array.from({ length: b * oh * ow * c.co }, () => prng.normal());
      const want = conv2dFilterGradValues(x, c.x, dy, c.k, c.s, c.co);
      const xt = tf.tensor4d(x, [...c.x]), dyt = tf.tensor4d(dy, [b, oh, ow, c.co]);
      const got = conv2dFilterGradWebGpu(xt, dyt, c.k, c.s);
      assertEquals(got.shape, [c.k[0], c.k[1], ci, c.co]);
      const err = relErr(await got.data(), want);
      assertOk(err < 1e-4, `${JSON.stringify(c)}: rel err ${err}`);
      tf.dispose([xt, dyt, got]);
    }
    // Through the customGrad: both gradients against the cpu backend's.
    const x = Float32Array.from({ length: 2 * 15 * 20 * 4 }, () => prng.normal());
    const f = Float32Array.from({ length: 3 * 3 * 4 * 6 }, () => prng.normal());
    const grads = async (conv: (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D) => {
      const [xt, ft] = [tf.tensor4d(x, [2, 15, 20, 4]), tf.tensor4d(f, [3, 3, 4, 6])];
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(conv(a as tf.Tensor4D, b as tf.Tensor4D))))(
        [xt, ft],
      );
      const out = [await g[0]!.data(), await g[1]!.data()];
      tf.dispose([xt, ft, ...g]);
      return out;
    };
    const gpu = await grads((a, b) => webgpuConv2d(a, b, 2));
    await initBackend("cpu");
    const cpu = await grads((a, b) => tf.conv2d(a, b, 2, "valid"));
    assertOk(relErr(gpu[0]!, cpu[0]!) < 1e-4, `dx rel err ${relErr(gpu[0]!, cpu[0]!)}`);
    assertOk(relErr(gpu[1]!, cpu[1]!) < 1e-4, `dW rel err ${relErr(gpu[1]!, cpu[1]!)}`);
  },
);
