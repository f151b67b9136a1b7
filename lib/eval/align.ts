/**
 * Coarse alignment of the versions of a work, as the reference's `tools/alignment_for_frame.py` +
 * `src/Aligner.py` (spec §7) meant it, without its bugs. For every ordered pair (i, j) of tracks with the same
 * label, i ≠ j, each chunk a of i votes for the offset `s_a − s_b` to the chunk b of j nearest to it, and the
 * pair's shift is the most voted offset:
 *
 * - `shiftS = s_i − s_j`: the chunk of i at time t best matches the chunk of j at time `t − shiftS`;
 * - units are seconds (`shiftS`) and chunks (`shiftChunks`); the reference called seconds "frames";
 * - shift 0 is a possible answer (the reference excluded `s_b = s_a`, so two aligned recordings could never get 0,
 *   and a one-chunk j crashed it);
 * - tracks are matched by position, never by a substring of their ids (the reference mixed `sp_0.9-x` into `x`);
 * - tracks are grouped by label in one pass and each unordered pair's chunk distance matrix is computed once and
 *   read in both directions, so the cost is Σ over works of (pairs × chunks² × D) instead of the reference's
 *   O(N²) line scans with JSON re-parsing.
 *
 * Ties: a chunk equally near to several chunks of j votes for the smallest |offset| (then the smallest offset), and
 * a tie between equally voted offsets goes the same way: smallest |shift|, then the smallest (negative) shift. Both
 * favour "no shift" when the evidence does not decide.
 *
 * @example
 * ```ts
 * import { alignTrackPairs } from "./align.ts";
 * // Track b is track a delayed by one 15 s chunk: b's chunk 1 is a's chunk 0, b's chunk 2 is a's chunk 1.
 * const tracks = [
 *   { utt: "a", label: 0, startS: [0, 15] },
 *   { utt: "b", label: 0, startS: [0, 15, 30] },
 * ];
 * // a's chunks, then b's: b starts with something a lacks.
 * const data = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0]);
 * const pairs = alignTrackPairs(tracks, { data, dim: 3, chunkCounts: [2, 3] }, { chunkS: 15 });
 * // a → b: a's chunk at t matches b's at t + 15, so shiftS = −15; b → a: +15.
 * if (pairs[0]!.shiftS !== -15 || pairs[1]!.shiftS !== 15) throw new Error("unexpected shifts");
 * ```
 *
 * @module
 */
import type { Line } from "../io/lines.ts";
import { lineUtt } from "./chunks.ts";
import type { TrackChunkEmbeddings } from "./distance.ts";

/** Chunk distances: `cosine` = 1 − â·b̂ on L2-normalised embeddings (the eval metric), `euclidean` on raw ones. */
export type AlignMetric = "cosine" | "euclidean";

/** The metrics {@linkcode alignTrackPairs} accepts. */
export const ALIGN_METRICS: readonly AlignMetric[] = ["cosine", "euclidean"];

/** One track to align: its id, work label and the start of each of its chunks. */
export interface AlignTrack {
  /** The track's id (`utt`, or the fork's `perf`). */
  utt: string;
  /** Its work (`song_id`, or the fork's `work_id`); tracks with equal labels are aligned with each other. */
  label: number | string;
  /** Start in seconds of each chunk, in time order: multiples of the window `chunkS` (one per embedding row). */
  startS: ArrayLike<number>;
}

/** Options of {@linkcode alignTrackPairs}. */
export interface AlignOptions {
  /** Window length and hop in seconds; every chunk start is a multiple of it. */
  chunkS: number;
  /**
   * Chunk distance. `euclidean` is the reference's choice; `cosine` is the metric the model is evaluated with,
   * and is insensitive to the embedding norm.
   * @default "cosine"
   */
  metric?: AlignMetric;
}

/** The best shift of one ordered pair. */
export interface PairShift {
  /** Index of track i in the input. */
  i: number;
  /** Index of track j in the input. */
  j: number;
  /** Id of track i. */
  uttI: string;
  /** Id of track j. */
  uttJ: string;
  /** The pair's work label (track i's). */
  label: number | string;
  /** `s_i − s_j` in seconds: time t in i best matches time `t − shiftS` in j. */
  shiftS: number;
  /** The same shift in chunks (`shiftS / chunkS`). */
  shiftChunks: number;
  /** Chunks of i that voted for the shift. */
  votes: number;
  /** Chunks of i (= voters); `votes / chunks` is the confidence. */
  chunks: number;
}

