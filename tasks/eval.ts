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
import { readLines } from "../lib/io/lines.ts";
import { encodeNpy } from "../lib/io/npy.ts";
import { writeFileAtomic, writeTextFileAtomic } from "../lib/io/atomic.ts";
import { formatLine } from "../lib/io/lines.ts";
import { evaluateRetrieval } from "../lib/eval/evaluate.ts";
import { readQueryInRef } from "../lib/eval/distance.ts";
import { bootstrapMetrics } from "../lib/eval/bootstrap.ts";
import { embedBatch } from "../lib/train/train.ts";
import { disposeParams } from "../lib/model/params.ts";
import { deviceFlag, intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";
import { createProgressWriter, formatProgress } from "../lib/cli/progress.ts";

/** Usage text. */
export const USAGE =
  `Usage: deno task eval <model_dir> <query.txt> <ref.txt> [--query-in-ref FILE] [--bootstrap N] [--out DIR]
                      [--epoch E] [--batch B] [--device auto|webgpu|cpu|wasm]

<model_dir>: one of our runs (egs/<set>: the best epoch unless --epoch), a folder with hparams.yaml +
model.safetensors, or an original CoverHunter / CoverHunterMPS model folder as is (config/hparams.yaml +
pt_model/g_* or checkpoints/g_*). <query.txt>, <ref.txt>: full.txt-style lines with 'feat' (features);
the same file twice = self-retrieval with the diagonal excluded.

Options:
  --query-in-ref FILE  (query, ref) index pairs to exclude (the reference's JSON format)
  --bootstrap N        work-stratified bootstrap with N resamples: 95% intervals for mAP, MR1, hit rate
  --out DIR            where metrics.json, dist.npy and ranks.txt go (default <model_dir>/eval)
  --epoch E            a specific epoch of one of our runs
  --batch B            chunks per forward pass (default 16)
  --device D           auto (WebGPU on a hardware adapter, else wasm), webgpu, cpu, wasm
  -h, --help           show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  "query-in-ref": { type: "string" },
  bootstrap: { type: "string" },
  out: { type: "string" },
  epoch: { type: "string" },
  batch: { type: "string" },
  device: { type: "string" },
  help: { type: "boolean", short: "h" },
};

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
  const queryLines = await readLines(queryPath);
  const sameFile = queryPath === refPath;
  const refLines = sameFile ? queryLines : await readLines(refPath);
  const qir = values["query-in-ref"] === undefined
    ? undefined
    : await readQueryInRef(String(values["query-in-ref"]), { numQuery: queryLines.length, numRef: refLines.length });
  const bar = createProgressWriter((t) => Deno.stdout.writeSync(new TextEncoder().encode(t)), Deno.stdout.isTerminal());
  const t0 = performance.now();
  try {
    const r = await evaluateRetrieval({
      queryLines,
      refLines,
      sameFile,
      ...(qir ? { queryInRef: qir } : {}),
      chunkFrame: model.chunkFrame,
      meanSize: model.meanSize,
      chunkS: model.chunkS,
      batchSize,
      embed: (x, b) => embedBatch(model.params, x, [b, model.chunkFrame, x.length / (b * model.chunkFrame)]),
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
    disposeParams(model.params);
  }
}
