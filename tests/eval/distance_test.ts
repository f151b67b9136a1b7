import { assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { createPrng } from "../../lib/data/prng.ts";
import {
  parseQueryInRef,
  readQueryInRef,
  type TrackChunkEmbeddings,
  trackDistanceMatrix,
} from "../../lib/eval/distance.ts";

function randomEmbeddings(seed: number, chunkCounts: number[], dim: number): TrackChunkEmbeddings {
  const prng = createPrng(seed);
  const n = chunkCounts.reduce((a, b) => a + b, 0);
  return { data: Float32Array.from({ length: n * dim }, () => prng.normal()), dim, chunkCounts };
}

// The definition, written plainly: min over chunk pairs of 1 - cos.
function bruteForce(q: TrackChunkEmbeddings, r: TrackChunkEmbeddings): number[][] {
  const rows = (e: TrackChunkEmbeddings) => {
    const out: number[][][] = [];
    let row = 0;
    for (let t = 0; t < e.chunkCounts.length; t++) {
      const chunks: number[][] = [];
      for (let c = 0; c < e.chunkCounts[t]!; c++, row++) {
        chunks.push(Array.from(e.data.subarray(row * e.dim, (row + 1) * e.dim)));
      }
      out.push(chunks);
    }
    return out;
  };
  const cos = (a: number[], b: number[]) => {
    let ab = 0, aa = 0, bb = 0;
    a.forEach((x, k) => {
      ab += x * b[k]!;
      aa += x * x;
      bb += b[k]! * b[k]!;
    });
    return ab / Math.sqrt(aa * bb);
  };
  return rows(q).map((qc) =>
    rows(r).map((rc) => Math.min(...qc.flatMap((a) => rc.map((b) => Math.max(0, 1 - cos(a, b))))))
  );
}

function assertMatrix(actual: Float64Array, expected: number[][], tol = 1e-12): void {
  const nr = expected[0]!.length;
  assertEquals(actual.length, expected.length * nr);
  expected.forEach((row, i) => row.forEach((v, j) => assertAlmostEquals(actual[i * nr + j]!, v, tol, `[${i},${j}]`)));
}

Deno.test("trackDistanceMatrix() equals min-over-chunk-pairs cosine distance for any block size", () => {
  const q = randomEmbeddings(1, [1, 3, 2, 1, 4], 7);
  const r = randomEmbeddings(2, [2, 1, 1, 5, 1, 2], 7);
  const want = bruteForce(q, r);
  for (const [blockRows, blockCols] of [[32, 256], [1, 1], [2, 3], [5, 7]] as const) {
    assertMatrix(trackDistanceMatrix(q, r, { blockRows, blockCols }), want);
  }
});

Deno.test("trackDistanceMatrix() on one file: symmetric shortcut, diagonal -1, same result as two copies", () => {
  const e = randomEmbeddings(3, [2, 1, 3, 1, 1, 2, 2], 16);
  const copy: TrackChunkEmbeddings = { ...e, data: e.data.slice() };
  const want = bruteForce(e, e).map((row, i) => row.map((v, j) => (i === j ? -1 : v)));
  for (const [blockRows, blockCols] of [[32, 256], [1, 1], [3, 2], [4, 5]] as const) {
    assertMatrix(trackDistanceMatrix(e, e, { sameFile: true, blockRows, blockCols }), want); // shortcut
    assertMatrix(trackDistanceMatrix(e, copy, { sameFile: true, blockRows, blockCols }), want); // full
  }
});

Deno.test("trackDistanceMatrix() gives 0 (never a negative) for identical tracks and excludes query_in_ref", () => {
  const prng = createPrng(9);
  const dim = 128;
  const track = Array.from({ length: 3 * dim }, () => prng.normal() * 1e-3 + 0.1);
  const other = Array.from({ length: dim }, () => prng.normal());
  // query: [track, other]; ref: [other, track (same chunks, scaled and reordered), track]
  const q = { data: Float32Array.from([...track, ...other]), dim, chunkCounts: [3, 1] };
  const reordered = [...track.slice(2 * dim), ...track.slice(0, 2 * dim)].map((x) => x * 7);
  const r = { data: Float32Array.from([...other, ...reordered, ...track]), dim, chunkCounts: [1, 3, 3] };
  const d = trackDistanceMatrix(q, r, { queryInRef: [[0, 2]] });
  assertAlmostEquals(d[0 * 3 + 1]!, 0, 1e-12); // scaled float32 copy: rounding only
  assertEquals(d[0 * 3 + 2], -1);
  assertAlmostEquals(d[1 * 3 + 0]!, 0, 1e-12); // the same chunk: 1 - û·û is rounding only
  for (const v of d) if (v !== -1) assertEquals(v >= 0, true);
});

Deno.test("trackDistanceMatrix() rejects bad shapes, zero embeddings and out-of-range exclusions", () => {
  const e = randomEmbeddings(4, [1, 2], 4);
  assertThrows(() => trackDistanceMatrix(e, { ...e, dim: 2, data: new Float32Array(6) }), "dim");
  assertThrows(() => trackDistanceMatrix({ ...e, chunkCounts: [1, 1] }, e), "expected 2 chunks");
  assertThrows(() => trackDistanceMatrix({ ...e, chunkCounts: [3, 0] }, e), "track 1 has 0 chunks");
  const zero = { data: new Float32Array(12), dim: 4, chunkCounts: [1, 2] };
  assertThrows(() => trackDistanceMatrix(e, zero), "ref: chunk 0 of track 0 has a zero embedding");
  const nan = { data: e.data.slice(), dim: 4, chunkCounts: [1, 2] };
  nan.data[5] = NaN;
  assertThrows(() => trackDistanceMatrix(nan, e), "query: chunk 0 of track 1 has a non-finite embedding");
  assertThrows(() => trackDistanceMatrix(e, e, { queryInRef: [[0, 2]] }), "ref index out of range");
  assertThrows(() => trackDistanceMatrix(e, randomEmbeddings(5, [1], 4), { sameFile: true }), "sameFile");
  assertThrows(() => trackDistanceMatrix(e, e, { blockRows: 0 }), "blockRows");
});

Deno.test("parseQueryInRef() reads the reference format and names the file on errors", () => {
  const sizes = { numQuery: 3, numRef: 4 };
  assertEquals(parseQueryInRef('\n{"query_in_ref": [[0, 1], [2, 3]]}\nignored', "qir.txt", sizes), [[0, 1], [2, 3]]);
  assertEquals(parseQueryInRef('{"query_in_ref": []}', "qir.txt", sizes), []);
  assertThrows(() => parseQueryInRef("", "qir.txt", sizes), "qir.txt: empty");
  assertThrows(() => parseQueryInRef("{oops", "qir.txt", sizes), "qir.txt: first line is not JSON");
  assertThrows(() => parseQueryInRef('{"pairs": []}', "qir.txt", sizes), 'qir.txt: first line must be {"query_in_ref"');
  assertThrows(() => parseQueryInRef('{"query_in_ref": [[0]]}', "qir.txt", sizes), "query_in_ref[0] must be a pair");
  assertThrows(
    () => parseQueryInRef('{"query_in_ref": [[0, 1], [3, 0]]}', "qir.txt", sizes),
    "qir.txt: query_in_ref[1] = [3, 0]: query index out of range [0, 3)",
  );
  assertThrows(() => parseQueryInRef('{"query_in_ref": [[0, 4]]}', "qir.txt", sizes), "ref index out of range [0, 4)");
  assertThrows(() => parseQueryInRef('{"query_in_ref": [[0.5, 1]]}', "qir.txt", sizes), "pair of integers");
});

Deno.test("readQueryInRef() reads a file", async () => {
  const path = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(path, '{"query_in_ref": [[1, 0]]}\n');
    assertEquals(await readQueryInRef(path, { numQuery: 2, numRef: 1 }), [[1, 0]]);
    await assertRejects(() => readQueryInRef(path, { numQuery: 1, numRef: 1 }), `${path}: query_in_ref[0]`);
    await assertRejects(() => readQueryInRef(`${path}.missing`, { numQuery: 1, numRef: 1 }), "file not found");
  } finally {
    await Deno.remove(path);
  }
});
