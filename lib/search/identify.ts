/**
 * Identification: which works of an index a query recording is a version of, with a calibrated score.
 *
 * - Distance of the query to a work = the reference's track distance taken over all the work's tracks: the minimum
 *   over (query chunk, ref chunk) pairs of `1 − cos`. Every chunk of the query counts (not only the first 135 s).
 * - Calibration: the index's own cross-work track distances are the null distribution (pairs of tracks of different
 *   works, sampled with a fixed seed, or all pairs when there are few). For a distance `d`, `p` is the share of null
 *   pairs at or below `d` (with the +1 correction of an empirical p-value), and `expected` = `p · (tracks in the
 *   index)` is how many non-cover tracks one would expect at least this close by chance. A best match with
 *   `expected` above the threshold (default 0.05) means: no version of this recording is in the index.
 *
 * @module
 */
import { createPrng } from "../data/prng.ts";
import { normalizeRows, type TopK } from "./exact.ts";
import type { LoadedIndex } from "./index_file.ts";

/** An index prepared for search: unit chunk embeddings and per-chunk track and work ids. */
export interface PreparedIndex {
  index: LoadedIndex;
  dim: number;
  /** `(chunks, dim)` unit vectors. */
  unit: Float32Array;
  /** Track of each chunk. */
  chunkTrack: Int32Array;
  /** Work (dense id) of each track. */
  trackWork: Int32Array;
  /** Work labels (song_id / work_id, else the song name) by dense id. */
  works: { label: string; song: string }[];
  /** Largest number of chunks of one work. */
  maxChunksPerWork: number;
}

/** Groups an index by work and normalises its chunk embeddings. */
export function prepareIndex(index: LoadedIndex): PreparedIndex {
  const dim = index.header.dim;
  const unit = normalizeRows(index.embeddings, dim);
  const chunkTrack = new Int32Array(index.offsets[index.tracks.length]!);
  const trackWork = new Int32Array(index.tracks.length);
  const workIds = new Map<string, number>();
  const works: PreparedIndex["works"] = [];
  const chunksPerWork: number[] = [];
  index.tracks.forEach((t, i) => {
    const label = String(t.song_id ?? t.work_id ?? t.song ?? t.work ?? t.utt);
    let w = workIds.get(label);
    if (w === undefined) {
      w = works.length;
      workIds.set(label, w);
      works.push({ label, song: String(t.song ?? t.work ?? label) });
      chunksPerWork.push(0);
    }
    trackWork[i] = w;
    chunksPerWork[w]! += t.chunks;
    chunkTrack.fill(i, index.offsets[i]!, index.offsets[i + 1]!);
  });
  return { index, dim, unit, chunkTrack, trackWork, works, maxChunksPerWork: Math.max(0, ...chunksPerWork) };
}

function trackPairDistance(p: PreparedIndex, a: number, b: number): number {
  const { unit, dim, index } = p;
  let best = Infinity;
  for (let i = index.offsets[a]!; i < index.offsets[a + 1]!; i++) {
    for (let j = index.offsets[b]!; j < index.offsets[b + 1]!; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += unit[i * dim + k]! * unit[j * dim + k]!;
      best = Math.min(best, 1 - s);
    }
  }
  return best;
}

/** The null distribution: sorted cross-work track distances. */
export interface Calibration {
  /** Sorted ascending. */
  null: Float64Array;
  /** Tracks in the index (the number of chances a non-cover has to come close). */
  tracks: number;
}

/**
 * Cross-work track distances of the index: all pairs when there are at most `maxPairs`, else `maxPairs` random pairs
 * (fixed seed, so the same index always gives the same calibration).
 *
 * @param p the prepared index
 * @param options pair budget and seed
 * @returns the sorted null distances (empty when the index has one work)
 */
export function calibrate(p: PreparedIndex, options: { maxPairs?: number; seed?: number } = {}): Calibration {
  const { maxPairs = 20000, seed = 12345 } = options;
  const n = p.index.tracks.length;
  const out: number[] = [];
  const allPairs = (n * (n - 1)) / 2;
  if (allPairs <= maxPairs) {
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) if (p.trackWork[a] !== p.trackWork[b]) out.push(trackPairDistance(p, a, b));
    }
  } else if (p.works.length > 1) {
    const prng = createPrng(seed);
    for (let tries = 0; out.length < maxPairs && tries < maxPairs * 20; tries++) {
      const a = Math.floor(prng.next() * n), b = Math.floor(prng.next() * n);
      if (p.trackWork[a] !== p.trackWork[b]) out.push(trackPairDistance(p, a, b));
    }
  }
  return { null: Float64Array.from(out).sort(), tracks: n };
}

