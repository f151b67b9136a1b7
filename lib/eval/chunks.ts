/**
 * Evaluation chunking as the reference's `_cut_one_line_with_dur` (spec §6.1): fixed, non-overlapping windows of
 * `chunkS` seconds starting at 0, emitted while `startS + chunkS < durS` (strict) or `startS == 0`. A track
 * therefore gets `max(1, ceil(durS / chunkS) − 1)` chunks and its tail is dropped: with 135 s windows, 316.7 s
 * gives 2 chunks, 270.0 s gives 1, and anything under 135 s gives 1 (padded later with −100).
 *
 * @example
 * ```ts
 * import { cutLineChunks } from "./chunks.ts";
 * const chunks = cutLineChunks({ utt: "a", dur_s: 316.7 });
 * // [{startS: 0, start: 0, utt: "a-▁start-0"}, {startS: 135, start: 3375, utt: "a-▁start-135"}]
 * if (chunks.length !== 2 || chunks[1]!.start !== 3375) throw new Error("unexpected chunks");
 * ```
 *
 * @module
 */
import type { Line } from "../io/lines.ts";

/** The separator of the reference's chunk ids: `<utt>-▁start-<int(start_s)>` (▁ is U+2581). */
export const CHUNK_ID_SEPARATOR = "-\u2581start-";

// A guard against absurd options (a window far shorter than the track would never end the loop in floats).
const MAX_CHUNKS = 1e6;

/** One evaluation window of a track. */
export interface LineChunk {
  /** Window start in seconds (a multiple of `chunkS`, accumulated as the reference does). */
  startS: number;
  /** Start in feature frames: `int(startS · framesPerSecond)`, the `start` of "defined" mode. */
  start: number;
  /** Chunk id `<utt>-▁start-<int(startS)>`. */
  utt: string;
}

/** Options of the chunking functions. */
export interface ChunkOptions {
  /**
   * Window length and shift, in seconds (`chunk_s`).
   * @default 135
   */
  chunkS?: number;
  /**
   * Feature frames per second (the reference hard-codes 25 = 16 kHz / hop 640; configurable for other hops,
   * as the fork's issue #28 asks).
   * @default 25
   */
  framesPerSecond?: number;
}

/** A track's chunks, with the track's position in its file. */
export interface TrackChunks {
  /** 0-based line index in the file (= track index). */
  track: number;
  /** The track's `utt` (or `perf`). */
  utt: string;
  /** Its chunks, in time order (at least one). */
  chunks: LineChunk[];
}

function validate(options: ChunkOptions): { chunkS: number; framesPerSecond: number } {
  const { chunkS = 135, framesPerSecond = 25 } = options;
  if (!(Number.isFinite(chunkS) && chunkS > 0)) {
    throw new RangeError(`'chunkS' must be a positive number of seconds: current value is ${chunkS}`);
  }
  if (!(Number.isFinite(framesPerSecond) && framesPerSecond > 0)) {
    throw new RangeError(`'framesPerSecond' must be a positive number: current value is ${framesPerSecond}`);
  }
  return { chunkS, framesPerSecond };
}

function numberField(line: Line, key: string): number | undefined {
  const v = line[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) {
    throw new TypeError(`'${key}' must be a non-negative number, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * The utterance id of a line: `utt`, or the fork's `perf`.
 *
 * @param line a metadata line
 * @returns the id
 * @throws {TypeError} when the line has neither as a non-empty string
 */
export function lineUtt(line: Line): string {
  const utt = line.utt ?? line.perf;
  if (typeof utt !== "string" || utt.length === 0) throw new TypeError("line has no 'utt' (or 'perf') string");
  return utt;
}

/**
 * A line's duration in seconds: `dur_s`; else `dur_ms / 1000` (as the reference); else, where neither is present,
 * `feat_len / framesPerSecond` (= `feat_len · 0.04` at 25 fps). The last fallback is ours: the reference needs
 * `dur_s`/`dur_ms`, but `full.txt` lines always carry `feat_len`, and at 25 fps the two agree to within one frame.
 *
 * @param line a metadata line
 * @param framesPerSecond feature frame rate for the `feat_len` fallback
 * @returns seconds
 * @throws {TypeError} when none of the three keys holds a non-negative number
 */
export function lineDurationS(line: Line, framesPerSecond = 25): number {
  const durS = numberField(line, "dur_s");
  if (durS !== undefined) return durS;
  const durMs = numberField(line, "dur_ms");
  if (durMs !== undefined) return durMs / 1000;
  const featLen = numberField(line, "feat_len");
  if (featLen !== undefined) return featLen / framesPerSecond;
  throw new TypeError("line has no 'dur_s', 'dur_ms' or 'feat_len'");
}

/**
 * The evaluation windows of one line.
 *
 * @param line a metadata line with `utt` (or `perf`) and a duration (see {@linkcode lineDurationS})
 * @param options window length and frame rate
 * @returns at least one chunk, in time order
 * @throws {TypeError} on a missing id or duration, {RangeError} on bad options
 */
export function cutLineChunks(line: Line, options: ChunkOptions = {}): LineChunk[] {
  const { chunkS, framesPerSecond } = validate(options);
  const utt = lineUtt(line);
  const durS = lineDurationS(line, framesPerSecond);
  if (durS / chunkS > MAX_CHUNKS) {
    throw new RangeError(`${utt}: ${durS} s in ${chunkS} s windows exceeds ${MAX_CHUNKS} chunks`);
  }
  const out: LineChunk[] = [];
  // start_s accumulates by += chunk_s, exactly as the reference's loop (Python floats = JS numbers).
  for (let startS = 0; startS + chunkS < durS || startS === 0; startS += chunkS) {
    out.push({
      startS,
      start: Math.trunc(startS * framesPerSecond),
      utt: `${utt}${CHUNK_ID_SEPARATOR}${Math.trunc(startS)}`,
    });
  }
  return out;
}

/**
 * The evaluation windows of every line of a query or ref file, tracks in file order.
 *
 * @param lines the file's lines
 * @param options window length and frame rate
 * @param name the file (or a description), used in error messages
 * @returns one entry per line
 * @throws {TypeError} naming the file and the 1-based line when a line lacks an id or a duration
 */
export function cutEvalChunks(lines: readonly Line[], options: ChunkOptions = {}, name = "<lines>"): TrackChunks[] {
  validate(options);
  return lines.map((line, track) => {
    try {
      return { track, utt: lineUtt(line), chunks: cutLineChunks(line, options) };
    } catch (e) {
      if (e instanceof TypeError) throw new TypeError(`${name}: line ${track + 1}: ${e.message}`);
      throw e;
    }
  });
}

/**
 * Splits a chunk id back into the track id and the start second, as the reference does to regroup chunks.
 *
 * @param chunkUtt an id made by {@linkcode cutLineChunks}
 * @returns `{utt, startS}`
 * @throws {SyntaxError} when the id lacks the `-▁start-<int>` suffix
 */
export function parseChunkId(chunkUtt: string): { utt: string; startS: number } {
  const i = chunkUtt.lastIndexOf(CHUNK_ID_SEPARATOR);
  const tail = i < 0 ? "" : chunkUtt.slice(i + CHUNK_ID_SEPARATOR.length);
  if (i < 0 || !/^\d+$/.test(tail)) throw new SyntaxError(`'${chunkUtt}' is not a chunk id (<utt>-\u2581start-<s>)`);
  return { utt: chunkUtt.slice(0, i), startS: Number(tail) };
}
