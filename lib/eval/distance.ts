/**
 * Track distance matrix as the reference's `_generate_dist_matrix` (spec §6.2): the distance between a query
 * track and a ref track is the minimum over their chunk pairs of the cosine distance `1 − â·b̂`; there is no
 * averaging of chunk embeddings. Excluded pairs (the `query_in_ref` file, and the diagonal when the query file is
 * the ref file) are set to −1, which `calcMap` drops from the ranking.
 *
 * The chunk-by-chunk cosines are computed block by block (a block of query chunks against a block of ref chunks,
 * both L2-normalised once into Float64Arrays) and reduced on the fly into the `(nq, nr)` track matrix, so memory
 * is the normalised embeddings plus the output; nothing of size `Nq_chunks × Nr_chunks` is ever held.
 *
 * @example
 * ```ts
 * import { trackDistanceMatrix } from "./distance.ts";
 * // two tracks: track 0 has chunks [1,0] and [0,1]; track 1 has one chunk [1,1]
 * const emb = { data: new Float32Array([1, 0, 0, 1, 1, 1]), dim: 2, chunkCounts: [2, 1] };
 * const d = trackDistanceMatrix(emb, emb, { sameFile: true });
 * // [-1, 1 - cos45°, 1 - cos45°, -1]
 * if (d[0] !== -1 || Math.abs(d[1]! - (1 - Math.SQRT1_2)) > 1e-12) throw new Error("unexpected distances");
 * ```
 *
 * @module
 */
import { readTextFile } from "../io/read_text.ts";

/** Chunk embeddings of the tracks of one file, chunks of a track contiguous and tracks in file order. */
export interface TrackChunkEmbeddings {
  /** `(N, dim)` row-major chunk embeddings, `N = Σ chunkCounts`. */
  data: Float32Array | Float64Array;
  /** Embedding size D (128 for CoverHunter). */
  dim: number;
  /** Chunks per track (each ≥ 1), in track order. */
  chunkCounts: ArrayLike<number>;
}

/** A `(query track, ref track)` pair of 0-based line indices. */
export type IndexPair = readonly [number, number];

/** Options of {@linkcode trackDistanceMatrix}. */
export interface DistanceOptions {
  /**
   * Pairs excluded from the ranking (set to −1), e.g. from {@linkcode readQueryInRef}.
   * @default []
   */
  queryInRef?: readonly IndexPair[];
  /**
   * The query file is the ref file: the diagonal is excluded (set to −1), and the symmetry of the matrix is used
   * to halve the work when `query` and `ref` are the same object.
   * @default false
   */
  sameFile?: boolean;
  /**
   * Query chunks per block (tuning only; any value gives the same result).
   * @default 64
   */
  blockRows?: number;
  /**
   * Ref chunks per block (tuning only; any value gives the same result).
   * @default 256
   */
  blockCols?: number;
}

interface Normalised {
  unit: Float64Array; // (N, D)
  trackOf: Int32Array; // (N,)
  tracks: number;
  chunks: number;
}

function normalise(e: TrackChunkEmbeddings, role: string): Normalised {
  const { data, dim } = e;
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`${role}: 'dim' must be a positive integer, got ${dim}`);
  const tracks = e.chunkCounts.length;
  let chunks = 0;
  for (let t = 0; t < tracks; t++) {
    const c = e.chunkCounts[t]!;
    if (!Number.isInteger(c) || c < 1) throw new RangeError(`${role}: track ${t} has ${c} chunks (need ≥ 1)`);
    chunks += c;
  }
  if (data.length !== chunks * dim) {
    throw new RangeError(`${role}: ${data.length} values, expected ${chunks} chunks × ${dim}`);
  }
  const unit = new Float64Array(chunks * dim);
  const trackOf = new Int32Array(chunks);
  let row = 0;
  for (let t = 0; t < tracks; t++) {
    for (let c = 0; c < e.chunkCounts[t]!; c++, row++) {
      trackOf[row] = t;
      const off = row * dim;
      let ss = 0;
      for (let k = 0; k < dim; k++) ss += data[off + k]! * data[off + k]!;
      const norm = Math.sqrt(ss);
      if (!(norm > 0 && Number.isFinite(norm))) {
        throw new RangeError(`${role}: chunk ${c} of track ${t} has a ${norm === 0 ? "zero" : "non-finite"} embedding`);
      }
      for (let k = 0; k < dim; k++) unit[off + k] = data[off + k]! / norm;
    }
  }
  return { unit, trackOf, tracks, chunks };
}

