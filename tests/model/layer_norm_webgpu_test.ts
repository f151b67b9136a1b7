import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertOk, relErr } from "../_assert.ts";
import { webgpuTest } from "../_webgpu.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { nativeOps } from "../../lib/model/_ops.ts";
import { layerNormGradValues, layerNormValues, webgpuLayerNorm } from "../../lib/model/layer_norm_webgpu.ts";

const EPS = 1e-5;

/** x (rows, d) with per-row offsets and scales (LayerNorm's statistics matter), gamma, beta and dy: fresh each run. */
function inputs(rows: number, d: number, seed: number) {
  const p = createPrng(seed);
  const x = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const off = 5 * p.normal(), sc = Math.exp(p.normal());
    for (let c = 0; c < d; c++) x[r * d + c] = off + sc * p.normal();
  }
  const v = (n: number) => Float32Array.from({ length: n }, () => p.normal());
  return { x, gamma: v(d), beta: v(d), dy: v(rows * d) };
}

/** Output and gradients of sum(LN(x) ⊙ dy) through `ln`, on the current backend. */
async function run(
  ln: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  shape: number[],
  v: ReturnType<typeof inputs>,
) {
  const d = shape[shape.length - 1]!;
  const [x, g, b, dy] = [
    tf.tensor(v.x, shape),
    tf.tensor(v.gamma, [d]),
    tf.tensor(v.beta, [d]),
    tf.tensor(v.dy, shape),
  ];
  const y = ln(x, g, b);
  const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(ln(a, c, e), dy)))([x, g, b]);
  const out = [await y.data(), ...await Promise.all(grads.map((t) => t.data()))] as Float32Array[];
  tf.dispose([x, g, b, dy, y, ...grads]);
  return out;
}

Deno.test("LayerNorm twins equal the tfjs-op LayerNorm and its gradients on cpu", async () => {
  await initBackend("cpu");
  const v = inputs(6, 40, Date.now() % 100000);
  const [y, dx, dg, db] = await run((x, g, b) => nativeOps().layerNorm(x, g, b, EPS), [2, 3, 40], v);
  const t = layerNormGradValues(v.x, 40, v.gamma, v.dy, EPS);
  assertOk(relErr(layerNormValues(v.x, 40, v.gamma, v.beta, EPS), y!) < 1e-5);
  assertOk(relErr(t.dx, dx!) < 1e-4, `dx ${relErr(t.dx, dx!)}`);
  assertOk(relErr(t.dgamma, dg!) < 1e-5, `dgamma ${relErr(t.dgamma, dg!)}`);
  assertOk(relErr(t.dbeta, db!) < 1e-5, `dbeta ${relErr(t.dbeta, db!)}`);
});

webgpuTest("LayerNorm WGSL kernels equal their TS twins, forward and backward", async () => {
  // d below, at and above the workgroup's 64 threads; rows above the 4096 workgroups and the 64-row chunks.
  for (const [shape, seed] of [[[3, 7, 30], 1], [[2, 5, 256], 2], [[4200, 64], 3]] as const) {
    const d = shape[shape.length - 1]!, rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const v = inputs(rows, d, Date.now() % 100000 + seed);
    const [y, dx, dg, db] = await run((x, g, b) => webgpuLayerNorm(x, g, b, EPS), [...shape], v);
    assertEquals(y!.length, rows * d);
    const t = layerNormGradValues(v.x, d, v.gamma, v.dy, EPS);
    const checks: [string, Float32Array, Float32Array][] = [
      ["y", y!, layerNormValues(v.x, d, v.gamma, v.beta, EPS)],
      ["dx", dx!, t.dx],
      ["dgamma", dg!, t.dgamma],
      ["dbeta", db!, t.dbeta],
    ];
    for (const [name, got, want] of checks) {
      assertOk(relErr(got, want) < 1e-4, `[${shape}] ${name}: ${relErr(got, want)}`);
    }
  }
});
