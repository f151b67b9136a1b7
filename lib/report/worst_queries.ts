/**
 * The queries retrieval handles worst: lowest average precision first (then the latest first correct
 * rank), each with what went wrong: the nearest reference of another work and the nearest one of its own.
 *
 * @example
 * ```ts
 * import { worstQueries } from "./worst_queries.ts";
 * const tracks = [
 *   { utt: "a1", label: 0, work: "A" },
 *   { utt: "a2", label: 0, work: "A" },
 *   { utt: "b1", label: 1, work: "B" },
 * ];
 * // a1 is closer to b1 than to a2
 * const dist = new Float64Array([-1, 0.5, 0.2, 0.5, -1, 0.9, 0.2, 0.9, -1]);
 * const [worst] = worstQueries(dist, tracks, tracks, { count: 1 });
 * if (worst?.utt !== "b1" || worst.firstRank !== 0) throw new Error("b1 has no other version: AP 0");
 * ```
 *
 * @module
 */
import { calcMap } from "../eval/map.ts";

/** A track of the query or reference list. */
export interface TrackInfo {
  /** Recording id. */
  utt: string;
  /** Work label (`song_id`). */
  label: number;
  /** Work name for display (`song`, else the label). */
  work: string;
}

/** A reference named in a worst-query row. */
export interface NearTrack {
  /** Recording id. */
  utt: string;
  /** Work name. */
  work: string;
  /** Track distance to the query. */
  distance: number;
}

/** One row of the worst-queries table. */
export interface WorstQuery {
  /** Query id. */
  utt: string;
  /** Query work name, or null when unknown. */
  work: string | null;
  /** Average precision. */
  ap: number;
  /** 1-based rank of the first reference of the same work; 0 when there is none. */
  firstRank: number;
  /** References of the same work in the ranking, or null when unknown. */
  relevant: number | null;
  /** The closest reference of another work, or null when unknown or there is none. */
  nearestWrong: NearTrack | null;
  /** The closest reference of the same work, or null when unknown or there is none. */
  nearestRight: NearTrack | null;
}

/** Options of {@linkcode worstQueries}. */
export interface WorstQueriesOptions {
  /**
   * Rows returned at most.
   * @default 20
   */
  count?: number;
}

/**
 * Orders per-query results worst first: AP ascending, then first rank descending (none = worst), then index.
 *
 * @param ap per-query AP
 * @param firstRank per-query first rank (0 = no relevant reference)
 * @returns query indices, worst first
 */
export function worstOrder(ap: ArrayLike<number>, firstRank: ArrayLike<number>): number[] {
  const rank = (i: number) => (firstRank[i]! > 0 ? firstRank[i]! : Infinity);
  return Array.from({ length: ap.length }, (_, i) => i).sort((a, b) => ap[a]! - ap[b]! || rank(b) - rank(a) || a - b);
}

/**
 * The worst queries of a distance matrix (see the module doc).
 *
 * @param dist row-major `(query.length, ref.length)` distances, negative = excluded
 * @param query the query tracks (rows)
 * @param ref the reference tracks (columns)
 * @param options how many rows
 * @returns up to `count` rows, worst first
 * @throws {RangeError} on a size mismatch or a bad count
 */
export function worstQueries(
  dist: ArrayLike<number>,
  query: readonly TrackInfo[],
  ref: readonly TrackInfo[],
  options: WorstQueriesOptions = {},
): WorstQuery[] {
  const { count = 20 } = options;
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`'count' must be an integer ≥ 0: current value is ${count}`);
  }
  const nq = query.length, nr = ref.length;
  if (dist.length !== nq * nr) throw new RangeError(`worstQueries: ${dist.length} distances, expected ${nq}×${nr}`);
  const m = calcMap(Float64Array.from(dist), query.map((t) => t.label), ref.map((t) => t.label));
  return worstOrder(m.ap, m.firstRank).slice(0, count).map((qi) => {
    const q = query[qi]!;
    let wrong = -1, right = -1, relevant = 0;
    for (let j = 0; j < nr; j++) {
      const d = dist[qi * nr + j]!;
      if (!(d >= 0)) continue;
      if (ref[j]!.label === q.label) {
        relevant++;
        if (right < 0 || d < dist[qi * nr + right]!) right = j;
      } else if (wrong < 0 || d < dist[qi * nr + wrong]!) wrong = j;
    }
    const near = (j: number): NearTrack | null =>
      j < 0 ? null : { utt: ref[j]!.utt, work: ref[j]!.work, distance: dist[qi * nr + j]! };
    return {
      utt: q.utt,
      work: q.work,
      ap: m.ap[qi]!,
      firstRank: m.firstRank[qi]!,
      relevant,
      nearestWrong: near(wrong),
      nearestRight: near(right),
    };
  });
}