/**
 * Checks that every pair indexes a query and a ref track.
 *
 * @param pairs the pairs
 * @param numQuery query tracks
 * @param numRef ref tracks
 * @param name where the pairs came from (a file), for error messages
 * @throws {TypeError} on a pair that is not two integers, {RangeError} on an index out of bounds
 */
export function checkIndexPairs(pairs: readonly unknown[], numQuery: number, numRef: number, name: string): void {
  pairs.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x))) {
      throw new TypeError(`${name}: query_in_ref[${i}] must be a pair of integers, got ${JSON.stringify(p)}`);
    }
    const [q, r] = p as [number, number];
    if (q < 0 || q >= numQuery) {
      throw new RangeError(`${name}: query_in_ref[${i}] = [${q}, ${r}]: query index out of range [0, ${numQuery})`);
    }
    if (r < 0 || r >= numRef) {
      throw new RangeError(`${name}: query_in_ref[${i}] = [${q}, ${r}]: ref index out of range [0, ${numRef})`);
    }
  });
}

// out[(a − a0)·stride + (b − b0)] = x[a]·y[b] for a in [a0, a1), b in [b0, b1); x, y row-major (·, dim).
// 4×4 register tiles (16 accumulators, 8 loads per 16 multiply-adds), single dot products at the edges.
function dotBlock(
  x: Float64Array,
  a0: number,
  a1: number,
  y: Float64Array,
  b0: number,
  b1: number,
  dim: number,
  out: Float64Array,
  stride: number,
): void {
  const aEnd = a0 + ((a1 - a0) & ~3), bEnd = b0 + ((b1 - b0) & ~3);
  for (let a = a0; a < aEnd; a += 4) {
    const x0 = a * dim, x1 = x0 + dim, x2 = x1 + dim, x3 = x2 + dim;
    const o = (a - a0) * stride - b0;
    for (let b = b0; b < bEnd; b += 4) {
      const y0 = b * dim, y1 = y0 + dim, y2 = y1 + dim, y3 = y2 + dim;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < dim; k++) {
        const v0 = y[y0 + k]!, v1 = y[y1 + k]!, v2 = y[y2 + k]!, v3 = y[y3 + k]!;
        let u = x[x0 + k]!;
        s00 += u * v0, s01 += u * v1, s02 += u * v2, s03 += u * v3;
        u = x[x1 + k]!;
        s10 += u * v0, s11 += u * v1, s12 += u * v2, s13 += u * v3;
        u = x[x2 + k]!;
        s20 += u * v0, s21 += u * v1, s22 += u * v2, s23 += u * v3;
        u = x[x3 + k]!;
        s30 += u * v0, s31 += u * v1, s32 += u * v2, s33 += u * v3;
      }
      out[o + b] = s00, out[o + b + 1] = s01, out[o + b + 2] = s02, out[o + b + 3] = s03;
      out[o + stride + b] = s10, out[o + stride + b + 1] = s11;
      out[o + stride + b + 2] = s12, out[o + stride + b + 3] = s13;
      out[o + 2 * stride + b] = s20, out[o + 2 * stride + b + 1] = s21;
      out[o + 2 * stride + b + 2] = s22, out[o + 2 * stride + b + 3] = s23;
      out[o + 3 * stride + b] = s30, out[o + 3 * stride + b + 1] = s31;
      out[o + 3 * stride + b + 2] = s32, out[o + 3 * stride + b + 3] = s33;
    }
  }
  // Edges: the last (a1 − a0) mod 4 rows against every column, and the last (b1 − b0) mod 4 columns.
  for (let a = a0; a < a1; a++) {
    for (let b = a < aEnd ? bEnd : b0; b < b1; b++) {
      const xa = a * dim, yb = b * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) s += x[xa + k]! * y[yb + k]!;
      out[(a - a0) * stride + b - b0] = s;
    }
  }
}

/**
 * The `(nq, nr)` track distance matrix: `min over chunk pairs (1 − cosine)`, clamped at 0 (so that rounding on
 * identical chunks cannot produce a negative, i.e. excluded, distance), with excluded pairs set to −1.
 *
 * @param query the query file's chunk embeddings
 * @param ref the ref file's chunk embeddings (pass the same object as `query` when `sameFile`)
 * @param options exclusions and block sizes
 * @returns row-major `(nq, nr)` Float64Array, ready for `calcMap`
 * @throws {RangeError} on inconsistent shapes, a zero or non-finite embedding, an exclusion out of range, or
 *   `sameFile` with different track counts
 */
