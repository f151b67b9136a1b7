/**
 * Collects what a run folder (`egs/<set>`) or a model folder holds into one plain, JSON-able
 * {@linkcode ReportData}, which {@linkcode renderReportHtml} turns into the page:
 * - training curves and mAP per epoch, from `logs/<runid>/events.out.tfevents.*`;
 * - a 2-D map of one epoch's track embeddings of one test set (`embed_<epoch>_<set>/`), coloured by work;
 * - the distance matrix and the worst queries: from an eval folder (`metrics.json`, `dist.npy`, `ranks.txt` of
 *   `deno task eval`) when there is one, else computed from the same embeddings (min over chunk pairs of the
 *   cosine distance, as eval; no model, no GPU);
 * - notes on whatever is missing, instead of failing.
 *
 * Labels come from the test set's query file named in the hparams (`song_id`, `song`), paths relative to the
 * working directory as in every command.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { readLines } from "../io/lines.ts";
import { readNpy, readNpyFloat64 } from "../io/npy.ts";
import { readTextFile } from "../io/read_text.ts";
import { calcMap } from "../eval/map.ts";
import { type IndexPair, readQueryInRef, trackDistanceMatrix } from "../eval/distance.ts";
import { type ChartData, curveCharts, mergedTagSeries, type RunEvents } from "./curves.ts";
import { embeddingMap, trackVectors } from "./embedding_map.ts";
import { distanceHeatmap, type Heatmap } from "./heatmap.ts";
import { type TrackInfo, worstOrder, worstQueries, type WorstQuery } from "./worst_queries.ts";
import {
  type EmbedDir,
  findHparamsFile,
  listEmbedDirs,
  readRuns,
  readTestSets,
  type TestSetPaths,
} from "./_run_folder.ts";
import { trackInfoByUtt } from "./_tracks.ts";

/** Training at a glance, from the event files. */
export interface TrainingSummary {
  /** TensorBoard run folders read. */
  runs: string[];
  /** Last optimiser step logged. */
  lastStep: number | null;
  /** Last epoch logged. */
  lastEpoch: number | null;
  /** Test set of the mAP below. */
  testset: string | null;
  /** Epoch of the highest mAP of that test set. */
  bestEpoch: number | null;
  /** That mAP. */
  bestMap: number | null;
  /** Seconds from the first to the last event (pauses of resumed runs included). */
  wallS: number | null;
}

/** Retrieval metrics of one source (an eval folder, or one epoch's embeddings). */
export interface MetricsSummary {
  /** Where they come from, in words. */
  source: string;
  /** Query tracks, when known. */
  queries: number | null;
  /** Reference tracks, when known. */
  refs: number | null;
  /** Works among the queries, when known. */
  works: number | null;
  /** Mean average precision. */
  mAP: number;
  /** P@1. */
  hitRate: number | null;
  /** Mean rank of the first correct reference. */
  MR1: number | null;
  /** P@10. */
  top10: number | null;
  /** Bootstrap 95% intervals by metric name (`mAP`, `MR1`, `hit_rate`), when eval computed them. */
  intervals: Record<string, { lo: number; hi: number }> | null;
}

/** One point of the 2-D map. */
export interface MapPoint {
  /** Recording id. */
  utt: string;
  /** Work name ("unknown" without labels). */
  work: string;
  /** Index into {@linkcode EmbeddingMapData.works} (the colour). */
  group: number;
  /** Map x. */
  x: number;
  /** Map y. */
  y: number;
}

/** The 2-D map of the embeddings. */
export interface EmbeddingMapData {
  /** The embeddings folder. */
  source: string;
  /** Its epoch. */
  epoch: number;
  /** Its test set. */
  testset: string;
  /** How the epoch was chosen, in words. */
  epochChoice: string;
  /** Method and settings, in words. */
  method: string;
  /** Work names, by group index. */
  works: string[];
  /** One point per track. */
  points: MapPoint[];
}

/** The distance matrix image's data. */
export interface DistanceData {
  /** Where the matrix comes from, in words. */
  source: string;
  /** Whether rows and columns are sorted by work (labels known). */
  sortedByWork: boolean;
  /** Works on the query axis, when known. */
  works: number | null;
  /** The binned matrix. */
  heatmap: Heatmap;
}

/** The worst-queries table. */
export interface WorstData {
  /** Where the ranking comes from, in words. */
  source: string;
  /** Queries in all. */
  queries: number;
  /** The rows, worst first. */
  rows: WorstQuery[];
}

