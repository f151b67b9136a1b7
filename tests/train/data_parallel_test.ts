import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { COVERS80_MODEL_CONFIG } from "../../lib/model/config.ts";
import { disposeParams, initParams, paramsFromTensors, paramsToTensors } from "../../lib/model/params.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { createAdamW } from "../../lib/train/adamw.ts";
import { applyGradients, computeGradients, disposeGradients } from "../../lib/train/train_step.ts";
import { readShard } from "../../lib/train/train_serve.ts";
import { embedBatch } from "../../lib/train/train.ts";
import {
  combineBatchNormStats,
  combineShards,
  createTrainPool,
  gatherShard,
  shardBatch,
  shardIndices,
  shardSeeds,
  wasmShardFrames,
} from "../../lib/train/data_parallel.ts";

const runs = (...sizes: number[]) => sizes.flatMap((n, label) => Array<number>(n).fill(label));

Deno.test("shardBatch(): cuts between works when one is near the even cut, else evenly; shards of >= 2", () => {
  assertEquals(shardBatch(runs(8, 8, 8, 8), 2), [[0, 16], [16, 32]]);
  assertEquals(shardBatch(runs(8, 8, 8, 8), 4), [[0, 8], [8, 16], [16, 24], [24, 32]]);
  assertEquals(shardBatch(runs(8), 2), [[0, 4], [4, 8]]); // one work: an even cut
  assertEquals(shardBatch(runs(8, 8, 8), 2), [[0, 12], [12, 24]]); // the works' edges are 4 from the cut (> 24/8)
  assertEquals(shardBatch(runs(6, 4), 2), [[0, 6], [6, 10]]); // 1 from the cut (<= 10/8)
  assertEquals(shardBatch(runs(3), 4), [[0, 3]]); // too small to split
  assertEquals(shardBatch(runs(2, 2, 1), 3), [[0, 2], [2, 5]]);
  assertEquals(shardBatch(runs(6, 4), 2, 5), [[0, 5], [5, 10]]); // the change at 6 would leave a shard of 6 > 5
  const prng = createPrng(3);
  for (let trial = 0; trial < 200; trial++) {
    const b = prng.int(1, 40), shards = prng.int(1, 6);
    const labels = Array.from({ length: b }, () => prng.int(0, 3)).sort();
    const maxSize = prng.int(2, 12);
    const r = shardBatch(labels, Math.max(shards, Math.ceil(b / maxSize)), maxSize);
    assertEquals(r.length, Math.max(1, Math.min(Math.max(shards, Math.ceil(b / maxSize)), Math.floor(b / 2))));
    assertEquals(r[0]![0], 0);
    assertEquals(r.at(-1)![1], b);
    r.forEach(([a, e], k) => {
      assertOk(e - a >= Math.min(2, b), `${labels} / ${shards}: shard ${k} is [${a}, ${e})`);
      assertOk(
        e - a <= Math.max(maxSize, Math.ceil(b / r.length)),
        `${labels} / ${shards}, <= ${maxSize}: [${a}, ${e})`,
      );
      if (k > 0) assertEquals(a, r[k - 1]![1]);
    });
  }
});

Deno.test("shardIndices(): two works per shard where the batch has fewer than two per shard (halves paired)", () => {
  const seq = (a: number, e: number) => Array.from({ length: e - a }, (_, i) => a + i);
  assertEquals(shardIndices(runs(8, 8, 8, 8), 2), [seq(0, 16), seq(16, 32)]); // enough works: contiguous
  assertEquals(shardIndices(runs(8), 2), [seq(0, 4), seq(4, 8)]); // one work
  assertEquals(shardIndices(runs(8, 8, 8, 8), 4), [
    [...seq(4, 8), ...seq(8, 12)],
    [...seq(12, 16), ...seq(16, 20)],
    [...seq(20, 24), ...seq(24, 28)],
    [...seq(28, 32), ...seq(0, 4)],
  ]);
  assertEquals(shardIndices(runs(2, 3, 3), 2), [[1, 2, 3], [4, 5, 6, 7, 0]]); // cut between the pairs (A₂ B₁) | (B₂ C₁)
  const prng = createPrng(8);
  for (let trial = 0; trial < 200; trial++) {
    const works = prng.int(1, 6), m = prng.int(2, 8), shards = prng.int(1, 8), maxSize = prng.int(2, 40);
    const labels = runs(...new Array<number>(works).fill(m));
    const parts = shardIndices(labels, shards, maxSize);
    assertEquals(parts.flat().sort((a, b) => a - b), seq(0, works * m), `${works} x ${m} / ${shards}`);
    assertOk(parts.every((p) => p.length >= 2));
    if (works >= 2 && works % parts.length === 0) {
      for (const p of parts) assertOk(new Set(p.map((i) => labels[i])).size >= 2, `${works} x ${m} / ${shards}: ${p}`);
    }
  }
});

