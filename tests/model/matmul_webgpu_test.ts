import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertOk, assertThrows, relErr } from "../_assert.ts";
import { webgpuTest } from "../_webgpu.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { matMulValues, matMulWebGpu, webgpuMatMul } from "../../lib/model/matmul_webgpu.ts";

/** Operand shapes for op(A)·op(B) of sizes (batch…, M, K)·(K, N). */
function shapes(lead: number[], m: number, k: number, n: number, ta: boolean, tb: boolean) {
  return { a: [...lead, ...(ta ? [k, m] : [m, k])], b: [...lead, ...(tb ? [n, k] : [k, n])] };
}

const COMBOS = [[false, false], [false, true], [true, false], [true, true]] as const;

Deno.test("matMulValues() equals tfjs's matMul on cpu for every transpose combination", async () => {
  await initBackend("cpu");
  const prng = createPrng(Date.now() % 100000); // fresh each run
  for (const [ta, tb] of COMBOS) {
    const s = shapes([2], 5, 7, 3, ta, tb);
    const a = Float32Array.from({ length: 2 * 35 }, () => prng.normal());
    const b = Float32Array.from({ length: 2 * 21 }, () => prng.normal());
    const want = tf.matMul(tf.tensor(a, s.a), tf.tensor(b, s.b), ta, tb);
    const got = matMulValues(a, s.a, b, s.b, ta, tb);
    assertOk(relErr(got, await want.data()) < 1e-6, `${ta} ${tb}: ${relErr(got, await want.data())}`);
    want.dispose();
  }
  assertThrows(() => matMulValues(new Float32Array(6), [2, 3], new Float32Array(6), [2, 3], false, false), "inner");
});

webgpuTest(
  "WGSL matMul equals its TS twin (all transposes, odd sizes, batches); its gradients equal cpu's",
  async () => {
    const prng = createPrng(Date.now() % 100000); // fresh each run
    const sizes: [number[], number, number, number][] = [[[], 1, 5, 1], [[3], 70, 33, 130], [[2, 2], 17, 300, 65]];
    for (const [lead, m, k, n] of sizes) {
      for (const [ta, tb] of COMBOS) {
        const s = shapes(lead, m, k, n, ta, tb);
        const count = lead.reduce((x, y) => x * y, 1);
        const a = Float32Array.from({ length: count * m * k }, () => prng.normal());
        const b = Float32Array.from({ length: count * k * n }, () => prng.normal());
        const c = matMulWebGpu(tf.tensor(a, s.a), tf.tensor(b, s.b), ta, tb);
        assertEquals(c.shape, [...lead, m, n]);
        const err = relErr(await c.data(), matMulValues(a, s.a, b, s.b, ta, tb));
        assertOk(err < 1e-5, `[${lead}] ${m}x${k}x${n} ${ta} ${tb}: ${err}`);
        c.dispose();
      }
    }
    // Gradients of sum(C ⊙ W) through webgpuMatMul, against tfjs's on cpu.
    const grads = async (ta: boolean, tb: boolean, mm: typeof webgpuMatMul, seed: number) => {
      const p = createPrng(seed);
      const s = shapes([2], 9, 21, 6, ta, tb);
      const [a, b] = [
        tf.tensor(Float32Array.from({ length: 2 * 189 }, () => p.normal()), s.a),
        tf.tensor(Float32Array.from({ length: 2 * 126 }, () => p.normal()), s.b),
      ];
      const w = tf.tensor(Float32Array.from({ length: 2 * 54 }, () => p.normal()), [2, 9, 6]);
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x, y, ta, tb), w)))([a, b]);
      const out = [await g[0]!.data(), await g[1]!.data()];
      tf.dispose([a, b, w, ...g]);
      return out;
    };
    const seed = Date.now() % 100000;
    const gpu = [];
    for (const [ta, tb] of COMBOS) gpu.push(await grads(ta, tb, webgpuMatMul, seed));
    await initBackend("cpu");
    for (const [i, [ta, tb]] of COMBOS.entries()) {
      const cpu = await grads(ta, tb, (x, y, p, q) => tf.matMul(x, y, p, q), seed);
      assertOk(relErr(gpu[i]![0]!, cpu[0]!) < 1e-5, `dA ${ta} ${tb}: ${relErr(gpu[i]![0]!, cpu[0]!)}`);
      assertOk(relErr(gpu[i]![1]!, cpu[1]!) < 1e-5, `dB ${ta} ${tb}: ${relErr(gpu[i]![1]!, cpu[1]!)}`);
    }
  },
);