/**
 * Empirical p-value of a distance under the null: `(1 + #{null ≤ d}) / (1 + N)`.
 *
 * @returns p in (0, 1], and 1 when the null is empty
 */
export function pValue(cal: Calibration, d: number): number {
  const nul = cal.null;
  let lo = 0, hi = nul.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (nul[mid]! <= d) lo = mid + 1;
    else hi = mid;
  }
  return (1 + lo) / (1 + nul.length);
}

/** One candidate work for a query. */
export interface WorkMatch {
  /** Work label (song_id / work_id). */
  work: string;
  /** Work name (`song`). */
  song: string;
  /** Minimum cosine distance over all chunk pairs with all the work's tracks. */
  distance: number;
  /** The index track that gave it. */
  utt: string;
  /** Start (s) of the query chunk and of the ref chunk of that pair. */
  queryStartS: number;
  refStartS: number;
  /** Calibrated p-value and expected chance matches (see the module doc). */
  p: number;
  expected: number;
}

/** Per work: the best (largest) cosine similarity and the chunk pair that gave it. */
interface WorkBest {
  score: Float64Array;
  queryChunk: Int32Array;
  refChunk: Int32Array;
}

function emptyBest(works: number): WorkBest {
  return {
    score: new Float64Array(works).fill(-Infinity),
    queryChunk: new Int32Array(works).fill(-1),
    refChunk: new Int32Array(works).fill(-1),
  };
}

function offer(p: PreparedIndex, best: WorkBest, qc: number, rc: number, s: number): void {
  const w = p.trackWork[p.chunkTrack[rc]!]!;
  const cur = best.score[w]!;
  if (s > cur || (s === cur && rc < best.refChunk[w]!)) {
    best.score[w] = s;
    best.queryChunk[w] = qc;
    best.refChunk[w] = rc;
  }
}

/** Exact per-work best scores by a full scan on the CPU. */
export function scanWorks(p: PreparedIndex, queryUnit: Float32Array): WorkBest {
  const { dim, unit } = p;
  const best = emptyBest(p.works.length);
  const nq = queryUnit.length / dim, nr = unit.length / dim;
  for (let q = 0; q < nq; q++) {
    for (let r = 0; r < nr; r++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += queryUnit[q * dim + k]! * unit[r * dim + k]!;
      offer(p, best, q, r, Math.fround(s));
    }
  }
  return best;
}

/**
 * Per-work best scores from chunk-level top-k lists, when they provably contain the top `n` works: the n-th best
 * work found must score strictly above every list's last entry (so no unseen chunk can beat it). Returns null
 * when that does not hold (the caller asks for a larger k or scans).
 */
export function worksFromTopK(p: PreparedIndex, hits: TopK, n: number): WorkBest | null {
  const best = emptyBest(p.works.length);
  let floor = -Infinity; // the best score that a chunk outside every list could have
  for (let q = 0; q < hits.nq; q++) {
    let full = true;
    for (let i = 0; i < hits.k; i++) {
      const r = hits.index[q * hits.k + i]!;
      if (r < 0) {
        full = false;
        break;
      }
      offer(p, best, q, r, hits.score[q * hits.k + i]!);
    }
    if (full) floor = Math.max(floor, hits.score[q * hits.k + hits.k - 1]!);
  }
  const found = Array.from(best.score).filter((s) => s > -Infinity).sort((a, b) => b - a);
  const need = Math.min(n, p.works.length);
  if (found.length < need) return floor === -Infinity ? best : null;
  return found[need - 1]! > floor ? best : null;
}

/**
 * Ranks works for one query from per-work best scores.
 *
 * @param p the prepared index
 * @param best per-work best scores
 * @param queryStartS start (s) of each query chunk
 * @param cal the calibration
 * @param top how many works to return
 */
export function rankWorks(
  p: PreparedIndex,
  best: WorkBest,
  queryStartS: readonly number[],
  cal: Calibration,
  top: number,
): WorkMatch[] {
  const order = Array.from(best.score.keys()).filter((w) => best.score[w]! > -Infinity);
  order.sort((a, b) => best.score[b]! - best.score[a]! || best.refChunk[a]! - best.refChunk[b]!);
  return order.slice(0, top).map((w) => {
    const rc = best.refChunk[w]!;
    const t = p.chunkTrack[rc]!;
    const track = p.index.tracks[t]!;
    const distance = Math.max(0, 1 - best.score[w]!);
    const pv = pValue(cal, distance);
    return {
      work: p.works[w]!.label,
      song: p.works[w]!.song,
      distance,
      utt: track.utt,
      queryStartS: queryStartS[best.queryChunk[w]!] ?? 0,
      refStartS: track.start_s[rc - p.index.offsets[t]!] ?? 0,
      p: pv,
      expected: pv * cal.tracks,
    };
  });
}
