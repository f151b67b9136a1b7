/**
 * Model-agnostic full-track retrieval evaluation, as the reference's `eval_for_map_with_feat` (spec §6):
 * 1. cut every query (and ref) track into fixed `chunkS` windows ({@linkcode cutEvalChunks});
 * 2. cut each window from the track's `(T, F)` feature in "defined" mode: `feat[start : start + chunkFrame·meanSize]`,
 *    padded at the end with −100, then `shorter(meanSize)` → `(chunkFrame, F)`;
 * 3. embed the windows in batches with the caller's `embed` (the model in eval mode, or anything else);
 * 4. build the track distance matrix (min over chunk pairs of the cosine distance, exclusions at −1);
 * 5. compute mAP / MR1 / hit rate with `calcMap`.
 *
 * Features are loaded lazily, one track at a time, so memory holds one track's feature, one batch and the
 * `(chunks, D)` embeddings. Labels are `song_id` (or the fork's `work_id`); tracks stay in file order.
 *
 * @example
 * ```ts
 * import { evaluateRetrieval } from "./evaluate.ts";
 * // Two identical one-frame-per-second tracks of 6 frames × 2 bins, served from memory.
 * const feat = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), shape: [6, 2] };
 * const lines = [
 *   { utt: "a", song_id: 0, feat: "a.npy", feat_len: 6 },
 *   { utt: "b", song_id: 0, feat: "b.npy", feat_len: 6 },
 * ];
 * const result = await evaluateRetrieval({
 *   queryLines: lines,
 *   refLines: lines,
 *   sameFile: true,
 *   chunkFrame: 2, // model frames per window
 *   meanSize: 3, // 2·3 = 6 raw frames = chunkS · framesPerSecond
 *   chunkS: 6,
 *   framesPerSecond: 1,
 *   featStore: { load: () => Promise.resolve(feat) },
 *   // a stand-in "model": the mean of each window over time, (B, chunkFrame, F) → (B, F)
 *   embed: (x, batch) => {
 *     const out = new Float32Array(batch * 2);
 *     for (let i = 0; i < x.length; i++) out[Math.floor(i / 4) * 2 + (i % 2)]! += x[i]! / 2;
 *     return Promise.resolve(out);
 *   },
 * });
 * if (result.metrics.meanAp !== 1 || result.dist[0] !== -1) throw new Error("unexpected result");
 * ```
 *
 * @module
 */
import type { Line } from "../io/lines.ts";
import { type NpyArray, readNpyFloat64 } from "../io/npy.ts";
import { shorter } from "../features/shorter.ts";
import { calcMap, type RetrievalMetrics } from "./map.ts";
import { cutEvalChunks, type TrackChunks } from "./chunks.ts";
import { type IndexPair, type TrackChunkEmbeddings, trackDistanceMatrix } from "./distance.ts";

/** End padding of a window that runs past the track, in dB (spec §2.5). */
export const PAD_VALUE = -100;

/**
 * Embeds a batch of windows.
 *
 * @param x `(batch, chunkFrame, F)` float32, time-major per window (the model input after `shorter`); a view of a
 *   buffer the caller refills for the next batch, so an implementation takes what it needs from it before its first
 *   `await` (a tfjs tensor or a copy)
 * @param batch number of windows in `x` (the last batch may be smaller than `batchSize`)
 * @returns `(batch, D)` float32 embeddings (D constant across calls)
 */
export type EmbedFn = (x: Float32Array, batch: number) => Promise<Float32Array>;

/** Where features come from: by default `.npy` files read from each line's `feat` path. */
export interface FeatStore {
  /**
   * Loads one track's feature.
   *
   * @param path the line's `feat` value
   * @param line the whole line (for stores keyed by `utt`)
   * @returns a `(T, F)` time-major array
   */
  load(path: string, line: Line): Promise<NpyArray<Float32Array | Float64Array>>;
}

/** Progress of {@linkcode evaluateRetrieval}. */
export interface EvalProgress {
  /** `query` / `ref`: embedding that file's windows; `distance`: building the matrix (done 0, then 1). */
  phase: "query" | "ref" | "distance";
  /** Windows (or steps) done in this phase. */
  done: number;
  /** Windows (or steps) in this phase. */
  total: number;
}

