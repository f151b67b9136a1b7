import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { embeddingMap, trackVectors } from "../../lib/report/embedding_map.ts";
import { createPrng } from "../../lib/data/prng.ts";

Deno.test("trackVectors() averages unit chunks and renormalises", () => {
  const v = trackVectors({ data: new Float32Array([3, 0, 0, 5, 0, 2]), dim: 2, chunkCounts: [2, 1] });
  assertAlmostEquals(v[0]![0]!, Math.SQRT1_2, 1e-12);
  assertAlmostEquals(v[0]![1]!, Math.SQRT1_2, 1e-12);
  assertEquals(v[1], [0, 1]);
  assertThrows(() => trackVectors({ data: new Float32Array(3), dim: 2, chunkCounts: [2] }), "expected 2 chunks");
});

function clusters(works: number, per: number, dim: number, seed: number): { vectors: number[][]; labels: number[] } {
  const prng = createPrng(seed);
  const centres = Array.from({ length: works }, () => Array.from({ length: dim }, () => prng.normal() * 4));
  const vectors: number[][] = [], labels: number[] = [];
  for (let w = 0; w < works; w++) {
    for (let i = 0; i < per; i++) {
      vectors.push(centres[w]!.map((c) => c + 0.3 * prng.normal()));
      labels.push(w);
    }
  }
  return { vectors, labels };
}

Deno.test("embeddingMap() is deterministic for a seed and keeps separated works apart", () => {
  const { vectors, labels } = clusters(4, 6, 12, 3);
  const a = embeddingMap(vectors, { seed: 5 });
  assertEquals(embeddingMap(vectors, { seed: 5 }), a);
  assertOk(JSON.stringify(embeddingMap(vectors, { seed: 6 })) !== JSON.stringify(a), "another seed, another layout");
  // mean distance within a work < mean distance across works
  let within = 0, nw = 0, across = 0, na = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const d = Math.hypot(a[i]![0] - a[j]![0], a[i]![1] - a[j]![1]);
      if (labels[i] === labels[j]) (within += d), nw++;
      else (across += d), na++;
    }
  }
  assertOk(within / nw < 0.5 * (across / na), `within ${within / nw}, across ${across / na}`);
});

Deno.test("embeddingMap() handles 0-3 points and rejects bad input", () => {
  assertEquals(embeddingMap([]), []);
  assertEquals(embeddingMap([[1, 2]]), [[0, 0]]);
  assertEquals(embeddingMap([[1, 2], [3, 4]]), [[-1, 0], [1, 0]]);
  assertEquals(embeddingMap([[1, 0], [0, 1], [1, 1]]).length, 3);
  assertThrows(() => embeddingMap([[1, 2], [3]]), "differ in length");
  assertThrows(() => embeddingMap([[1]], { nNeighbors: 1 }), "nNeighbors");
});