/** Everything the page shows; plain data (JSON.stringify gives all of it). */
export interface ReportData {
  /** Run name (the folder's name). */
  title: string;
  /** The folder, as given. */
  dir: string;
  /** When the report was made (ISO 8601). */
  createdAt: string;
  /** What is missing or was skipped, one sentence each. */
  notes: string[];
  /** Training summary, or null without event files. */
  training: TrainingSummary | null;
  /** Retrieval metrics, eval folder first. */
  metrics: MetricsSummary[];
  /** Training curves and per-epoch metrics. */
  charts: ChartData[];
  /** The 2-D map, or null without embeddings. */
  embedding: EmbeddingMapData | null;
  /** The distance matrix, or null. */
  distance: DistanceData | null;
  /** The worst queries, or null. */
  worst: WorstData | null;
}

/** Options of {@linkcode collectReport}. */
export interface ReportOptions {
  /** An eval output folder (`metrics.json`, `dist.npy`, `ranks.txt`); it must exist. @default `<dir>/eval` when it exists */
  evalDir?: string;
  /** Epoch of the embeddings shown. @default the best by the test set's mAP, else the last saved */
  epoch?: number;
  /** Test set of the embeddings shown (its label). @default the first of the hparams that has embeddings */
  testset?: string;
  /** The report's date. @default new Date() */
  now?: Date;
  /** Seed of the 2-D map. @default 1 */
  seed?: number;
  /** Rows of the worst-queries table. @default 20 */
  worstCount?: number;
  /** Cells per side of the distance image at most. @default 400 */
  maxCells?: number;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function isFolder(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isDirectory, () => false);
}

/** Reads track labels from a metadata file; null (with a note) when it cannot be read. */
async function labelsFrom(path: string, notes: string[]): Promise<Map<string, TrackInfo> | null> {
  try {
    return trackInfoByUtt(await readLines(path));
  } catch (e) {
    notes.push(`no work labels: cannot read ${path} (${(e as Error).message})`);
    return null;
  }
}

/** The ids of a metadata file's lines and their labels (null when one is unlabelled); null when unreadable. */
async function tracksOf(
  path: string,
  notes: string[],
): Promise<{ utts: string[]; infos: TrackInfo[] | null } | null> {
  try {
    const lines = await readLines(path);
    const utts = lines.map((l) => String(l.utt ?? l.perf));
    return { utts, infos: infosFor(utts, trackInfoByUtt(lines), path, notes) };
  } catch (e) {
    notes.push(`no work labels: cannot read ${path} (${(e as Error).message})`);
    return null;
  }
}

/** Infos for `utts` in order, or null (with a note) when a utt has no label. */
function infosFor(utts: readonly string[], byUtt: Map<string, TrackInfo> | null, what: string, notes: string[]) {
  if (byUtt === null) return null;
  const out: TrackInfo[] = [];
  for (const u of utts) {
    const t = byUtt.get(u);
    if (t === undefined) {
      notes.push(`no work labels for ${what}: '${u}' is not in its metadata file`);
      return null;
    }
    out.push(t);
  }
  return out;
}

function metricsOf(
  source: string,
  dist: Float64Array,
  query: readonly TrackInfo[],
  ref: readonly TrackInfo[],
): MetricsSummary {
  const m = calcMap(dist, query.map((t) => t.label), ref.map((t) => t.label));
  return {
    source,
    queries: query.length,
    refs: ref.length,
    works: new Set(query.map((t) => t.label)).size,
    mAP: m.meanAp,
    hitRate: m.hitRate,
    MR1: m.rank1,
    top10: m.top10,
    intervals: null,
  };
}

function trainingSummary(runs: readonly RunEvents[], testset: string | null): TrainingSummary {
  let lastStep: number | null = null, lastEpoch: number | null = null, t0 = Infinity, t1 = -Infinity;
  for (const r of runs) {
    for (const e of r.events) {
      if (e.tag.startsWith("csi/") && e.tag !== "csi/epoch_total") lastStep = Math.max(lastStep ?? 0, e.step);
      if (/^(mAP|csi_[^/]+)\/|^csi\/epoch_total$/.test(e.tag)) lastEpoch = Math.max(lastEpoch ?? 0, e.step);
      t0 = Math.min(t0, e.wallTime);
      t1 = Math.max(t1, e.wallTime);
    }
  }
  let bestEpoch: number | null = null, bestMap: number | null = null;
  if (testset !== null) {
    for (const [epoch, v] of mergedTagSeries(runs, `mAP/${testset}`)) {
      if (Number.isFinite(v) && (bestMap === null || v > bestMap)) [bestEpoch, bestMap] = [epoch, v];
    }
  }
  return {
    runs: runs.map((r) => r.run),
    lastStep,
    lastEpoch,
    testset,
    bestEpoch,
    bestMap,
    wallS: Number.isFinite(t0) ? t1 - t0 : null,
  };
}

