import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertOk } from "../_assert.ts";
import { webgpuTest } from "../_webgpu.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { createPrng } from "../../lib/data/prng.ts";

/** d/dx of sum(w ⊙ reduce(x)) for a random weight w on the reduced shape, against the analytic value. */
async function checkReductionGradients(): Promise<void> {
  const prng = createPrng(Date.now() % 100000); // fresh each run
  const x = tf.tensor(Float32Array.from({ length: 2 * 3 * 4 }, () => prng.normal()), [2, 3, 4]);
  const cases: { axis: number | number[] | null; keep: boolean }[] = [
    { axis: null, keep: false },
    { axis: 1, keep: false },
    { axis: -1, keep: true },
    { axis: [0, 2], keep: false },
    { axis: [], keep: false },
  ];
  for (const { axis, keep } of cases) {
    for (const op of ["sum", "mean"] as const) {
      const reduce = (t: tf.Tensor) =>
        op === "sum" ? tf.sum(t, axis ?? undefined, keep) : tf.mean(t, axis ?? undefined, keep);
      const outShape = reduce(x).shape;
      const w = tf.tensor(
        Float32Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => prng.normal()),
        outShape,
      );
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reduce(t), w)))(x);
      // Expected: w broadcast back over the reduced axes (divided by the reduced count for mean).
      const axes = axis === null ? [0, 1, 2] : (Array.isArray(axis) ? axis : [axis]).map((a) => (a + 3) % 3);
      const n = axes.reduce((s, a) => s * x.shape[a]!, 1);
      const wExpanded = tf.reshape(w, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
      const want = tf.mul(tf.broadcastTo(wExpanded, x.shape), op === "sum" ? 1 : 1 / n);
      const [gv, wv] = [await g.data(), await want.data()];
      for (let i = 0; i < gv.length; i++) {
        assertOk(
          Math.abs(gv[i]! - wv[i]!) <= 1e-6 * Math.max(1, Math.abs(wv[i]!)),
          `${op} axis ${axis}: ${gv[i]} vs ${wv[i]}`,
        );
      }
      tf.dispose([w, g, wExpanded, want]);
    }
  }
  x.dispose();
}

Deno.test("Sum and Mean gradients (broadcast, no host-side ones) equal the analytic gradient on cpu", async () => {
  await initBackend("cpu");
  await checkReductionGradients();
});

webgpuTest(
  "webgpu: uploads go through queue.writeBuffer (no staging buffers) and round-trip; reduction gradients hold",
  async () => {
    const queue = (tf.backend() as unknown as { queue: GPUQueue }).queue;
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    let writes = 0, mappedCreates = 0;
    const write = queue.writeBuffer.bind(queue);
    const create = device.createBuffer.bind(device);
    queue.writeBuffer =
      ((...a: Parameters<GPUQueue["writeBuffer"]>) => (writes++, write(...a))) as GPUQueue["writeBuffer"];
    device.createBuffer = ((d: GPUBufferDescriptor) => {
      if (d.mappedAtCreation) mappedCreates++;
      return create(d);
    }) as GPUDevice["createBuffer"];
    try {
      const f = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 1e3);
      const i32 = Int32Array.from({ length: 7 }, (_, i) => (i - 3) * 1234567); // exact in f32: tfjs-webgpu adds int32 in float
      const b = [true, false, true, true, false];
      // Each goes to the GPU when an op uses it (x + 0 keeps values exact).
      const outs = [
        tf.add(tf.tensor(f), 0),
        tf.add(tf.tensor(i32, undefined, "int32"), 0),
        tf.logicalAnd(tf.tensor(b, undefined, "bool"), tf.tensor(b.map(() => true), undefined, "bool")),
      ];
      assertEquals(Array.from(await outs[0]!.data()), Array.from(f));
      assertEquals(Array.from(await outs[1]!.data()), Array.from(i32));
      assertEquals(Array.from(await outs[2]!.data()), b.map(Number));
      assertOk(writes >= 5, `queue writes ${writes}`); // 5 tensors (+ uniforms)
      assertEquals(mappedCreates, 0);
      tf.dispose(outs);
      await checkReductionGradients();
    } finally {
      queue.writeBuffer = write;
      device.createBuffer = create;
    }
  },
);
