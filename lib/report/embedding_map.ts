/**
 * The 2-D map of the embeddings: one point per track, placed by UMAP (the `umap-js` package, seeded through
 * {@linkcode createPrng} so the same run gives the same picture).
 *
 * One point per track rather than per chunk: retrieval ranks tracks, the page colours and labels recordings,
 * and a track's chunks would otherwise show as several unrelated-looking points of one colour. The track's
 * vector is the mean of its L2-normalised chunk embeddings, renormalised (the direction the cosine distance
 * sees), so Euclidean distances in UMAP's input are monotone in the cosine distance.
 *
 * @example
 * ```ts
 * import { embeddingMap, trackVectors } from "./embedding_map.ts";
 * const emb = { data: new Float32Array([1, 0, 0, 1, 2, 0, 0, 3]), dim: 2, chunkCounts: [2, 1, 1] };
 * const vectors = trackVectors(emb); // [[0.707, 0.707], [1, 0], [0, 1]]
 * const xy = embeddingMap(vectors, { seed: 1 });
 * if (xy.length !== 3 || !xy.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))) throw new Error("bad map");
 * ```
 *
 * @module
 */
import { UMAP } from "umap-js";
import { createPrng } from "../data/prng.ts";
import type { TrackChunkEmbeddings } from "../eval/distance.ts";

/** Options of {@linkcode embeddingMap}. */
export interface EmbeddingMapOptions {
  /**
   * Seed of UMAP's random choices (neighbour search, initial layout, negative sampling).
   * @default 1
   */
  seed?: number;
  /**
   * UMAP's neighbourhood size (capped at the number of points minus one).
   * @default 15
   */
  nNeighbors?: number;
  /**
   * UMAP's minimum distance between points in the map.
   * @default 0.1
   */
  minDist?: number;
}

/**
 * Per track, the mean of its L2-normalised chunk embeddings, renormalised to unit length (zero chunks are
 * skipped; a track whose mean is zero stays zero).
 *
 * @param emb chunk embeddings, chunks of a track contiguous
 * @returns one `dim`-vector per track, in track order
 * @throws {RangeError} when the data length does not match the chunk counts
 */
export function trackVectors(emb: TrackChunkEmbeddings): number[][] {
  const { data, dim, chunkCounts } = emb;
  let total = 0;
  for (let t = 0; t < chunkCounts.length; t++) total += chunkCounts[t]!;
  if (data.length !== total * dim) {
    throw new RangeError(`trackVectors: ${data.length} values, expected ${total} chunks × ${dim}`);
  }
  const out: number[][] = [];
  let row = 0;
  for (let t = 0; t < chunkCounts.length; t++) {
    const v = new Array<number>(dim).fill(0);
    for (let c = 0; c < chunkCounts[t]!; c++, row++) {
      const off = row * dim;
      let ss = 0;
      for (let k = 0; k < dim; k++) ss += data[off + k]! ** 2;
      const norm = Math.sqrt(ss);
      if (!(norm > 0 && Number.isFinite(norm))) continue;
      for (let k = 0; k < dim; k++) v[k]! += data[off + k]! / norm;
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    out.push(norm > 0 ? v.map((x) => x / norm) : v);
  }
  return out;
}

/**
 * Places the vectors in 2-D with UMAP. One point sits at the origin and two on a horizontal line (UMAP needs
 * at least three).
 *
 * @param vectors equally long vectors, one per point
 * @param options seed and UMAP settings
 * @returns `[x, y]` per vector, in input order (arbitrary units: only relative positions mean anything)
 * @throws {RangeError} on vectors of different lengths or bad options, {Error} when UMAP returns a non-finite
 *   coordinate
 */
export function embeddingMap(vectors: readonly (readonly number[])[], options: EmbeddingMapOptions = {}): [
  number,
  number,
][] {
  const { seed = 1, nNeighbors = 15, minDist = 0.1 } = options;
  if (!Number.isInteger(nNeighbors) || nNeighbors < 2) {
    throw new RangeError(`'nNeighbors' must be an integer ≥ 2: current value is ${nNeighbors}`);
  }
  if (!(minDist >= 0)) throw new RangeError(`'minDist' must be ≥ 0: current value is ${minDist}`);
  const dim = vectors[0]?.length ?? 0;
  if (vectors.some((v) => v.length !== dim)) throw new RangeError("embeddingMap: vectors differ in length");
  if (vectors.length === 0) return [];
  if (vectors.length === 1) return [[0, 0]];
  if (vectors.length === 2) return [[-1, 0], [1, 0]];
  const prng = createPrng(seed);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(nNeighbors, vectors.length - 1),
    minDist,
    random: prng.next,
  });
  const xy = umap.fit(vectors.map((v) => [...v]));
  const out = xy.map((p) => [p[0]!, p[1]!] as [number, number]);
  if (!out.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))) {
    throw new Error("embeddingMap: UMAP returned a non-finite coordinate");
  }
  return out;
}
