/**
 * Exact inner-product search on the CPU: the twin of `shaders/search.wgsl` (same ranking: higher score first, ties
 * to the smaller ref index). With unit vectors the score is the cosine similarity and `1 − score` the reference's
 * cosine distance.
 *
 * @example
 * ```ts
 * import { normalizeRows, searchTopK } from "./exact.ts";
 * const refs = normalizeRows(new Float32Array([1, 0, 0, 1, 1, 1]), 2); // 3 refs of dim 2
 * const hits = searchTopK(new Float32Array([1, 0.1]), refs, 2, 2);
 * if (hits.index[0] !== 0 || hits.index[1] !== 2) throw new Error("unexpected ranking");
 * ```
 *
 * @module
 */

/** The k best refs per query, row-major `(nq, k)`; index −1 (score −Infinity) where fewer than k refs exist. */
export interface TopK {
  /** Queries. */
  nq: number;
  /** Results per query. */
  k: number;
  /** Scores (inner products), best first. */
  score: Float32Array;
  /** Ref indices. */
  index: Int32Array;
}

/**
 * Scales each row to unit L2 norm (rows of zeros stay zero).
 *
 * @param data row-major `(n, dim)`
 * @param dim values per row
 * @returns a new array
 */
export function normalizeRows(data: Float32Array, dim: number): Float32Array {
  if (!Number.isInteger(dim) || dim < 1 || data.length % dim !== 0) {
    throw new RangeError(`normalizeRows: ${data.length} values are not rows of ${dim}`);
  }
  const out = new Float32Array(data.length);
  for (let o = 0; o < data.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[o + j]! * data[o + j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[o + j] = data[o + j]! * inv;
  }
  return out;
}

/**
 * The k largest inner products of each query with all refs (exact, float32 products summed in float64).
 *
 * @param queries row-major `(nq, dim)`
 * @param refs row-major `(nr, dim)`
 * @param dim vector size
 * @param k results per query (at least 1)
 * @returns the top-k per query
 */
export function searchTopK(queries: Float32Array, refs: Float32Array, dim: number, k: number): TopK {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`searchTopK: k must be a positive integer, got ${k}`);
  if (queries.length % dim !== 0 || refs.length % dim !== 0) {
    throw new RangeError(`searchTopK: queries (${queries.length}) and refs (${refs.length}) must be rows of ${dim}`);
  }
  const nq = queries.length / dim, nr = refs.length / dim;
  const score = new Float32Array(nq * k).fill(-Infinity);
  const index = new Int32Array(nq * k).fill(-1);
  for (let q = 0; q < nq; q++) {
    const qo = q * dim, base = q * k;
    let n = 0;
    for (let r = 0; r < nr; r++) {
      const ro = r * dim;
      let s = 0;
      for (let j = 0; j < dim; j++) s += queries[qo + j]! * refs[ro + j]!;
      const sf = Math.fround(s);
      // Refs arrive in index order, so a strictly better score is needed to enter a full list.
      if (n === k && !(sf > score[base + k - 1]!)) continue;
      let p = Math.min(n, k - 1);
      if (n < k) n++;
      while (p > 0 && sf > score[base + p - 1]!) {
        score[base + p] = score[base + p - 1]!;
        index[base + p] = index[base + p - 1]!;
        p--;
      }
      score[base + p] = sf;
      index[base + p] = r;
    }
  }
  return { nq, k, score, index };
}

/**
 * Merges per-shard top-k lists of the same queries (shards hold disjoint refs) into one top-k.
 *
 * @param parts top-k lists with global ref indices, all with the same `nq` and `k`
 * @returns the merged top-k (same ranking rule)
 */
export function mergeTopK(parts: readonly TopK[]): TopK {
  const first = parts[0];
  if (first === undefined) throw new RangeError("mergeTopK: nothing to merge");
  const { nq, k } = first;
  const score = new Float32Array(nq * k).fill(-Infinity);
  const index = new Int32Array(nq * k).fill(-1);
  const pos = new Int32Array(parts.length);
  for (let q = 0; q < nq; q++) {
    pos.fill(0);
    for (let out = 0; out < k; out++) {
      let best = -1, bs = -Infinity, bi = 0x7fffffff;
      for (let p = 0; p < parts.length; p++) {
        const part = parts[p]!;
        if (pos[p]! >= k) continue;
        const i = part.index[q * k + pos[p]!]!;
        if (i < 0) continue;
        const s = part.score[q * k + pos[p]!]!;
        if (s > bs || (s === bs && i < bi)) {
          best = p;
          bs = s;
          bi = i;
        }
      }
      if (best < 0) break;
      score[q * k + out] = bs;
      index[q * k + out] = bi;
      pos[best]!++;
    }
  }
  return { nq, k, score, index };
}