Deno.test("wasmShardFrames(): the covers80 model's shard holds 8 chunks of 1125 frames, not 16 (16 aborted)", () => {
  const frames = wasmShardFrames(COVERS80_MODEL_CONFIG);
  assertOk(frames >= 8 * 1125 && frames < 16 * 1125, String(frames));
  assertOk(wasmShardFrames({ ...COVERS80_MODEL_CONFIG, numBlocks: 2, outputDims: 64 }) > 3 * frames);
});

Deno.test("combineBatchNormStats(): the shards' statistics combine into the whole batch's", () => {
  const prng = createPrng(7);
  const c = 5, sizes = [3, 10, 2];
  const values = sizes.map((n) => Array.from({ length: n * c }, () => 4 + 3 * prng.normal()));
  const stats = (rows: number[][]) => {
    const n = rows.length;
    const mean = Array.from({ length: c }, (_, j) => rows.reduce((a, r) => a + r[j]!, 0) / n);
    const v = Array.from({ length: c }, (_, j) => rows.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / (n - 1));
    return { mean: Float32Array.from(mean), varUnbiased: Float32Array.from(v), count: n };
  };
  const rowsOf = (flat: number[]) => Array.from({ length: flat.length / c }, (_, i) => flat.slice(i * c, i * c + c));
  const got = combineBatchNormStats(values.map((v) => stats(rowsOf(v))));
  const want = stats(rowsOf(values.flat()));
  assertEquals(got.count, 15);
  for (let j = 0; j < c; j++) {
    assertOk(Math.abs(got.mean[j]! - want.mean[j]!) < 1e-5, `mean ${j}`);
    assertOk(Math.abs(got.varUnbiased[j]! / want.varUnbiased[j]! - 1) < 1e-5, `var ${j}`);
  }
});

Deno.test("combineShards(): losses and gradients are the chunk-weighted means of the shards'", async () => {
  await initBackend("cpu");
  const scalar = (v: number) => tf.scalar(v);
  const local = {
    losses: [scalar(1), scalar(2), scalar(3), scalar(4)] as [tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar],
    grads: { w: tf.tensor2d([1, 2, 3, 4], [2, 2]) },
    stats: { bn: { mean: tf.tensor1d([1]), varUnbiased: tf.tensor1d([2]), count: 4 } },
  };
  const remote = {
    losses: [5, 6, 7, 8] as [number, number, number, number],
    grads: { w: Float32Array.of(10, 20, 30, 40) },
    stats: { bn: { mean: Float32Array.of(3), varUnbiased: Float32Array.of(2), count: 12 } },
  };
  const g = await combineShards([local, remote], [1, 3]);
  try {
    assertEquals(Array.from(await tf.stack(g.losses).data()), [4, 5, 6, 7]);
    assertEquals(Array.from(await g.grads.w!.data()), [7.75, 15.5, 23.25, 31]);
    assertEquals(g.grads.w!.shape, [2, 2]);
    assertEquals(g.stats.bn!.count, 16);
    assertOk(Math.abs((await g.stats.bn!.mean.data())[0]! - 2.5) < 1e-6);
  } finally {
    disposeGradients(g);
    disposeGradients(local);
  }
});

