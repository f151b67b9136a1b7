import { assertEquals, assertOk } from "../_assert.ts";
import { requestGpuDevice } from "../../lib/gpu/device.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { normalizeRows, searchTopK } from "../../lib/search/exact.ts";
import { createGpuSearch } from "../../lib/search/search_webgpu.ts";
import { calibrate, prepareIndex, rankWorks, scanWorks, worksFromTopK } from "../../lib/search/identify.ts";

// GPU tests are ignored (never passed) without an adapter.
const adapter = await navigator.gpu?.requestAdapter();
const ignore = adapter === null || adapter === undefined;

function randomUnit(n: number, dim: number, seed: number): Float32Array {
  const prng = createPrng(seed);
  return normalizeRows(Float32Array.from({ length: n * dim }, () => prng.normal()), dim);
}

Deno.test({
  name: "createGpuSearch() equals the CPU twin on random inputs (shards, batches, padding, k > refs)",
  ignore,
  async fn() {
    const gpu = await requestGpuDevice();
    if (gpu === null) throw new Error("adapter disappeared");
    try {
      const seed = Date.now() % 100000; // fresh inputs each run; the seed is in the message on failure
      for (
        const { nr, nq, dim, k, shardRows, queryBatch, tile } of [
          { nr: 1000, nq: 70, dim: 128, k: 10, shardRows: 256, queryBatch: 32, tile: 128 as const },
          { nr: 1000, nq: 70, dim: 128, k: 10, shardRows: 256, queryBatch: 32, tile: 64 as const },
          { nr: 37, nq: 5, dim: 20, k: 64, shardRows: 262144, queryBatch: 256, tile: 128 as const },
          { nr: 37, nq: 5, dim: 20, k: 64, shardRows: 262144, queryBatch: 256, tile: 64 as const },
        ]
      ) {
        const refs = randomUnit(nr, dim, seed);
        const queries = randomUnit(nq, dim, seed + 1);
        const search = await createGpuSearch(gpu, refs, dim, { shardRows, queryBatch, tile });
        const got = await search.search(queries, k);
        search.destroy();
        const want = searchTopK(queries, refs, dim, k);
        let maxErr = 0;
        for (let i = 0; i < want.score.length; i++) {
          if (want.index[i] === -1) {
            assertEquals(got.index[i], -1, `seed ${seed}: missing hit ${i}`);
            continue;
          }
          maxErr = Math.max(
            maxErr,
            Math.abs(got.score[i]! - want.score[i]!) / Math.max(1e-3, Math.abs(want.score[i]!)),
          );
          // Indices agree unless two scores are within float32 rounding of each other.
          if (got.index[i] !== want.index[i]) {
            const a = want.score[i]!, b = got.score[i]!;
            assertOk(Math.abs(a - b) < 1e-5, `seed ${seed}: rank ${i} differs (${want.index[i]} vs ${got.index[i]})`);
          }
        }
        assertOk(maxErr < 1e-4, `seed ${seed}: relative score error ${maxErr}`);
      }
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "identify's GPU path: chunk top-k from createGpuSearch, widened as needed, gives the exact top works",
  ignore,
  async fn() {
    const gpu = await requestGpuDevice();
    if (gpu === null) throw new Error("adapter disappeared");
    try {
      const dim = 16, tracks = 60;
      const prng = createPrng(5);
      const meta = Array.from({ length: tracks }, (_, i) => ({
        utt: `t${i}`,
        song_id: i % 9,
        start_s: Array.from({ length: 1 + (i % 4) }, (_, c) => c * 135),
        chunks: 1 + (i % 4),
      }));
      const total = meta.reduce((s, m) => s + m.chunks, 0);
      const embeddings = Float32Array.from({ length: total * dim }, () => prng.normal());
      const offsets = new Int32Array(tracks + 1);
      meta.forEach((m, i) => (offsets[i + 1] = offsets[i]! + m.chunks));
      const header = {
        format: "coverhunter-index",
        version: 1,
        created: "",
        dim,
        chunk_s: 135,
        chunk_frame: 1125,
        mean_size: 3,
        model: { source: "", fingerprint: "" },
      };
      const p = prepareIndex({ header, tracks: meta, embeddings, offsets, completeBytes: 0 });
      const search = await createGpuSearch(gpu, p.unit, dim);
      const q = randomUnit(3, dim, 77);
      for (const top of [1, 3, 9]) {
        let best = null;
        for (let k = 2; best === null && k <= 64; k *= 2) best = worksFromTopK(p, await search.search(q, k), top);
        assertOk(best !== null, `top ${top}: not resolved with k <= 64`);
        const cal = calibrate(p);
        const want = rankWorks(p, scanWorks(p, q), [0, 135, 270], cal, top).map((m) => [m.work, m.utt]);
        const got = rankWorks(p, best!, [0, 135, 270], cal, top).map((m) => [m.work, m.utt]);
        assertEquals(got, want, `top ${top}`);
      }
      search.destroy();
    } finally {
      gpu.destroy();
    }
  },
});