/** Picks the test set and epoch of the embeddings shown (see {@linkcode ReportOptions}). */
function chooseEmbedDir(
  embeds: readonly EmbedDir[],
  testSets: readonly TestSetPaths[],
  runs: readonly RunEvents[],
  options: ReportOptions,
): { embed: EmbedDir; choice: string } | null {
  const sets = [...new Set(embeds.map((e) => e.set))];
  let set = options.testset;
  if (set !== undefined && !sets.includes(set)) {
    throw new RangeError(
      `--testset ${set}: no embed_<epoch>_${set}/ folder here` +
        (sets.length > 0 ? `; test sets with embeddings: ${sets.join(", ")}` : ""),
    );
  }
  set ??= testSets.map((t) => t.label).find((l) => sets.includes(l)) ?? sets[0];
  if (set === undefined) {
    if (options.epoch !== undefined) {
      throw new RangeError(`--epoch ${options.epoch}: no embed_<epoch>_<set>/ folders here`);
    }
    return null;
  }
  const mine = embeds.filter((e) => e.set === set);
  if (options.epoch !== undefined) {
    const embed = mine.find((e) => e.epoch === options.epoch);
    if (!embed) {
      throw new RangeError(
        `--epoch ${options.epoch}: no embed_${options.epoch}_${set}/; epochs with embeddings: ${
          mine.map((e) => e.epoch).join(", ")
        }`,
      );
    }
    return { embed, choice: "chosen with --epoch" };
  }
  const saved = new Set(mine.map((e) => e.epoch));
  let best: [number, number] | null = null;
  for (const [epoch, v] of mergedTagSeries(runs, `mAP/${set}`)) {
    if (saved.has(epoch) && Number.isFinite(v) && (best === null || v > best[1])) best = [epoch, v];
  }
  if (best !== null) {
    return {
      embed: mine.find((e) => e.epoch === best[0])!,
      choice: `the best mAP of ${set} among the saved epochs (${best[1].toFixed(4)})`,
    };
  }
  return { embed: mine.at(-1)!, choice: "the last saved epoch (no mAP logged)" };
}

/** What the eval folder contributed. */
interface EvalPart {
  metrics: MetricsSummary | null;
  distance: DistanceData | null;
  worst: WorstData | null;
}