/**
 * The most frequent value of integer offsets; ties go to the smallest |value|, then the smallest value.
 *
 * @param offsets at least one integer
 * @returns the mode and how many offsets equal it
 * @throws {RangeError} when `offsets` is empty
 */
export function modeShift(offsets: ArrayLike<number>): { shift: number; votes: number } {
  if (offsets.length === 0) throw new RangeError("modeShift: no offsets");
  const counts = new Map<number, number>();
  for (let k = 0; k < offsets.length; k++) counts.set(offsets[k]!, (counts.get(offsets[k]!) ?? 0) + 1);
  let shift = 0, votes = 0;
  for (const [s, n] of counts) {
    if (n > votes || (n === votes && preferred(s, shift))) {
      shift = s;
      votes = n;
    }
  }
  return { shift, votes };
}

// The tie rule of the module doc: smaller |s| wins, then the smaller s.
function preferred(s: number, than: number): boolean {
  return Math.abs(s) < Math.abs(than) || (Math.abs(s) === Math.abs(than) && s < than);
}

/**
 * Groups track indices by label in one pass: groups in order of first appearance, indices ascending.
 *
 * @param labels one label per track
 * @returns the groups (including those of one track)
 */
export function groupByLabel(labels: readonly (number | string)[]): number[][] {
  const groups = new Map<string, number[]>();
  labels.forEach((label, t) => {
    // 7 and "7" are one work: files written by other tools may quote ids.
    const key = String(label).trim();
    const g = groups.get(key);
    if (g) g.push(t);
    else groups.set(key, [t]);
  });
  return [...groups.values()];
}

// Chunk start → chunk index on the window grid (rejects starts off the grid, which would make shiftChunks lie).
function gridIndices(track: AlignTrack, t: number, chunkS: number): Int32Array {
  const out = new Int32Array(track.startS.length);
  for (let c = 0; c < out.length; c++) {
    const s = track.startS[c]!;
    const k = Math.round(s / chunkS);
    // Starts accumulate by += chunkS (as the reference), so allow float noise but not another grid.
    if (!Number.isFinite(s) || Math.abs(s - k * chunkS) > 1e-6 * Math.max(1, Math.abs(s))) {
      throw new RangeError(`track ${t} (${track.utt}): chunk ${c} starts at ${s} s, not a multiple of ${chunkS} s`);
    }
    out[c] = k;
  }
  return out;
}

/**
 * The shift of every ordered pair (i, j), i ≠ j, of tracks with the same label (see the module doc).
 *
 * @param tracks the tracks; chunk counts must match `embeddings.chunkCounts`
 * @param embeddings `(Σ chunks, dim)` chunk embeddings, tracks in order, chunks of a track contiguous
 * @param options the window and the metric
 * @returns one entry per ordered pair, sorted by i then j (the reference's order on a file sorted by work)
 * @throws {RangeError} on inconsistent sizes, chunk starts off the window grid, non-finite embeddings, or a zero
 *   embedding with the cosine metric
 */