/** Options of {@linkcode evaluateRetrieval}. */
export interface EvaluateRetrievalOptions {
  /** Query file lines (`utt`/`perf`, `feat`, `song_id`/`work_id`, and `dur_s`, `dur_ms` or `feat_len`). */
  queryLines: readonly Line[];
  /** Ref file lines (same keys). With `sameFile`, the same lines as `queryLines`. */
  refLines: readonly Line[];
  /** The model: `(B, chunkFrame, F)` windows → `(B, D)` embeddings. */
  embed: EmbedFn;
  /** Model frames per window after `shorter` (`chunk_frame[0]`, e.g. 1125). */
  chunkFrame: number;
  /**
   * Raw frames averaged into one model frame (`mean_size`).
   * @default 3
   */
  meanSize?: number;
  /**
   * Window length and shift in seconds; `chunkFrame · meanSize` must equal `chunkS · framesPerSecond`, as the
   * reference asserts.
   * @default 135
   */
  chunkS?: number;
  /**
   * Raw feature frames per second.
   * @default 25
   */
  framesPerSecond?: number;
  /**
   * Windows per `embed` call.
   * @default 32
   */
  batchSize?: number;
  /**
   * Extra `(query line, ref line)` pairs excluded from the ranking (the `query_in_ref` file).
   * @default []
   */
  queryInRef?: readonly IndexPair[];
  /**
   * The query file is the ref file: ref embeddings are not recomputed and the diagonal is excluded.
   * @default false
   */
  sameFile?: boolean;
  /**
   * Feature source.
   * @default reads each line's `feat` path as `.npy` (float64 kept for the averaging, as the reference)
   */
  featStore?: FeatStore;
  /**
   * Batches in flight at once (use an embedding pool's `concurrency`); results keep their order.
   * @default 1
   */
  concurrency?: number;
  /** Called after each batch and around the distance matrix. */
  onProgress?: (progress: EvalProgress) => void;
  /** Checked between batches; aborting rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Ranking cut-off of `calcMap`.
   * @default 10000
   */
  topk?: number;
  /**
   * Names of the query and ref files, for error messages.
   * @default { query: "query", ref: "ref" }
   */
  names?: { query?: string; ref?: string };
}

/** Per-query outcome. */
export interface QueryResult {
  /** The query's `utt`. */
  utt: string;
  /** Its average precision. */
  ap: number;
  /** 1-based rank of its first relevant ref (0 when none). */
  firstRank: number;
}

/** Result of {@linkcode evaluateRetrieval}. */
export interface EvaluateRetrievalResult {
  /** mAP, MR1, hit rate, mean P@10 and per-query arrays (`calcMap`). */
  metrics: RetrievalMetrics;
  /** Row-major `(nq, nr)` track distances, −1 where excluded. */
  dist: Float64Array;
  /** Query labels, in file order. */
  labelsQuery: number[];
  /** Ref labels, in file order. */
  labelsRef: number[];
  /** Per-query AP and first rank, in file order. */
  perQuery: QueryResult[];
  /** Windows per track. */
  chunkCounts: { query: number[]; ref: number[] };
  /** The window embeddings (ref is the same object as query when `sameFile`). */
  embeddings: { query: TrackChunkEmbeddings; ref: TrackChunkEmbeddings };
}

const defaultFeatStore: FeatStore = { load: (path) => readNpyFloat64(path) };

function positiveInteger(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`'${name}' must be a positive integer: current value is ${v}`);
  }
}

function lineLabel(line: Line, where: string): number {
  const v = line.song_id ?? line.work_id;
  const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new TypeError(`${where}: needs an integer 'song_id' (or 'work_id'), got ${JSON.stringify(v)}`);
  }
  return n;
}

interface EmbedContext {
  embed: EmbedFn;
  store: FeatStore;
  chunkFrame: number;
  meanSize: number;
  batchSize: number;
  bins: { value: number | undefined; from: string };
  concurrency: number;
  signal: AbortSignal | undefined;
  onProgress: ((p: EvalProgress) => void) | undefined;
}

