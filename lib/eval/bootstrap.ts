/**
 * Work-stratified bootstrap of the retrieval metrics (CoverHunterMPS's `bootstrap_metrics`, spec §6.4):
 * resample the query works with replacement, keep all their query rows and the whole reference set,
 * recompute. Per-query AP, first rank and hit do not depend on which other queries are drawn, so each
 * resample is a weighted mean of the per-query values.
 *
 * @module
 */
import { createPrng } from "../data/prng.ts";
import type { RetrievalMetrics } from "./map.ts";

/** One metric's point value and bootstrap distribution. */
export interface BootstrapStat {
  point: number;
  mean: number;
  /** 2.5th percentile. */
  lo: number;
  /** 97.5th percentile. */
  hi: number;
  std: number;
}

/** Bootstrap results of mAP, MR1 and hit rate. */
export interface BootstrapResult {
  iterations: number;
  mAP: BootstrapStat;
  rank1: BootstrapStat;
  hitRate: BootstrapStat;
}

function percentile(sorted: Float64Array, p: number): number {
  const x = (sorted.length - 1) * p;
  const i = Math.floor(x), f = x - i;
  return i + 1 < sorted.length ? sorted[i]! * (1 - f) + sorted[i + 1]! * f : sorted[i]!;
}

function stat(point: number, values: Float64Array): BootstrapStat {
  const sorted = Float64Array.from(values).sort();
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { point, mean, lo: percentile(sorted, 0.025), hi: percentile(sorted, 0.975), std };
}

/**
 * Bootstraps `metrics` (from `calcMap`) over the query works.
 *
 * @param labelsQuery the work of each query row
 * @param iterations resamples (e.g. 1000)
 * @param seed generator seed (the fork uses 12345 with numpy; our generator differs, so intervals are comparable, not equal)
 */
export function bootstrapMetrics(
  metrics: RetrievalMetrics,
  labelsQuery: ArrayLike<number>,
  iterations: number,
  seed = 12345,
): BootstrapResult {
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new RangeError(`bootstrap: iterations must be a positive integer, got ${iterations}`);
  }
  const rowsByWork = new Map<number, number[]>();
  for (let i = 0; i < labelsQuery.length; i++) {
    const w = labelsQuery[i]!;
    rowsByWork.set(w, [...(rowsByWork.get(w) ?? []), i]);
  }
  const works = [...rowsByWork.values()];
  const prng = createPrng(seed);
  const map = new Float64Array(iterations), r1 = new Float64Array(iterations), hit = new Float64Array(iterations);
  for (let it = 0; it < iterations; it++) {
    let n = 0, sAp = 0, sR1 = 0, sHit = 0;
    for (let k = 0; k < works.length; k++) {
      for (const q of works[prng.int(0, works.length - 1)]!) {
        n++;
        sAp += metrics.ap[q]!;
        sR1 += metrics.firstRank[q]!;
        sHit += metrics.firstRank[q] === 1 ? 1 : 0;
      }
    }
    map[it] = sAp / n;
    r1[it] = sR1 / n;
    hit[it] = sHit / n;
  }
  return {
    iterations,
    mAP: stat(metrics.meanAp, map),
    rank1: stat(metrics.rank1, r1),
    hitRate: stat(metrics.hitRate, hit),
  };
}