for (
  const [threads, maxShardFrames, wantParts] of [
    [2, Infinity, [[1, 2, 3], [4, 5, 6, 7, 0]]],
    // Shards of at most 2 chunks x 20 frames: 4, two per thread (gradient accumulation on both).
    [2, 40, [[1, 2], [3, 4], [5, 6], [7, 0]]],
    [1, 60, [[1, 2, 3], [4, 5], [6, 7, 0]]],
    // Two workers: the first gets a copy of the parameters, the last the array itself.
    [3, Infinity, [[1, 2, 3], [4, 5], [6, 7, 0]]],
  ] as const
) {
  Deno.test(`createTrainPool(): ${threads} thread(s), shards of <= ${maxShardFrames} frames, step exactly as the shards computed here and combined`, async () => {
    await initBackend("cpu");
    const config = {
      ...COVERS80_MODEL_CONFIG,
      numBlocks: 1,
      numClasses: 4,
      outputDims: 32,
      embedDim: 32,
      dropout: 0.1,
    };
    const start = await paramsToTensors(initParams(config, createPrng(4)));
    const pooled = paramsFromTensors(start, config), here = paramsFromTensors(start, config);
    const optA = createAdamW(), optB = createAdamW();
    const prngA = createPrng(9), prngB = createPrng(9), data = createPrng(5);
    const pool = await createTrainPool(pooled, { threads, backend: "cpu", maxShardFrames });
    const options = { lr: 1e-2, tripletWeight: 0.1, dropout: 0.1 };
    try {
      assertEquals(pool.threads, threads);
      for (let step = 0; step < 3; step++) {
        const labels = Int32Array.from(runs(2, 3, 3));
        const shape: [number, number, number] = [8, 20, 96];
        const x = Float32Array.from({ length: 8 * 20 * 96 }, () => -40 + 20 * data.normal());
        const a = await pool.step(pooled, optA, { x, shape, labels }, { ...options, prng: prngA });
        // The same by hand: shard, compute each, read back the workers' (i mod threads > 0), combine, apply.
        const parts = shardIndices(labels, wantParts.length, maxShardFrames / 20);
        assertEquals(parts, wantParts.map((p) => [...p]));
        const seeds = shardSeeds(prngB, parts.length);
        const shards = [];
        for (const [k, p] of parts.entries()) {
          const s = gatherShard({ x, shape, labels }, p);
          const xs = tf.tensor3d(s.x, s.shape);
          const g = computeGradients(here, xs, s.labels, { ...options, prng: createPrng(seeds[k]!) });
          xs.dispose();
          shards.push(k % threads === 0 ? g : await readShard(g));
        }
        const combined = await combineShards(shards, parts.map((p) => p.length));
        const b = await applyGradients(here, optB, combined, options);
        disposeGradients(combined);
        shards.forEach((g, k) => k % threads === 0 && disposeGradients(g as Parameters<typeof disposeGradients>[0]));
        assertEquals(a, b, `step ${step}`);
        assertOk(a.finite && a.total > 0);
      }
      // Every parameter and running statistic, bit for bit (the workers got each step's new parameters).
      const [pa, pb] = [await paramsToTensors(pooled), await paramsToTensors(here)];
      for (const [name, t] of pa) {
        assertEquals(Array.from(t.data as Float32Array), Array.from(pb.get(name)!.data as Float32Array), name);
      }
      // Embedding on all threads (3 batches in flight) equals embedding here: the workers got the running statistics.
      const embed = pool.embedFn(pooled, 20);
      const batches = [3, 1, 2].map((b) => ({ b, x: Float32Array.from({ length: b * 20 * 96 }, () => data.normal()) }));
      const got = await Promise.all(batches.map(({ b, x }) => embed(x, b)));
      for (const [i, { b, x }] of batches.entries()) {
        assertEquals(Array.from(got[i]!), Array.from(await embedBatch(here, x, [b, 20, 96])), `batch ${i}`);
      }
    } finally {
      pool.close();
      [optA, optB].forEach((o) => o.dispose());
      [pooled, here].forEach(disposeParams);
    }
    await assertRejects(
      () =>
        pool.step(pooled, optA, { x: new Float32Array(4 * 20 * 96), shape: [4, 20, 96], labels: new Int32Array(4) }, {
          lr: 1,
          prng: prngA,
        }),
      "closed",
    );
  });
}
