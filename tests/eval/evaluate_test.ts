import { assertAlmostEquals, assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { type EmbedFn, evaluateRetrieval, type FeatStore, PAD_VALUE } from "../../lib/eval/evaluate.ts";
import { calcMap } from "../../lib/eval/map.ts";
import type { Line } from "../../lib/io/lines.ts";
import { encodeNpy, type NpyArray } from "../../lib/io/npy.ts";

// Tiny geometry: 1 raw frame per second, windows of chunkS = 6 s = 6 raw frames = chunkFrame 2 × meanSize 3.
const BINS = 4, CHUNK_FRAME = 2, MEAN_SIZE = 3, CHUNK_S = 6, FPS = 1, DIM = 3;
const GEOMETRY = { chunkFrame: CHUNK_FRAME, meanSize: MEAN_SIZE, chunkS: CHUNK_S, framesPerSecond: FPS };
const W = [[1, -2, 0.5, 3], [0.25, 1, -1, 2], [-1, 0.5, 2, 1]]; // (DIM, BINS)

// Fake model: a fixed projection of each window's mean over time; records the batch sizes and inputs it saw.
function fakeEmbed(calls: { batch: number; x: Float32Array }[] = []): EmbedFn {
  return (x, batch) => {
    calls.push({ batch, x: x.slice() });
    assertEquals(x.length, batch * CHUNK_FRAME * BINS);
    const out = new Float32Array(batch * DIM);
    for (let i = 0; i < batch; i++) {
      for (let d = 0; d < DIM; d++) {
        let s = 0;
        for (let t = 0; t < CHUNK_FRAME; t++) {
          for (let f = 0; f < BINS; f++) s += W[d]![f]! * x[(i * CHUNK_FRAME + t) * BINS + f]!;
        }
        out[i * DIM + d] = s / CHUNK_FRAME;
      }
    }
    return Promise.resolve(out);
  };
}

function randomFeat(seed: number, frames: number): NpyArray<Float32Array> {
  const prng = createPrng(seed);
  return { data: Float32Array.from({ length: frames * BINS }, () => prng.normal() * 10 - 40), shape: [frames, BINS] };
}

async function writeFeatures(dir: string, feats: Record<string, NpyArray<Float32Array>>): Promise<void> {
  for (const [utt, f] of Object.entries(feats)) await Deno.writeFile(`${dir}/${utt}.npy`, encodeNpy(f));
}

Deno.test("evaluateRetrieval() end to end on .npy files: chunks, batches, identical tracks, diagonal, metrics", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = randomFeat(1, 14); // 14 s: windows at 0, 6 (12 < 14); 12 + 6 < 14 fails -> 2
    const feats = { a, a2: a, b: randomFeat(2, 20), c: randomFeat(3, 4), d: randomFeat(4, 12) };
    await writeFeatures(dir, feats);
    const lines: Line[] = [
      { utt: "a", song_id: 0, feat: `${dir}/a.npy`, feat_len: 14 }, // duration from feat_len / fps
      { utt: "a2", song_id: 0, feat: `${dir}/a2.npy`, dur_s: 14 },
      { utt: "b", work_id: 1, feat: `${dir}/b.npy`, dur_ms: 20000 }, // 20 s: 0, 6, 12 (18 < 20) -> 3
      { utt: "c", song_id: 2, feat: `${dir}/c.npy`, dur_s: 4 }, // shorter than a window: 1, padded
      { utt: "d", song_id: 1, feat: `${dir}/d.npy`, dur_s: 12 }, // 12 s: 6 + 6 < 12 fails -> 1
    ];
    const calls: { batch: number; x: Float32Array }[] = [];
    const progress: string[] = [];
    const r = await evaluateRetrieval({
      queryLines: lines,
      refLines: lines,
      sameFile: true,
      embed: fakeEmbed(calls),
      batchSize: 3,
      onProgress: (p) => progress.push(`${p.phase} ${p.done}/${p.total}`),
      ...GEOMETRY,
    });
    assertEquals(r.chunkCounts, { query: [2, 2, 3, 1, 1], ref: [2, 2, 3, 1, 1] });
    assertEquals(calls.map((c) => c.batch), [3, 3, 3]); // 9 windows, embedded once (sameFile)
    assertEquals(progress, ["query 3/9", "query 6/9", "query 9/9", "distance 0/1", "distance 1/1"]);
    assertOk(r.embeddings.ref === r.embeddings.query);

    // Window 2 of b starts at frame 12: the model input is shorter(3) of b[12..18).
    // Windows in order: a×2, a2×2, b×3, c, d; batches of 3 -> b's third window opens the third batch.
    const bWin = calls[2]!.x.subarray(0, CHUNK_FRAME * BINS);
    for (let t = 0; t < CHUNK_FRAME; t++) {
      for (let f = 0; f < BINS; f++) {
        let s = 0;
        for (let k = 0; k < MEAN_SIZE; k++) s += feats.b.data[(12 + t * MEAN_SIZE + k) * BINS + f]!;
        assertAlmostEquals(bWin[t * BINS + f]!, s / MEAN_SIZE, 1e-4);
      }
    }
    // c has 4 frames: model frame 0 = mean(c[0..3)), model frame 1 = mean(c[3], -100, -100).
    const cWin = calls[2]!.x.subarray(CHUNK_FRAME * BINS, 2 * CHUNK_FRAME * BINS);
    for (let f = 0; f < BINS; f++) {
      assertAlmostEquals(cWin[BINS + f]!, (feats.c.data[3 * BINS + f]! + 2 * PAD_VALUE) / 3, 1e-4);
    }

    const n = 5;
    assertEquals(r.dist.length, n * n);
    for (let i = 0; i < n; i++) assertEquals(r.dist[i * n + i], -1);
    assertAlmostEquals(r.dist[0 * n + 1]!, 0, 1e-12); // a vs a2: identical features
    assertAlmostEquals(r.dist[1 * n + 0]!, 0, 1e-12);
    for (let i = 0; i < n * n; i++) if (i % (n + 1) !== 0) assertOk(r.dist[i]! >= 0);
    assertEquals(r.labelsQuery, [0, 0, 1, 2, 1]);
    assertEquals(r.labelsRef, [0, 0, 1, 2, 1]);

    // a and a2 find each other first; c has no relevant ref; b/d depend on the fake model: check against calcMap.
    assertEquals(r.perQuery[0], { utt: "a", ap: 1, firstRank: 1 });
    assertEquals(r.perQuery[1], { utt: "a2", ap: 1, firstRank: 1 });
    assertEquals(r.perQuery[3], { utt: "c", ap: 0, firstRank: 0 });
    const want = calcMap(r.dist, r.labelsQuery, r.labelsRef);
    assertEquals(r.metrics.meanAp, want.meanAp);
    const manual = r.perQuery.reduce((s, q) => s + q.ap, 0) / n;
    assertAlmostEquals(r.metrics.meanAp, manual, 1e-12);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function memoryStore(feats: Record<string, NpyArray<Float32Array>>, loads: string[] = []): FeatStore {
  return {
    load: (path) => {
      loads.push(path);
      const f = feats[path];
      return f ? Promise.resolve(f) : Promise.reject(new Error(`${path}: file not found`));
    },
  };
}

Deno.test("evaluateRetrieval() with separate files: query_in_ref exclusions and exact metrics", async () => {
  const a = randomFeat(11, 6), b = randomFeat(12, 6), c = randomFeat(13, 6);
  const loads: string[] = [];
  const store = memoryStore({ a, b, c }, loads);
  const queryLines = [{ utt: "qa", song_id: 7, feat: "a", dur_s: 6 }, { utt: "qb", song_id: 8, feat: "b", dur_s: 6 }];
  // ref 0 = a itself (excluded by query_in_ref), ref 1 = b, ref 2 = a again (kept), ref 3 = c
  const refLines = [
    { utt: "ra", song_id: 7, feat: "a", dur_s: 6 },
    { utt: "rb", song_id: 8, feat: "b", dur_s: 6 },
    { utt: "ra2", song_id: 7, feat: "a", dur_s: 6 },
    { utt: "rc", song_id: 9, feat: "c", dur_s: 6 },
  ];
  const calls: { batch: number; x: Float32Array }[] = [];
  const r = await evaluateRetrieval({
    queryLines,
    refLines,
    embed: fakeEmbed(calls),
    queryInRef: [[0, 0], [1, 1]],
    featStore: store,
    ...GEOMETRY,
  });
  assertEquals(loads, ["a", "b", "a", "b", "a", "c"]); // each track loaded once, in file order
  assertEquals(calls.map((c) => c.batch), [2, 4]); // query then ref, default batch 32
  assertEquals(r.dist[0 * 4 + 0], -1);
  assertEquals(r.dist[1 * 4 + 1], -1);
  assertAlmostEquals(r.dist[0 * 4 + 2]!, 0, 1e-12);
  assertEquals(r.perQuery.map((q) => [q.utt, q.ap, q.firstRank]), [["qa", 1, 1], ["qb", 0, 0]]);
  assertEquals(r.metrics.meanAp, 0.5);
  assertEquals(r.metrics.hitRate, 0.5);
  assertEquals(r.metrics.rank1, 0.5);
  assertEquals(r.chunkCounts, { query: [1, 1], ref: [1, 1, 1, 1] });
});

Deno.test("evaluateRetrieval() validates options, lines, features and embeddings", async () => {
  const store = memoryStore({ a: randomFeat(1, 6), wide: { data: new Float32Array(12), shape: [2, 6] } });
  const lines = [{ utt: "a", song_id: 0, feat: "a", dur_s: 6 }];
  const base = { queryLines: lines, refLines: lines, embed: fakeEmbed(), featStore: store, ...GEOMETRY };
  await assertRejects(() => evaluateRetrieval({ ...base, chunkS: 7 }), "must equal chunkS·framesPerSecond");
  await assertRejects(() => evaluateRetrieval({ ...base, batchSize: 0 }), "'batchSize' must be a positive integer");
  await assertRejects(() => evaluateRetrieval({ ...base, queryLines: [] }), "no query lines");
  await assertRejects(
    () => evaluateRetrieval({ ...base, refLines: [{ utt: "a", feat: "a", dur_s: 6 }], names: { ref: "ref.txt" } }),
    "ref.txt: line 1: needs an integer 'song_id'",
  );
  await assertRejects(
    () => evaluateRetrieval({ ...base, queryLines: [{ utt: "a", song_id: 0, dur_s: 6 }], names: { query: "q.txt" } }),
    "q.txt: line 1 (a): no 'feat' path",
  );
  await assertRejects(
    () => evaluateRetrieval({ ...base, queryLines: [{ utt: "a", song_id: 0, feat: "a" }], names: { query: "q.txt" } }),
    "q.txt: line 1: line has no 'dur_s'",
  );
  await assertRejects(
    () => evaluateRetrieval({ ...base, refLines: [{ utt: "w", song_id: 0, feat: "wide", dur_s: 2 }] }),
    "wide: 6 bins, but a has 4",
  );
  await assertRejects(
    () => evaluateRetrieval({ ...base, refLines: [{ utt: "m", song_id: 0, feat: "missing", dur_s: 2 }] }),
    "missing: file not found",
  );
  await assertRejects(
    () => evaluateRetrieval({ ...base, embed: () => Promise.resolve(new Float32Array([NaN, 1, 2])) }),
    "non-finite embedding for a-\u2581start-0",
  );
  await assertRejects(
    () => evaluateRetrieval({ ...base, embed: () => Promise.resolve(new Float32Array(0)) }),
    "embed returned 0 values",
  );
  await assertRejects(() => evaluateRetrieval({ ...base, queryInRef: [[0, 1]] }), "ref index out of range");
  await assertRejects(
    () => evaluateRetrieval({ ...base, sameFile: true, refLines: [...lines, ...lines] }),
    "sameFile: 1 query lines but 2 ref lines",
  );
  const controller = new AbortController();
  controller.abort(new Error("stopped by the test"));
  await assertRejects(() => evaluateRetrieval({ ...base, signal: controller.signal }), "stopped by the test");
});

Deno.test("evaluateRetrieval() with batches in flight (out-of-order results) equals one batch at a time", async () => {
  const feats: Record<string, NpyArray<Float32Array>> = {};
  const lines: Line[] = [];
  for (let i = 0; i < 9; i++) {
    feats[`t${i}`] = randomFeat(40 + i, 7 + 5 * i);
    lines.push({ utt: `t${i}`, song_id: i % 3, feat: `t${i}`, feat_len: 7 + 5 * i });
  }
  const featStore: FeatStore = { load: (path) => Promise.resolve(feats[path]!) };
  const base = fakeEmbed();
  const prng = createPrng(3);
  // Each batch resolves after a random delay, so later batches often finish first.
  const slow: EmbedFn = async (x, batch) => {
    const y = await base(x, batch);
    await new Promise((r) => setTimeout(r, prng.next() * 20));
    return y;
  };
  const options = { queryLines: lines, refLines: lines, sameFile: true, ...GEOMETRY, batchSize: 2, featStore };
  const one = await evaluateRetrieval({ ...options, embed: base });
  const many = await evaluateRetrieval({ ...options, embed: slow, concurrency: 3 });
  assertEquals(Array.from(many.embeddings.query.data), Array.from(one.embeddings.query.data));
  assertEquals(Array.from(many.dist), Array.from(one.dist));
  // A failing batch rejects the whole run, even with others in flight.
  let n = 0;
  const failing: EmbedFn = (x, batch) => (++n === 3 ? Promise.reject(new Error("batch 3 failed")) : slow(x, batch));
  await assertRejects(() => evaluateRetrieval({ ...options, embed: failing, concurrency: 3 }), "batch 3 failed");
});