export function trackDistanceMatrix(
  query: TrackChunkEmbeddings,
  ref: TrackChunkEmbeddings,
  options: DistanceOptions = {},
): Float64Array {
  const { queryInRef = [], sameFile = false, blockRows = 64, blockCols = 256 } = options;
  for (const [k, v] of [["blockRows", blockRows], ["blockCols", blockCols]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`'${k}' must be a positive integer: current value is ${v}`);
  }
  if (query.dim !== ref.dim) throw new RangeError(`query dim ${query.dim} != ref dim ${ref.dim}`);
  const q = normalise(query, "query");
  const r = query === ref ? q : normalise(ref, "ref");
  const nq = q.tracks, nr = r.tracks;
  if (sameFile && nq !== nr) throw new RangeError(`sameFile: ${nq} query tracks but ${nr} ref tracks`);
  checkIndexPairs(queryInRef, nq, nr, "queryInRef");

  // best[qt, rt] = max cosine over chunk pairs. A symmetric input (one file, one object) skips the blocks wholly
  // below the diagonal and mirrors each update: every unordered chunk pair is still seen at least once.
  const symmetric = q === r;
  const best = new Float64Array(nq * nr).fill(-Infinity);
  const dots = new Float64Array(blockRows * blockCols); // (blockRows, blockCols) cosines of the current block
  const qt = q.trackOf, rt = r.trackOf;
  for (let a0 = 0; a0 < q.chunks; a0 += blockRows) {
    const a1 = Math.min(a0 + blockRows, q.chunks);
    for (let b0 = 0; b0 < r.chunks; b0 += blockCols) {
      const b1 = Math.min(b0 + blockCols, r.chunks);
      if (symmetric && b1 <= a0) continue;
      dotBlock(q.unit, a0, a1, r.unit, b0, b1, query.dim, dots, blockCols);
      for (let a = a0; a < a1; a++) {
        const row = (a - a0) * blockCols - b0, qa = qt[a]!, rowBase = qa * nr;
        for (let b = b0; b < b1; b++) {
          const dot = dots[row + b]!;
          const i = rowBase + rt[b]!;
          if (dot > best[i]!) best[i] = dot;
          if (symmetric) {
            const j = rt[b]! * nr + qa;
            if (dot > best[j]!) best[j] = dot;
          }
        }
      }
    }
  }
  const dist = best; // reuse the buffer: distance = 1 − max cosine
  for (let i = 0; i < dist.length; i++) dist[i] = Math.max(0, 1 - best[i]!);
  if (sameFile) { for (let i = 0; i < nq; i++) dist[i * nr + i] = -1; }
  for (const [qi, ri] of queryInRef) dist[qi * nr + ri] = -1;
  return dist;
}

/**
 * Parses the reference's `query_in_ref` file: the first non-blank line is JSON `{"query_in_ref": [[qi, ri], ...]}`
 * with 0-based line indices into the query and ref files.
 *
 * @param text the file contents
 * @param name the file, for error messages
 * @param sizes line counts of the query and ref files, for bounds checks
 * @returns the pairs
 * @throws {SyntaxError} on invalid JSON, {TypeError} on a wrong shape, {RangeError} on an index out of bounds;
 *   every message names the file
 */
export function parseQueryInRef(text: string, name: string, sizes: { numQuery: number; numRef: number }): IndexPair[] {
  const first = text.split(/\r?\n/).find((l) => l.trim().length > 0);
  if (first === undefined) throw new SyntaxError(`${name}: empty query_in_ref file`);
  let v: unknown;
  try {
    v = JSON.parse(first);
  } catch (e) {
    throw new SyntaxError(`${name}: first line is not JSON (${(e as Error).message})`);
  }
  const pairs = (v !== null && typeof v === "object" && !Array.isArray(v))
    ? (v as Record<string, unknown>).query_in_ref
    : undefined;
  if (!Array.isArray(pairs)) throw new TypeError(`${name}: first line must be {"query_in_ref": [[qi, ri], ...]}`);
  checkIndexPairs(pairs, sizes.numQuery, sizes.numRef, name);
  return pairs.map((p) => [p[0], p[1]] as const);
}

/**
 * Reads a `query_in_ref` file (see {@linkcode parseQueryInRef}).
 *
 * @param path the file
 * @param sizes line counts of the query and ref files, for bounds checks
 * @returns the pairs
 * @throws as {@linkcode parseQueryInRef}, and when the file cannot be read
 */
export async function readQueryInRef(path: string, sizes: { numQuery: number; numRef: number }): Promise<IndexPair[]> {
  return parseQueryInRef(await readTextFile(path), path, sizes);
}