async function collectEval(
  evalDir: string,
  options: { worstCount: number; maxCells: number },
  notes: string[],
): Promise<EvalPart> {
  const part: EvalPart = { metrics: null, distance: null, worst: null };
  const metricsPath = join(evalDir, "metrics.json"), distPath = join(evalDir, "dist.npy");
  const ranksPath = join(evalDir, "ranks.txt");

  // metrics.json names the query and ref files: the labels and ids of the matrix's rows and columns.
  let meta: Record<string, unknown> | null = null;
  if (await exists(metricsPath)) {
    try {
      meta = JSON.parse(await readTextFile(metricsPath)) as Record<string, unknown>;
    } catch (e) {
      notes.push(`skipped ${metricsPath}: ${(e as Error).message}`);
    }
  } else notes.push(`no ${metricsPath}`);
  const queryPath = typeof meta?.query === "string" ? meta.query : null;
  const refPath = typeof meta?.ref === "string" ? meta.ref : null;
  const q = queryPath === null ? null : await tracksOf(queryPath, notes);
  const r = refPath === null ? null : refPath === queryPath ? q : await tracksOf(refPath, notes);

  let dist: { data: Float64Array; nq: number; nr: number } | null = null;
  if (await exists(distPath)) {
    const arr = await readNpyFloat64(distPath);
    const [nq, nr] = arr.shape;
    if (arr.shape.length === 2 && nq !== undefined && nr !== undefined) dist = { data: arr.data, nq, nr };
    else notes.push(`skipped ${distPath}: expected a 2-D matrix, got shape (${arr.shape.join(", ")})`);
  } else notes.push(`no ${distPath}`);
  let query = q?.infos ?? null, ref = r?.infos ?? null;
  if (dist !== null && query !== null && ref !== null && (query.length !== dist.nq || ref.length !== dist.nr)) {
    notes.push(
      `${distPath} is ${dist.nq}×${dist.nr} but its query/ref files have ${query.length}/${ref.length} lines: ` +
        "tracks shown without work labels",
    );
    query = ref = null;
  }

  if (meta !== null && typeof meta.mAP === "number") {
    const boot = meta.bootstrap as Record<string, { lo: number; hi: number } | undefined> | undefined;
    const intervals: Record<string, { lo: number; hi: number }> = {};
    for (const [name, key] of [["mAP", "mAP"], ["MR1", "rank1"], ["hit_rate", "hitRate"]] as const) {
      const b = boot?.[key];
      if (b) intervals[name] = { lo: b.lo, hi: b.hi };
    }
    part.metrics = {
      source: `eval folder ${evalDir}${typeof meta.model === "string" ? ` (model ${meta.model})` : ""}`,
      queries: q?.utts.length ?? dist?.nq ?? null,
      refs: r?.utts.length ?? dist?.nr ?? null,
      works: query ? new Set(query.map((t) => t.label)).size : null,
      mAP: meta.mAP,
      hitRate: typeof meta.hit_rate === "number" ? meta.hit_rate : null,
      MR1: typeof meta.MR1 === "number" ? meta.MR1 : null,
      top10: typeof meta.p_at_10 === "number" ? meta.p_at_10 : null,
      intervals: boot ? intervals : null,
    };
  }

  if (dist !== null) {
    const labelled = query !== null && ref !== null;
    part.distance = {
      source: `${distPath} (${dist.nq} queries × ${dist.nr} references)`,
      sortedByWork: labelled,
      works: query ? new Set(query.map((t) => t.label)).size : null,
      heatmap: distanceHeatmap(dist.data, dist.nq, dist.nr, {
        ...(query && ref ? { labelsQuery: query.map((t) => t.label), labelsRef: ref.map((t) => t.label) } : {}),
        maxCells: options.maxCells,
      }),
    };
    if (query && ref) {
      part.worst = {
        source: distPath,
        queries: dist.nq,
        rows: worstQueries(dist.data, query, ref, { count: options.worstCount }),
      };
    }
  }

  if (part.worst === null && await exists(ranksPath)) {
    // Labels unknown: the table from ranks.txt alone (no works, no nearest references).
    const ranks = await readLines(ranksPath);
    const ap = ranks.map((x) => Number(x.ap)), first = ranks.map((x) => Number(x.first_rank));
    part.worst = {
      source: ranksPath,
      queries: ranks.length,
      rows: worstOrder(ap, first).slice(0, options.worstCount).map((i) => ({
        utt: String(ranks[i]!.utt),
        work: null,
        ap: ap[i]!,
        firstRank: first[i]!,
        relevant: null,
        nearestWrong: null,
        nearestRight: null,
      })),
    };
  }
  return part;
}

/**
 * Collects the report's data from a run or model folder (see the module doc).
 *
 * @param dir the folder
 * @param options eval folder, epoch, test set, date, seed, sizes
 * @returns the data; `notes` lists what is missing
 * @throws {Error} when `dir` or an explicit `evalDir` is not a folder; {RangeError} when `testset` or `epoch`
 *   names embeddings that do not exist (the message lists those that do)
 */
