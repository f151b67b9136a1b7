import { join } from "node:path";
import { assertEquals, assertOk, assertRejects, assertThrows } from "../_assert.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { readNpy } from "../../lib/io/npy.ts";
import { readLines } from "../../lib/io/lines.ts";
import { mergeTopK, normalizeRows, searchTopK } from "../../lib/search/exact.ts";
import {
  appendIndexRecords,
  createIndexFile,
  encodeIndexRecord,
  type IndexRecord,
  readIndexFile,
} from "../../lib/search/index_file.ts";
import { calibrate, prepareIndex, pValue, rankWorks, scanWorks, worksFromTopK } from "../../lib/search/identify.ts";
import { indexSql, writeIndexNpy } from "../../lib/search/export.ts";

const HEADER = { dim: 4, chunk_s: 135, chunk_frame: 1125, mean_size: 3, model: { source: "test", fingerprint: "f" } };

function randomRows(n: number, dim: number, seed: number): Float32Array {
  const prng = createPrng(seed);
  return Float32Array.from({ length: n * dim }, () => prng.normal());
}

Deno.test("searchTopK() ranks by inner product, ties to the smaller index, pads with -1 when k > refs", () => {
  const refs = new Float32Array([1, 0, 0, 1, 1, 0, -1, 0]); // r0 = r2
  const top = searchTopK(new Float32Array([1, 0]), refs, 2, 5);
  assertEquals(Array.from(top.index), [0, 2, 1, 3, -1]);
  assertEquals(Array.from(top.score).slice(0, 4), [1, 1, 0, -1]);
  assertEquals(top.score[4], -Infinity);
  assertThrows(() => searchTopK(new Float32Array(2), refs, 2, 0), "k must be");
});

Deno.test("mergeTopK() of shards equals one search over all refs", () => {
  const dim = 8, k = 7;
  const refs = normalizeRows(randomRows(300, dim, 1), dim);
  const queries = normalizeRows(randomRows(9, dim, 2), dim);
  const whole = searchTopK(queries, refs, dim, k);
  const parts = [0, 100, 250].map((from, i, a) => {
    const to = a[i + 1] ?? 300;
    const p = searchTopK(queries, refs.subarray(from * dim, to * dim), dim, k);
    return { ...p, index: p.index.map((x) => (x < 0 ? x : x + from)) };
  });
  const merged = mergeTopK(parts);
  assertEquals(Array.from(merged.index), Array.from(whole.index));
  assertEquals(Array.from(merged.score), Array.from(whole.score));
});

function record(utt: string, songId: number, chunks: number, seed: number): IndexRecord {
  return {
    meta: { utt, song_id: songId, song: `work ${songId}`, start_s: Array.from({ length: chunks }, (_, i) => i * 135) },
    data: randomRows(chunks, 4, seed),
  };
}

