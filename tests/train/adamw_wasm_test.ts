import * as tf from "@tensorflow/tfjs";
import { assertEquals } from "../_assert.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { createAdamW } from "../../lib/train/adamw.ts";
import { adamwUpdateValues, adamwUpdateWasm } from "../../lib/train/adamw_wasm.ts";

const randn = (n: number, prng = createPrng(n)) => Float32Array.from({ length: n }, () => prng.normal());
const hp = {
  beta1: 0.8,
  beta2: 0.99,
  decay: 1 - 1e-3 * 0.01,
  stepSize: 1e-3 / (1 - 0.8 ** 3),
  bc2Sqrt: 0.17,
  eps: 1e-8,
};

Deno.test("adamwUpdateWasm(): the SIMD kernel equals its twin bit for bit (with and without a clip scale, tail n mod 4)", async () => {
  await initBackend("wasm");
  for (const [n, scale] of [[4099, 0.37], [8, undefined], [3, 2]] as const) {
    const x = {
      p: randn(n),
      g: randn(n, createPrng(1)),
      m: randn(n, createPrng(2)),
      v: randn(n, createPrng(3)).map(Math.abs),
    };
    const want = { p: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n) };
    adamwUpdateValues(x, scale ?? 1, hp, want);
    const t = (a: Float32Array) => tf.tensor1d(a);
    const s = scale === undefined ? undefined : tf.tensor1d([scale]);
    const [p, g, m, v] = [t(x.p), t(x.g), t(x.m), t(x.v)];
    const got = adamwUpdateWasm(p, g, m, v, s, hp);
    for (const k of ["p", "m", "v"] as const) {
      assertEquals(Array.from(await got[k].data()), Array.from(want[k]), `n ${n}, ${k}`);
    }
    tf.dispose([p, g, m, v, got.p, got.m, got.v, ...(s ? [s] : [])]);
  }
});

Deno.test("AdamW.step() on wasm (SIMD kernel) equals the tfjs-op form on cpu bit for bit, over 3 clipped steps", async () => {
  const run = async (backend: "cpu" | "wasm") => {
    await initBackend(backend);
    const w = tf.variable(tf.tensor2d(randn(6 * 7), [6, 7]));
    const opt = createAdamW({ weightDecay: 0.05 });
    for (let step = 0; step < 3; step++) {
      const g = tf.tensor2d(randn(42, createPrng(10 + step)), [6, 7]);
      const scale = tf.tensor1d([0.5 + step / 10]);
      opt.step({ w }, { w: g }, 1e-2, { gradScale: scale });
      tf.dispose([g, scale]);
    }
    const out = Array.from(await w.data());
    const state = await opt.adamwState();
    opt.dispose();
    w.dispose();
    return [out, Array.from(state.params.w!.m), Array.from(state.params.w!.v)];
  };
  const cpu = await run("cpu");
  assertEquals(await run("wasm"), cpu);
});