export function alignTrackPairs(
  tracks: readonly AlignTrack[],
  embeddings: TrackChunkEmbeddings,
  options: AlignOptions,
): PairShift[] {
  const { chunkS, metric = "cosine" } = options;
  if (!(Number.isFinite(chunkS) && chunkS > 0)) throw new RangeError(`'chunkS' must be positive, got ${chunkS}`);
  if (!ALIGN_METRICS.includes(metric)) {
    throw new RangeError(`'metric' must be one of ${ALIGN_METRICS.join(", ")}, got '${metric}'`);
  }
  const { data, dim } = embeddings;
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`'dim' must be a positive integer, got ${dim}`);
  if (embeddings.chunkCounts.length !== tracks.length) {
    throw new RangeError(`${tracks.length} tracks but embeddings for ${embeddings.chunkCounts.length}`);
  }
  // Row offset of each track, and its chunks on the window grid.
  const first = new Int32Array(tracks.length + 1);
  const grid = tracks.map((track, t) => {
    const n = embeddings.chunkCounts[t]!;
    if (n !== track.startS.length || n < 1) {
      throw new RangeError(`track ${t} (${track.utt}): ${track.startS.length} chunk starts, ${n} embeddings`);
    }
    first[t + 1] = first[t]! + n;
    return gridIndices(track, t, chunkS);
  });
  if (data.length !== first[tracks.length]! * dim) {
    throw new RangeError(`${data.length} embedding values, expected ${first[tracks.length]} chunks × ${dim}`);
  }
  const rows = prepareRows(data, dim, metric, tracks, first);

  const out: PairShift[] = [];
  for (const group of groupByLabel(tracks.map((t) => t.label))) {
    for (let x = 0; x < group.length; x++) {
      for (let y = x + 1; y < group.length; y++) {
        const i = group[x]!, j = group[y]!;
        const ni = grid[i]!.length, nj = grid[j]!.length;
        // One (ni, nj) matrix serves both directions: rows for i → j, columns for j → i.
        const d = new Float64Array(ni * nj);
        for (let a = 0; a < ni; a++) {
          for (let b = 0; b < nj; b++) {
            d[a * nj + b] = distance(rows, (first[i]! + a) * dim, (first[j]! + b) * dim, dim, metric);
          }
        }
        out.push(pairShift(tracks, grid, i, j, d, ni, nj, nj, 1, chunkS));
        out.push(pairShift(tracks, grid, j, i, d, nj, ni, 1, nj, chunkS));
      }
    }
  }
  return out.sort((p, q) => p.i - q.i || p.j - q.j);
}

// Float64 rows to compare: unit vectors for cosine, raw values for euclidean.
function prepareRows(
  data: Float32Array | Float64Array,
  dim: number,
  metric: AlignMetric,
  tracks: readonly AlignTrack[],
  first: Int32Array,
): Float64Array {
  const rows = Float64Array.from(data);
  for (let t = 0; t < tracks.length; t++) {
    for (let r = first[t]!; r < first[t + 1]!; r++) {
      let ss = 0;
      for (let k = 0; k < dim; k++) ss += rows[r * dim + k]! * rows[r * dim + k]!;
      if (!Number.isFinite(ss)) {
        throw new RangeError(`track ${t} (${tracks[t]!.utt}): chunk ${r - first[t]!} has a non-finite embedding`);
      }
      if (metric !== "cosine") continue;
      // A zero vector has no direction: every cosine distance to it would be an arbitrary 1.
      if (ss === 0) throw new RangeError(`track ${t} (${tracks[t]!.utt}): chunk ${r - first[t]!} has a zero embedding`);
      const inv = 1 / Math.sqrt(ss);
      for (let k = 0; k < dim; k++) rows[r * dim + k]! *= inv;
    }
  }
  return rows;
}

function distance(rows: Float64Array, p: number, q: number, dim: number, metric: AlignMetric): number {
  let s = 0;
  if (metric === "cosine") {
    for (let k = 0; k < dim; k++) s += rows[p + k]! * rows[q + k]!;
    return 1 - s;
  }
  // Squared: the argmin is the same and the square root buys nothing.
  for (let k = 0; k < dim; k++) {
    const e = rows[p + k]! - rows[q + k]!;
    s += e * e;
  }
  return s;
}

// Votes of the chunks of `from` against `to`; d[a·rowStride + b·colStride] is the distance of chunk a of `from`
// to chunk b of `to`.
function pairShift(
  tracks: readonly AlignTrack[],
  grid: Int32Array[],
  from: number,
  to: number,
  d: Float64Array,
  nFrom: number,
  nTo: number,
  rowStride: number,
  colStride: number,
  chunkS: number,
): PairShift {
  const gFrom = grid[from]!, gTo = grid[to]!;
  const offsets = new Int32Array(nFrom);
  for (let a = 0; a < nFrom; a++) {
    let best = Infinity, offset = 0;
    for (let b = 0; b < nTo; b++) {
      const v = d[a * rowStride + b * colStride]!;
      const o = gFrom[a]! - gTo[b]!;
      if (v < best || (v === best && preferred(o, offset))) {
        best = v;
        offset = o;
      }
    }
    offsets[a] = offset;
  }
  const { shift, votes } = modeShift(offsets);
  return {
    i: from,
    j: to,
    uttI: tracks[from]!.utt,
    uttJ: tracks[to]!.utt,
    label: tracks[from]!.label,
    shiftS: shift * chunkS,
    shiftChunks: shift,
    votes,
    chunks: nFrom,
  };
}

