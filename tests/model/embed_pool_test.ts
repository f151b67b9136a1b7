import { assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { COVERS80_MODEL_CONFIG } from "../../lib/model/config.ts";
import { disposeParams, initParams } from "../../lib/model/params.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { embedBatch } from "../../lib/train/train.ts";
import { createEmbedder, createEmbedPool } from "../../lib/model/embed_pool.ts";

Deno.test("createEmbedPool(): workers embed what this thread embeds, batches in flight at once", async () => {
  await initBackend("cpu");
  const config = { ...COVERS80_MODEL_CONFIG, numBlocks: 1, numClasses: 4, outputDims: 32, embedDim: 32 };
  const params = initParams(config, createPrng(4));
  const pool = await createEmbedPool(params, { workers: 2, backend: "cpu" });
  try {
    const prng = createPrng(5);
    const batches = [3, 1, 2].map((b) => ({
      b,
      x: Float32Array.from({ length: b * 20 * 96 }, () => -40 + 20 * prng.normal()),
    }));
    const got = await Promise.all(batches.map(({ b, x }) => pool.embed(x, b)));
    for (const [i, { b, x }] of batches.entries()) {
      const want = await embedBatch(params, x, [b, 20, 96]);
      assertEquals(got[i]!.length, b * 32);
      const diff = Math.max(...Array.from(want, (v, j) => Math.abs(v - got[i]![j]!)));
      assertOk(diff < 1e-6, `batch ${i}: ${diff}`);
    }
    assertEquals(pool.concurrency, 2);
  } finally {
    pool.close();
  }
  await assertRejects(() => pool.embed(new Float32Array(20 * 96), 1), "closed");
  // On a CPU backend, createEmbedder() uses a pool unless told 0 workers.
  const inProcess = await createEmbedder({ params, chunkFrame: 20 }, 0);
  assertEquals([inProcess.description, inProcess.concurrency], ["in process", 1]);
  disposeParams(params);
});
