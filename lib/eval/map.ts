/**
 * Retrieval metrics exactly as the reference's `calc_map` (spec §6.3): per query, drop excluded
 * (negative) distances, stable-sort ascending, walk the ranking; a query with no relevant item
 * counts with AP 0 and rank 0.
 *
 * @module
 */

/** Aggregated metrics. */
export interface RetrievalMetrics {
  /** Mean average precision over all queries (full ranking up to `topk`). */
  meanAp: number;
  /** Mean P@10 (`top10` in the reference: relevant items in the first 10 / (queries * 10)). */
  top10: number;
  /** MR1: mean 1-based rank of the first relevant item (0 for queries without one). */
  rank1: number;
  /** Hit rate = P@1. */
  hitRate: number;
  /** Per-query AP, in query order. */
  ap: Float64Array;
  /** Per-query rank of the first relevant item (0 if none). */
  firstRank: Int32Array;
}

/**
 * Computes the metrics from a distance matrix.
 *
 * @param dist row-major `(nq, nr)` distances; negative entries are excluded from the ranking
 * @param labelQuery `nq` labels
 * @param labelRef `nr` labels
 * @param topk cut-off of the walk (the reference uses 10000)
 */
export function calcMap(
  dist: Float64Array | Float32Array,
  labelQuery: ArrayLike<number>,
  labelRef: ArrayLike<number>,
  topk = 10000,
): RetrievalMetrics {
  const nq = labelQuery.length;
  const nr = labelRef.length;
  if (dist.length !== nq * nr) {
    throw new RangeError(`calcMap: distance matrix has ${dist.length} cells, expected ${nq}x${nr}`);
  }
  const ap = new Float64Array(nq);
  const firstRank = new Int32Array(nq);
  let top10 = 0, hits = 0;
  const idx: number[] = [];
  for (let u = 0; u < nq; u++) {
    idx.length = 0;
    for (let v = 0; v < nr; v++) if (dist[u * nr + v]! >= 0) idx.push(v);
    // Array.prototype.sort is stable: ties keep ref order, as the reference's stable sort.
    idx.sort((a, b) => dist[u * nr + a]! - dist[u * nr + b]!);
    let cnt = 0, sum = 0, r1 = 0;
    const n = Math.min(idx.length, topk);
    for (let k = 0; k < n; k++) {
      if (labelRef[idx[k]!] !== labelQuery[u]) continue;
      cnt++;
      sum += cnt / (k + 1);
      if (r1 === 0) r1 = k + 1;
      if (k < 10) top10++;
    }
    ap[u] = cnt > 0 ? sum / cnt : 0;
    firstRank[u] = r1;
    if (r1 === 1) hits++;
  }
  const mean = (a: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]!;
    return nq > 0 ? s / nq : 0;
  };
  return {
    meanAp: mean(ap),
    top10: nq > 0 ? top10 / (nq * 10) : 0,
    rank1: mean(firstRank),
    hitRate: nq > 0 ? hits / nq : 0,
    ap,
    firstRank,
  };
}