// Embeds every window of one file; tracks in order, windows of a track contiguous.
async function embedFile(
  lines: readonly Line[],
  tracks: TrackChunks[],
  phase: "query" | "ref",
  name: string,
  ctx: EmbedContext,
): Promise<TrackChunkEmbeddings> {
  const { chunkFrame, meanSize, batchSize } = ctx;
  const chunkLen = chunkFrame * meanSize;
  const total = tracks.reduce((s, t) => s + t.chunks.length, 0);
  let done = 0;
  let batch: Float32Array | undefined;
  let batchIds: string[] = [];
  // Batch results by batch number: with several in flight they may arrive out of order.
  const results: { n: number; emb: Float32Array }[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const runBatch = async (): Promise<void> => {
    ctx.signal?.throwIfAborted();
    const n = batchIds.length;
    const ids = batchIds;
    const index = results.length;
    results.push({ n, emb: new Float32Array(0) });
    // The staging buffer is refilled while this batch is in flight: `embed` takes its input before its first await.
    const x = batch!.subarray(0, n * chunkFrame * ctx.bins.value!);
    batchIds = [];
    const job = (async () => {
      const emb = await ctx.embed(x, n);
      if (!(emb instanceof Float32Array) || emb.length === 0 || emb.length % n !== 0) {
        throw new RangeError(`embed returned ${emb?.length} values for ${n} windows (expected n·D)`);
      }
      for (let i = 0; i < emb.length; i++) {
        if (!Number.isFinite(emb[i]!)) {
          throw new RangeError(`${name}: non-finite embedding for ${ids[(i / (emb.length / n)) | 0]}`);
        }
      }
      results[index] = { n, emb };
      done += n;
      ctx.onProgress?.({ phase, done, total });
    })();
    const tracked: Promise<void> = job.catch((e) => {
      failure ??= e;
    }).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= ctx.concurrency) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
  };

  for (const track of tracks) {
    const line = lines[track.track]!;
    const where = `${name}: line ${track.track + 1} (${track.utt})`;
    const path = line.feat;
    if (typeof path !== "string" || path.length === 0) throw new TypeError(`${where}: no 'feat' path`);
    const feat = await ctx.store.load(path, line);
    if (feat.shape.length !== 2 || feat.data.length !== feat.shape[0]! * feat.shape[1]!) {
      throw new RangeError(`${path}: expected a (T, F) feature, got shape (${feat.shape.join(", ")})`);
    }
    const [frames, bins] = feat.shape as [number, number];
    if (ctx.bins.value === undefined) {
      ctx.bins.value = bins;
      ctx.bins.from = path;
    } else if (bins !== ctx.bins.value) {
      throw new RangeError(`${path}: ${bins} bins, but ${ctx.bins.from} has ${ctx.bins.value}`);
    }
    batch ??= new Float32Array(batchSize * chunkFrame * bins);
    const raw = new Float64Array(chunkLen * bins);
    for (const chunk of track.chunks) {
      // "defined" mode: feat[start : start + chunkLen], −100 at the end, then shorter(meanSize).
      const end = Math.min(chunk.start + chunkLen, frames);
      raw.fill(PAD_VALUE);
      if (end > chunk.start) raw.set(feat.data.subarray(chunk.start * bins, end * bins));
      batch.set(shorter(raw, chunkLen, bins, meanSize), batchIds.length * chunkFrame * bins);
      batchIds.push(chunk.utt);
      if (batchIds.length === batchSize) await runBatch();
    }
  }
  if (batchIds.length > 0) await runBatch();
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  const dim = results.length > 0 ? results[0]!.emb.length / results[0]!.n : 0;
  const out = new Float32Array(total * dim);
  let row = 0;
  for (const r of results) {
    if (r.emb.length !== r.n * dim) {
      throw new RangeError(`embed returned ${r.emb.length / r.n} values per window, earlier ${dim}`);
    }
    out.set(r.emb, row * dim);
    row += r.n;
  }
  return { data: out, dim, chunkCounts: tracks.map((t) => t.chunks.length) };
}

/** Options of {@linkcode embedLines}: the windowing and embedding subset of {@linkcode EvaluateRetrievalOptions}. */
export type EmbedLinesOptions =
  & Pick<EvaluateRetrievalOptions, "embed" | "chunkFrame" | "meanSize" | "chunkS" | "framesPerSecond" | "batchSize">
  & Pick<EvaluateRetrievalOptions, "featStore" | "onProgress" | "signal" | "concurrency">
  & {
    /** File name for error messages. @default "lines" */
    name?: string;
  };

/**
 * Cuts every line into the reference's eval windows and embeds them (steps 1-3 of the module doc), without a
 * distance matrix: what `index`, `identify` and `align` need.
 *
 * @param lines full.txt-style lines (`utt`/`perf`, `feat`, a duration)
 * @param options windowing, the embedding function and the feature source
 * @returns the windows per line and their embeddings (tracks in file order, windows of a track contiguous)
 * @throws {RangeError | TypeError} as {@linkcode evaluateRetrieval}
 */