export async function collectReport(dir: string, options: ReportOptions = {}): Promise<ReportData> {
  const { now = new Date(), seed = 1, worstCount = 20, maxCells = 400 } = options;
  if (!(await isFolder(dir))) throw new Error(`${dir}: not a folder`);
  if (options.evalDir !== undefined && !(await isFolder(options.evalDir))) {
    throw new Error(`--eval ${options.evalDir}: not a folder`);
  }
  const notes: string[] = [];

  // ---- hparams (test sets) ----
  const hpPath = await findHparamsFile(dir);
  let testSets: TestSetPaths[] = [];
  if (hpPath === null) notes.push("no hparams (config/hparams.yaml, checkpoints/hparams.json or hparams.yaml)");
  else {
    try {
      testSets = await readTestSets(hpPath);
    } catch (e) {
      notes.push(`test sets unknown: ${(e as Error).message}`);
    }
  }

  // ---- event files: curves, training summary ----
  const runs = await readRuns(join(dir, "logs"), notes);
  if (runs.length === 0) notes.push(`no TensorBoard logs (${join(dir, "logs", "<runid>", "events.out.tfevents.*")})`);
  const charts = curveCharts(runs);

  // ---- embeddings of one epoch and test set ----
  const embeds = await listEmbedDirs(dir);
  const chosen = chooseEmbedDir(embeds, testSets, runs, options);
  const training = runs.length > 0 ? trainingSummary(runs, chosen?.embed.set ?? testSets[0]?.label ?? null) : null;
  if (chosen === null) notes.push("no embeddings (embed_<epoch>_<set>/ folders, written by train at each evaluation)");
  const metrics: MetricsSummary[] = [];
  let embedding: EmbeddingMapData | null = null;
  let embedDist: { dist: Float64Array; tracks: TrackInfo[] | null; n: number; source: string } | null = null;
  if (chosen !== null) {
    const { embed, choice } = chosen;
    const mapChart = charts.find((c) => c.id === "map");
    if (mapChart) mapChart.markX = embed.epoch;
    const arr = await readNpy(join(embed.path, "embeddings.npy"));
    const tracks = await readLines(join(embed.path, "tracks.txt"));
    const utts = tracks.map((t) => String(t.utt));
    const chunkCounts = tracks.map((t) => Number(t.chunks));
    const rows = chunkCounts.reduce((a, b) => a + b, 0);
    if (arr.shape.length !== 2 || arr.shape[0] !== rows) {
      throw new RangeError(
        `${embed.path}: tracks.txt counts ${rows} chunks but embeddings.npy has shape (${arr.shape.join(", ")})`,
      );
    }
    const emb = { data: arr.data, dim: arr.shape[1]!, chunkCounts };
    const set = testSets.find((t) => t.label === embed.set) ?? null;
    if (set === null) notes.push(`test set '${embed.set}' is not in the hparams: no work labels for its embeddings`);
    const infos = set ? infosFor(utts, await labelsFrom(set.queryPath, notes), set.queryPath, notes) : null;
    const works = infos ? [...new Set(infos.map((t) => t.work))] : ["unknown"];
    const xy = embeddingMap(trackVectors(emb), { seed });
    embedding = {
      source: embed.path,
      epoch: embed.epoch,
      testset: embed.set,
      epochChoice: choice,
      method: (utts.length >= 3
        ? `UMAP (umap-js, seed ${seed}, ${Math.min(15, utts.length - 1)} neighbours, min_dist 0.1)`
        : "Fixed positions (UMAP needs three tracks)") +
        " of one point per track: the mean of its L2-normalised chunk embeddings, renormalised",
      works,
      points: utts.map((utt, i) => ({
        utt,
        work: infos ? infos[i]!.work : "unknown",
        group: infos ? works.indexOf(infos[i]!.work) : 0,
        x: xy[i]![0],
        y: xy[i]![1],
      })),
    };
    // Self-retrieval among the saved (query) tracks, as train evaluates a test set whose query file is its ref file.
    let queryInRef: IndexPair[] = [];
    if (set?.queryInRefPath && set.queryPath === set.refPath) {
      queryInRef = await readQueryInRef(set.queryInRefPath, { numQuery: utts.length, numRef: utts.length });
    }
    const dist = trackDistanceMatrix(emb, emb, { sameFile: true, queryInRef });
    const source =
      `embeddings of epoch ${embed.epoch} (${embed.path}), self-retrieval among their ${utts.length} tracks` +
      (set && set.queryPath !== set.refPath ? ` (train evaluated them against ${set.refPath})` : "");
    embedDist = { dist, tracks: infos, n: utts.length, source };
    if (infos) {
      metrics.push(metricsOf(source, dist, infos, infos));
    }
  }

  // ---- eval folder (preferred for the matrix and the worst queries) ----
  const evalDir = options.evalDir ?? join(dir, "eval");
  let evalPart: EvalPart = { metrics: null, distance: null, worst: null };
  if (await isFolder(evalDir)) evalPart = await collectEval(evalDir, { worstCount, maxCells }, notes);
  else notes.push(`no eval folder (${evalDir}; deno task eval writes it)`);
  if (evalPart.metrics) metrics.unshift(evalPart.metrics);
  let distance = evalPart.distance, worst = evalPart.worst;
  if (distance === null && embedDist !== null) {
    const labels = embedDist.tracks?.map((t) => t.label);
    distance = {
      source: embedDist.source,
      sortedByWork: labels !== undefined,
      works: labels ? new Set(labels).size : null,
      heatmap: distanceHeatmap(embedDist.dist, embedDist.n, embedDist.n, {
        ...(labels ? { labelsQuery: labels, labelsRef: labels } : {}),
        maxCells,
      }),
    };
  }
  if (worst === null && embedDist?.tracks) {
    worst = {
      source: embedDist.source,
      queries: embedDist.n,
      rows: worstQueries(embedDist.dist, embedDist.tracks, embedDist.tracks, { count: worstCount }),
    };
  }
  if (distance === null) notes.push("no distance matrix: needs an eval folder or saved embeddings");

  return {
    title: basename(resolve(dir)),
    dir,
    createdAt: now.toISOString(),
    notes,
    training,
    metrics,
    charts,
    embedding,
    distance,
    worst,
  };
}