/**
 * Whether a line is a speed-augmented copy: an id `sp_<k>-…` (what the original's, the fork's and our `extract`
 * write) or a `speed` key other than 1. Their time axis is stretched, so one constant shift cannot align them.
 *
 * @param line a full.txt-style line
 */
export function isSpeedVariant(line: Line): boolean {
  const speed = line.speed;
  if (typeof speed === "number" && Math.abs(speed - 1) > 0.01) return true;
  const utt = line.utt ?? line.perf;
  return typeof utt === "string" && /^sp_/.test(utt);
}

/**
 * A line's work label: `song_id`, or the fork's `work_id` (an integer, or a non-empty string).
 *
 * @param line a full.txt-style line
 * @param where the file and line, for the error message
 * @throws {TypeError} when neither is present
 */
export function lineWorkLabel(line: Line, where: string): number | string {
  const v = line.song_id ?? line.work_id;
  if ((typeof v === "number" && Number.isInteger(v)) || (typeof v === "string" && v.trim() !== "")) return v;
  throw new TypeError(`${where}: needs an integer 'song_id' (or 'work_id'), got ${JSON.stringify(v)}`);
}

/** What {@linkcode selectAlignLines} kept and why it dropped the rest. */
export interface AlignSelection {
  /** Indices (into the input) of the lines to embed and align, in file order. */
  keep: number[];
  /** Their labels, in the same order. */
  labels: (number | string)[];
  /** Speed variants left out. */
  speedVariants: number;
  /** Lines left out because no other kept line has their label. */
  alone: number;
}

/**
 * Picks the lines worth embedding: drops speed variants (unless asked not to) and lines with no other version
 * left in their work, so that no window is embedded for nothing.
 *
 * @param lines the file's lines
 * @param options `withSpeedVariants` keeps `sp_*` lines; `name` is the file, for error messages
 * @throws {TypeError} on a line without an id or a label; {RangeError} on an id that two kept lines share (the
 *   output names tracks by id, so it would be ambiguous)
 */
export function selectAlignLines(
  lines: readonly Line[],
  options: { withSpeedVariants?: boolean; name?: string } = {},
): AlignSelection {
  const name = options.name ?? "lines";
  const candidates: number[] = [];
  let speedVariants = 0;
  lines.forEach((line, t) => {
    if (!options.withSpeedVariants && isSpeedVariant(line)) speedVariants++;
    else candidates.push(t);
  });
  const labels = candidates.map((t) => lineWorkLabel(lines[t]!, `${name}: line ${t + 1}`));
  // Positions into `candidates` of the lines that share their work with another one, back in file order.
  const chosen = groupByLabel(labels).filter((g) => g.length >= 2).flat().sort((a, b) => a - b);
  const seen = new Map<string, number>();
  for (const x of chosen) {
    const t = candidates[x]!;
    const utt = lineUtt(lines[t]!);
    const before = seen.get(utt);
    if (before !== undefined) {
      throw new RangeError(`${name}: lines ${before + 1} and ${t + 1} have the same id '${utt}'`);
    }
    seen.set(utt, t);
  }
  return {
    keep: chosen.map((x) => candidates[x]!),
    labels: chosen.map((x) => labels[x]!),
    speedVariants,
    alone: candidates.length - chosen.length,
  };
}

/**
 * The output line of a pair: `{utt_i, utt_j, song_id, shift_s, shift_chunks, votes, chunks}`.
 *
 * @param p a pair from {@linkcode alignTrackPairs}
 */
export function alignmentLine(p: PairShift): Line {
  return {
    utt_i: p.uttI,
    utt_j: p.uttJ,
    song_id: p.label,
    shift_s: p.shiftS,
    shift_chunks: p.shiftChunks,
    votes: p.votes,
    chunks: p.chunks,
  };
}
