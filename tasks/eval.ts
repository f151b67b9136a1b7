// deno-lint-ignore-file no-console
/**
 * `deno task eval <model_dir> <query.txt> <ref.txt>`: retrieval metrics of a model as the reference
 * computes them (135 s chunks, min-over-chunk-pairs cosine distance, mAP / MR1 / hit rate / P@10),
 * with optional work-stratified bootstrap intervals. Writes metrics.json, the distance matrix and
 * per-query ranks.
 *
 * Permissions: read, write the output folder (default under egs/), env (yaml).
 *
 * @module
 */
import { join } from "node:path";
import { initDeviceBackend } from "../lib/model/backend.ts";
import { loadModelDir } from "../lib/model/load_model.ts";
import { type Line, readLines } from "../lib/io/lines.ts";
import { materializeFeatures } from "../lib/eval/wav_features.ts";
import { createFrontEnd } from "../lib/features/front_end.ts";
import { frontEndFor } from "../lib/search/reference_set.ts";
import { encodeNpy } from "../lib/io/npy.ts";
import { writeFileAtomic, writeTextFileAtomic } from "../lib/io/atomic.ts";
import { formatLine } from "../lib/io/lines.ts";
import { evaluateRetrieval } from "../lib/eval/evaluate.ts";
import { readQueryInRef } from "../lib/eval/distance.ts";
import { bootstrapMetrics } from "../lib/eval/bootstrap.ts";
import { createEmbedder, type Embedder } from "../lib/model/embed_pool.ts";
import { disposeParams } from "../lib/model/params.ts";
import { deviceFlag, intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";
import { createProgressWriter, formatProgress } from "../lib/cli/progress.ts";

/** Usage text. */
export const USAGE =
  `Usage: deno task eval <model_dir> <query.txt> <ref.txt> [--query-in-ref FILE] [--bootstrap N] [--out DIR]
                      [--epoch E] [--batch B] [--device auto|webgpu|cpu|wasm] [--feat-cache DIR] [--data-hparams F]
                      [--workers N]

<model_dir>: one of our runs (egs/<set>: the best epoch unless --epoch), a folder with hparams.yaml +
model.safetensors, or an original CoverHunter / CoverHunterMPS model folder as is (config/hparams.yaml +
pt_model/g_* or checkpoints/g_*). <query.txt>, <ref.txt>: full.txt-style lines with 'feat' (features), or
dataset.txt-style lines with only 'wav' (decoded and CQT'd here, cached; works numbered from 'song' when the
lines have no song_id); the same file twice = self-retrieval with the diagonal excluded.

Options:
  --query-in-ref FILE  (query, ref) index pairs to exclude (the reference's JSON format)
  --bootstrap N        work-stratified bootstrap with N resamples: 95% intervals for mAP, MR1, hit rate
  --out DIR            where metrics.json, dist.npy and ranks.txt go (default <model_dir>/eval)
  --epoch E            a specific epoch of one of our runs
  --batch B            chunks per forward pass (default 16)
  --device D           auto (WebGPU on a hardware adapter, else wasm), webgpu, cpu, wasm
  --feat-cache DIR     cache of features of audio-only lines (default <out>/feat_cache)
  --data-hparams FILE  front end for audio-only lines (default hparams.yaml beside <query.txt>, else PyCqt 96 bins)
  --workers N          CPU backends: embed on N worker threads (default: one per core; 0 or 1: in this thread)
  -h, --help           show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  "query-in-ref": { type: "string" },
  bootstrap: { type: "string" },
  out: { type: "string" },
  epoch: { type: "string" },
  batch: { type: "string" },
  device: { type: "string" },
  workers: { type: "string" },
  "feat-cache": { type: "string" },
  "data-hparams": { type: "string" },
  help: { type: "boolean", short: "h" },
};

/**
 * Gives lines without `song_id`/`work_id` an integer `song_id` from their `song` (or `work`) name, numbered in order of
 * first appearance over the query then the ref lines, so that both files share one numbering. Lines that have an id
 * are left alone; a file mixing the two keeps its ids and numbers the rest after the largest.
 */
export function assignSongIds(query: Line[], ref: Line[], sameFile: boolean): [Line[], Line[]] {
  const all = sameFile ? query : [...query, ...ref];
  if (all.every((l) => l.song_id !== undefined || l.work_id !== undefined)) return [query, ref];
  const ids = new Map<string, number>();
  let next = 1 + Math.max(-1, ...all.map((l) => Number(l.song_id ?? l.work_id ?? -1)).filter(Number.isInteger));
  const fix = (l: Line): Line => {
    if (l.song_id !== undefined || l.work_id !== undefined) return l;
    const name = l.song ?? l.work;
    if (typeof name !== "string") return l; // evaluateRetrieval names the line
    let id = ids.get(name);
    if (id === undefined) ids.set(name, id = next++);
    return { ...l, song_id: id };
  };
  const q = query.map(fix);
  return [q, sameFile ? q : ref.map(fix)];
}

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 3) throw new UsageError("expected <model_dir> <query.txt> <ref.txt>");
  const [modelDir, queryPath, refPath] = positionals as [string, string, string];
  const batchSize = intFlag("batch", values.batch ?? 16, 1, 4096);
  const backend = await initDeviceBackend(values.device === undefined ? "auto" : deviceFlag(values.device));
  const model = await loadModelDir(
    modelDir,
    values.epoch === undefined ? {} : { epoch: intFlag("epoch", values.epoch, 1) },
  );
  console.log(`eval: ${model.source} on ${backend}; chunks of ${model.chunkS} s (${model.chunkFrame} model frames)`);
  const sameFile = queryPath === refPath;
  let queryLines = await readLines(queryPath);
  let refLines = sameFile ? queryLines : await readLines(refPath);
  // Lines with only 'wav' (dataset.txt style): features computed here, cached for the next run.
  const needsAudio = [...queryLines, ...refLines].some((l) => typeof l.feat !== "string");
  if (needsAudio) {
    const options = await frontEndFor(queryPath, values["data-hparams"] as string | undefined);
    const frontEnd = await createFrontEnd(options);
    const cacheDir = String(values["feat-cache"] ?? join(String(values.out ?? join(modelDir, "eval")), "feat_cache"));
    console.log(`eval: audio-only lines: CQT (${options.kind}, ${options.nBins} bins) cached in ${cacheDir}`);
    try {
      const t1 = performance.now();
      const bar1 = createProgressWriter(
        (t) => Deno.stdout.writeSync(new TextEncoder().encode(t)),
        Deno.stdout.isTerminal(),
      );
      const progress = (done: number, total: number) =>
        bar1.update(formatProgress("features", done, total, (performance.now() - t1) / 1000), done === total);
      queryLines = await materializeFeatures(queryLines, { frontEnd, cacheDir, name: queryPath, onProgress: progress });
      refLines = sameFile
        ? queryLines
        : await materializeFeatures(refLines, { frontEnd, cacheDir, name: refPath, onProgress: progress });
      bar1.end();
    } finally {
      frontEnd.close();
    }
  }
  // dataset.txt lines name their work ('song') but carry no integer id: number the works, shared by both files.
  [queryLines, refLines] = assignSongIds(queryLines, refLines, sameFile);
  const qir = values["query-in-ref"] === undefined
    ? undefined
    : await readQueryInRef(String(values["query-in-ref"]), { numQuery: queryLines.length, numRef: refLines.length });
  const bar = createProgressWriter((t) => Deno.stdout.writeSync(new TextEncoder().encode(t)), Deno.stdout.isTerminal());
  let embedder: Embedder | undefined;
  try {
    embedder = await createEmbedder(
      model,
      values.workers === undefined ? undefined : intFlag("workers", values.workers, 0, 256),
    );
    console.log(`eval: embedding ${embedder.description}`);
    const t0 = performance.now();
    const r = await evaluateRetrieval({
      queryLines,
      refLines,
      sameFile,
      ...(qir ? { queryInRef: qir } : {}),
      chunkFrame: model.chunkFrame,
      meanSize: model.meanSize,
      chunkS: model.chunkS,
      batchSize,
      embed: embedder.embed,
      concurrency: embedder.concurrency,
      onProgress: (p) =>
        bar.update(formatProgress("embed", p.done, p.total, (performance.now() - t0) / 1000), p.done === p.total),
    });
    bar.end();
    const m = r.metrics;
    const boot = values.bootstrap === undefined
      ? undefined
      : bootstrapMetrics(m, r.labelsQuery, intFlag("bootstrap", values.bootstrap, 1, 1_000_000));
    const ci = (s?: { lo: number; hi: number }) => (s ? `  [${s.lo.toFixed(4)}, ${s.hi.toFixed(4)}]` : "");
    console.log(`queries ${queryLines.length}, references ${refLines.length}, works ${new Set(r.labelsQuery).size}`);
    console.log(`mAP       ${m.meanAp.toFixed(4)}${ci(boot?.mAP)}`);
    console.log(`MR1       ${m.rank1.toFixed(4)}${ci(boot?.rank1)}`);
    console.log(`hit rate  ${m.hitRate.toFixed(4)}${ci(boot?.hitRate)}`);
    console.log(`P@10      ${m.top10.toFixed(4)}`);
    const out = String(values.out ?? join(modelDir, "eval"));
    const metrics = {
      model: model.source,
      query: queryPath,
      ref: refPath,
      mAP: m.meanAp,
      MR1: m.rank1,
      hit_rate: m.hitRate,
      p_at_10: m.top10,
      ...(boot ? { bootstrap: boot } : {}),
    };
    await writeTextFileAtomic(join(out, "metrics.json"), JSON.stringify(metrics, null, 2) + "\n");
    await writeFileAtomic(
      join(out, "dist.npy"),
      encodeNpy({ data: r.dist, shape: [queryLines.length, refLines.length] }),
    );
    await writeTextFileAtomic(
      join(out, "ranks.txt"),
      r.perQuery.map((q) => formatLine({ utt: q.utt, ap: q.ap, first_rank: q.firstRank })).join("\n") + "\n",
    );
    console.log(`wrote ${join(out, "metrics.json")}, dist.npy, ranks.txt`);
    return 0;
  } finally {
    bar.end();
    embedder?.close();
    disposeParams(model.params);
  }
}