Deno.test("index file: create, append, read back; an interrupted append is reported and cut off", async () => {
  const dir = await Deno.makeTempDir({ prefix: "index_" });
  try {
    const path = join(dir, "ref.index");
    await createIndexFile(path, HEADER);
    await assertRejects(() => createIndexFile(path, HEADER)); // never overwrites
    const a = record("a", 0, 2, 1), b = record("b", 1, 1, 2);
    await appendIndexRecords(path, [a]);
    await appendIndexRecords(path, [b]);
    let idx = await readIndexFile(path);
    assertEquals(idx.tracks.map((t) => [t.utt, t.chunks, t.song_id]), [["a", 2, 0], ["b", 1, 1]]);
    assertEquals(Array.from(idx.offsets), [0, 2, 3]);
    assertEquals(Array.from(idx.embeddings), [...a.data, ...b.data]);
    assertEquals(idx.truncatedAt, undefined);

    // A record cut in the middle of its float block (a killed append): readers keep the complete part.
    const full = await Deno.readFile(path);
    const c = encodeIndexRecord(record("c", 2, 3, 3), 4);
    await Deno.writeFile(path, new Uint8Array([...full, ...c.subarray(0, c.length - 5)]));
    idx = await readIndexFile(path);
    assertEquals(idx.tracks.map((t) => t.utt), ["a", "b"]);
    assertEquals(idx.truncatedAt, full.length);
    // The next append replaces the incomplete record.
    await appendIndexRecords(path, [record("c", 2, 3, 3)]);
    idx = await readIndexFile(path);
    assertEquals(idx.tracks.map((t) => t.utt), ["a", "b", "c"]);
    assertEquals(idx.truncatedAt, undefined);
    assertEquals((await Deno.stat(path)).size, full.length + c.length);

    // Not an index / corrupt: errors name the file.
    await Deno.writeTextFile(join(dir, "x.index"), '{"format": "other"}\n');
    await assertRejects(() => readIndexFile(join(dir, "x.index")), "x.index: not a coverhunter-index file");
    await Deno.writeFile(join(dir, "y.index"), new Uint8Array([...full.subarray(0, full.indexOf(10) + 1), 120, 10]));
    await assertRejects(() => readIndexFile(join(dir, "y.index")), "record 1");
    assertThrows(() => encodeIndexRecord({ meta: { utt: "z", start_s: [0] }, data: new Float32Array(3) }, 4), "'z'");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function loadedIndex(records: IndexRecord[]) {
  const dir = await Deno.makeTempDir({ prefix: "index_" });
  const path = join(dir, "ref.index");
  await createIndexFile(path, HEADER);
  await appendIndexRecords(path, records);
  const idx = await readIndexFile(path);
  await Deno.remove(dir, { recursive: true });
  return idx;
}

Deno.test("identify: top-k lists give the exact top works or ask for more; ranks, p-values, calibration", async () => {
  const records = Array.from({ length: 40 }, (_, i) => record(`t${i}`, i % 13, 1 + (i % 3), 10 + i));
  const p = prepareIndex(await loadedIndex(records));
  assertEquals(p.works.length, 13);
  const q = normalizeRows(randomRows(3, 4, 99), 4);
  const exact = scanWorks(p, q);
  const cal = calibrate(p);
  // 40 tracks: all 780 pairs minus the same-work ones.
  const sameWork = Array.from({ length: 13 }, (_, w) => records.filter((_, i) => i % 13 === w).length)
    .reduce((s, n) => s + (n * (n - 1)) / 2, 0);
  assertEquals(cal.null.length, 780 - sameWork);
  const want = rankWorks(p, exact, [0, 135, 270], cal, 5);
  let answered = 0;
  for (const k of [1, 2, 4, 8, 16, 32, 64]) {
    const best = worksFromTopK(p, searchTopK(q, p.unit, 4, Math.min(k, p.unit.length / 4)), 5);
    if (best === null) continue;
    answered++;
    assertEquals(rankWorks(p, best, [0, 135, 270], cal, 5), want, `k = ${k}`);
  }
  assertOk(answered >= 2, `answered ${answered}`);
  // Sorted by distance; p grows with distance; expected = p · tracks.
  for (let i = 1; i < want.length; i++) assertOk(want[i]!.distance >= want[i - 1]!.distance);
  assertOk(want.every((m) => Math.abs(m.expected - m.p * 40) < 1e-12 && m.p > 0 && m.p <= 1));
  assertEquals(pValue({ null: new Float64Array([0.1, 0.2, 0.3]), tracks: 3 }, 0.2), 3 / 4);
  assertEquals(pValue({ null: new Float64Array([0.1, 0.2, 0.3]), tracks: 3 }, 0.05), 1 / 4);
  assertEquals(pValue({ null: new Float64Array(0), tracks: 1 }, 0.5), 1);
  // Sampled calibration is deterministic.
  assertEquals(calibrate(p, { maxPairs: 50 }).null, calibrate(p, { maxPairs: 50 }).null);
  assertEquals(calibrate(p, { maxPairs: 50 }).null.length, 50);
});

Deno.test("exports: embeddings.npy + chunks.jsonl, and SQL that PGlite + pgvector loads and searches identically", async () => {
  const records = Array.from({ length: 12 }, (_, i) => record(`t'${i}`, i % 5, 1 + (i % 2), 50 + i));
  const idx = await loadedIndex(records);
  const dir = await Deno.makeTempDir({ prefix: "export_" });
  try {
    await writeIndexNpy(idx, dir);
    const npy = await readNpy(join(dir, "embeddings.npy"));
    assertEquals(npy.shape, [18, 4]);
    const rows = await readLines(join(dir, "chunks.jsonl"));
    assertEquals(rows.length, 18);
    assertEquals(rows[1], { row: 1, utt: "t'1", song: "work 1", song_id: 1, start_s: 0 });
    assertEquals(rows[2], { row: 2, utt: "t'1", song: "work 1", song_id: 1, start_s: 135 });

    const { PGlite } = await import("@electric-sql/pglite");
    const { vector } = await import("@electric-sql/pglite/vector");
    const db = await PGlite.create({ extensions: { vector } });
    try {
      const sql = indexSql(idx);
      await db.exec(sql);
      await db.exec(sql); // exporting again (after an append) is idempotent
      const n = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM coverhunter_chunks");
      assertEquals(n.rows[0]!.n, 18);
      const q = normalizeRows(randomRows(1, 4, 7), 4);
      const literal = `[${Array.from(q).join(",")}]`;
      const got = await db.query<{ id: number; d: number }>(
        `SELECT id, embedding <=> $1 AS d FROM coverhunter_chunks ORDER BY d, id LIMIT 5`,
        [literal],
      );
      const want = searchTopK(q, npy.data as Float32Array, 4, 5);
      assertEquals(got.rows.map((r) => r.id), Array.from(want.index));
      got.rows.forEach((r, i) => assertOk(Math.abs(r.d - (1 - want.score[i]!)) < 1e-5));
    } finally {
      await db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