export async function embedLines(
  lines: readonly Line[],
  options: EmbedLinesOptions,
): Promise<{ tracks: TrackChunks[]; embeddings: TrackChunkEmbeddings }> {
  const { embed, chunkFrame, meanSize = 3, chunkS = 135, framesPerSecond = 25, batchSize = 32 } = options;
  const name = options.name ?? "lines";
  positiveInteger("chunkFrame", chunkFrame);
  positiveInteger("meanSize", meanSize);
  positiveInteger("batchSize", batchSize);
  checkWindow(chunkFrame, meanSize, chunkS, framesPerSecond);
  if (lines.length === 0) throw new RangeError(`${name}: no lines`);
  const tracks = cutEvalChunks(lines, { chunkS, framesPerSecond }, name);
  const embeddings = await embedFile(lines, tracks, "query", name, {
    embed,
    store: options.featStore ?? defaultFeatStore,
    chunkFrame,
    meanSize,
    batchSize,
    bins: { value: undefined, from: "" },
    concurrency: options.concurrency ?? 1,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  return { tracks, embeddings };
}

function checkWindow(chunkFrame: number, meanSize: number, chunkS: number, framesPerSecond: number): void {
  const chunkLen = chunkFrame * meanSize;
  if (Math.abs(chunkLen - chunkS * framesPerSecond) > 1e-9 * chunkLen) {
    throw new RangeError(
      `chunkFrame·meanSize (${chunkFrame}·${meanSize} = ${chunkLen}) must equal chunkS·framesPerSecond ` +
        `(${chunkS}·${framesPerSecond} = ${chunkS * framesPerSecond}), as the reference asserts`,
    );
  }
}

/**
 * Evaluates retrieval of `queryLines` against `refLines` with any embedding function.
 *
 * @param options see {@linkcode EvaluateRetrievalOptions}
 * @returns metrics, the distance matrix, labels, per-query results, window counts and embeddings
 * @throws {RangeError} on inconsistent options (`chunkFrame·meanSize ≠ chunkS·framesPerSecond`, sizes), feature
 *   shapes or embeddings; {TypeError} on a line without `utt`, `feat`, duration or integer label (naming the file
 *   and line); errors from `embed`, `featStore` and `signal` pass through
 */
export async function evaluateRetrieval(options: EvaluateRetrievalOptions): Promise<EvaluateRetrievalResult> {
  const {
    queryLines,
    refLines,
    embed,
    chunkFrame,
    meanSize = 3,
    chunkS = 135,
    framesPerSecond = 25,
    batchSize = 32,
    queryInRef = [],
    sameFile = false,
    featStore = defaultFeatStore,
    onProgress,
    signal,
    topk = 10000,
  } = options;
  const names = { query: options.names?.query ?? "query", ref: options.names?.ref ?? "ref" };
  positiveInteger("chunkFrame", chunkFrame);
  positiveInteger("meanSize", meanSize);
  positiveInteger("batchSize", batchSize);
  positiveInteger("topk", topk);
  checkWindow(chunkFrame, meanSize, chunkS, framesPerSecond);
  if (typeof embed !== "function") throw new TypeError("'embed' must be a function");
  if (queryLines.length === 0) throw new RangeError(`${names.query}: no query lines`);
  if (refLines.length === 0) throw new RangeError(`${names.ref}: no ref lines`);
  const chunkOptions = { chunkS, framesPerSecond };
  const queryTracks = cutEvalChunks(queryLines, chunkOptions, names.query);
  const refTracks = sameFile ? queryTracks : cutEvalChunks(refLines, chunkOptions, names.ref);
  if (sameFile) {
    if (refLines.length !== queryLines.length) {
      throw new RangeError(`sameFile: ${queryLines.length} query lines but ${refLines.length} ref lines`);
    }
    refLines.forEach((line, i) => {
      const q = queryLines[i]!;
      if (line !== q && (line.utt ?? line.perf) !== (q.utt ?? q.perf)) {
        throw new RangeError(`sameFile: line ${i + 1} differs between the query and ref lines`);
      }
    });
  }
  const labelsQuery = queryLines.map((l, i) => lineLabel(l, `${names.query}: line ${i + 1}`));
  const labelsRef = refLines.map((l, i) => lineLabel(l, `${names.ref}: line ${i + 1}`));

  const ctx: EmbedContext = {
    embed,
    store: featStore,
    chunkFrame,
    meanSize,
    batchSize,
    bins: { value: undefined, from: "" },
    concurrency: options.concurrency ?? 1,
    signal,
    onProgress,
  };
  const query = await embedFile(queryLines, queryTracks, "query", names.query, ctx);
  const ref = sameFile ? query : await embedFile(refLines, refTracks, "ref", names.ref, ctx);
  if (ref.dim !== query.dim) throw new RangeError(`query embeddings have ${query.dim} values, ref ${ref.dim}`);

  onProgress?.({ phase: "distance", done: 0, total: 1 });
  const dist = trackDistanceMatrix(query, ref, { queryInRef, sameFile });
  onProgress?.({ phase: "distance", done: 1, total: 1 });

  const metrics = calcMap(dist, labelsQuery, labelsRef, topk);
  return {
    metrics,
    dist,
    labelsQuery,
    labelsRef,
    perQuery: queryTracks.map((t, i) => ({ utt: t.utt, ap: metrics.ap[i]!, firstRank: metrics.firstRank[i]! })),
    chunkCounts: { query: Array.from(query.chunkCounts), ref: Array.from(ref.chunkCounts) },
    embeddings: { query, ref },
  };
}
