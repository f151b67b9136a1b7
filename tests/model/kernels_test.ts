import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertOk, assertThrows, relErr } from "../_assert.ts";
import { webgpuTest } from "../_webgpu.ts";
import { createOps } from "../../lib/model/_ops.ts";
import { setWebGpuKernels, webGpuKernels } from "../../lib/model/kernels.ts";
import { createPrng } from "../../lib/data/prng.ts";

Deno.test("setWebGpuKernels() switches between 'ours' and 'tfjs' and rejects anything else", () => {
  assertEquals(webGpuKernels(), "ours");
  setWebGpuKernels("tfjs");
  assertEquals(webGpuKernels(), "tfjs");
  setWebGpuKernels("ours");
  assertThrows(() => setWebGpuKernels("cuda" as "ours"), "expected 'ours' or 'tfjs'");
  assertEquals(webGpuKernels(), "ours");
});

webgpuTest("webgpu ops: 'ours' runs no tfjs BatchMatMul or Mean, 'tfjs' does; both give the same values", async () => {
  const p = createPrng(Date.now() % 100000);
  const v = (n: number) => Float32Array.from({ length: n }, () => p.normal());
  const [x, w, b, g] = [
    tf.tensor(v(6 * 32), [2, 3, 32]),
    tf.tensor(v(16 * 32), [16, 32]),
    tf.tensor(v(16)),
    tf.tensor(v(16)),
  ];
  try {
    const out: Float32Array[] = [];
    for (const kernels of ["ours", "tfjs"] as const) {
      setWebGpuKernels(kernels);
      const ops = createOps("webgpu");
      const info = await tf.profile(async () => {
        const y = tf.tidy(() => ops.layerNorm(ops.linear(x, w, b), g, b, 1e-5));
        out.push((await y.data()) as Float32Array);
        y.dispose();
      });
      const names = new Set(info.kernels.map((k) => k.name));
      assertEquals(names.has("BatchMatMul") || names.has("Mean"), kernels === "tfjs", `${kernels}: ${[...names]}`);
    }
    assertOk(relErr(out[0]!, out[1]!) < 1e-5, `ours vs tfjs: ${relErr(out[0]!, out[1]!)}`);
  } finally {
    setWebGpuKernels("ours");
    tf.dispose([x, w, b, g]);
  }
});
