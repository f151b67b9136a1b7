// deno-lint-ignore-file no-console
/**
 * `deno task identify <model_dir> <index> <audio file...>`: decode + CQT + embed each query (all its chunks) and
 * print the top-N works of the index with distances and a calibrated score; says so when nothing in the index is
 * closer than chance.
 *
 * Permissions: read, write egs/ and data/ (`--json FILE`), env (yaml).
 *
 * @module
 */
import { basename } from "node:path";
import { initDeviceBackend } from "../lib/model/backend.ts";
import { loadModelDir, modelFingerprint } from "../lib/model/load_model.ts";
import { disposeParams } from "../lib/model/params.ts";
import { embedLines } from "../lib/eval/evaluate.ts";
import { loadAudio } from "../lib/audio/load.ts";
import { createFrontEnd, type FrontEnd } from "../lib/features/front_end.ts";
import { readIndexFile } from "../lib/search/index_file.ts";
import { normalizeRows } from "../lib/search/exact.ts";
import {
  calibrate,
  prepareIndex,
  rankWorks,
  scanWorks,
  type WorkMatch,
  worksFromTopK,
} from "../lib/search/identify.ts";
import { createGpuSearch, GPU_SEARCH_MAX_K, type GpuSearch } from "../lib/search/search_webgpu.ts";
import { type GpuDevice, requestGpuDevice } from "../lib/gpu/device.ts";
import { frontEndFromHeader } from "../lib/search/reference_set.ts";
import { createEmbedder } from "../lib/model/embed_pool.ts";
import { writeTextFileAtomic } from "../lib/io/atomic.ts";
import { deviceFlag, intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";

/** Usage text. */
export const USAGE =
  `Usage: deno task identify <model_dir> <index> <audio file...> [--top N] [--threshold E] [--json FILE]
                          [--epoch E] [--batch B] [--device auto|webgpu|cpu|wasm]

For each audio file (any format extract reads): decode, resample, CQT with the index's front end, embed every
135 s chunk with the model the index was built with, and rank the index's works by the smallest cosine
distance between any query chunk and any chunk of the work's recordings (exact search; on the GPU when the
model runs there). Scores are calibrated on the index's own distances between different works:
  p         share of non-cover track pairs at least this close
  expected  p x (tracks in the index): how many non-covers one expects this close by chance
A best match with expected > threshold is reported as "no version of this recording in the index".

Options:
  --top N        works to list per query (default 10)
  --threshold E  largest 'expected' that counts as a match (default 0.05)
  --json FILE    also write the results as JSON lines (one per query)
  --epoch E      a specific epoch of one of our runs (must be the one the index was built with)
  --batch B      chunks per forward pass (default 16)
  --device D     auto (WebGPU on a hardware adapter, else wasm), webgpu, cpu, wasm
  -h, --help     show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  top: { type: "string" },
  threshold: { type: "string" },
  json: { type: "string" },
  epoch: { type: "string" },
  batch: { type: "string" },
  device: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** One query's outcome. */
export interface IdentifyResult {
  query: string;
  chunks: number;
  matched: boolean;
  matches: WorkMatch[];
}

function formatMatches(r: IdentifyResult, threshold: number): string {
  const head = `${r.query} (${r.chunks} chunk${r.chunks === 1 ? "" : "s"}): ` +
    (r.matched
      ? `version of '${r.matches[0]!.song}' (work ${r.matches[0]!.work})`
      : `no version of this recording in the index (best expected chance matches ${
        r.matches[0]?.expected.toPrecision(2) ?? "-"
      } > ${threshold})`);
  const rows = r.matches.map((m, i) =>
    `  ${String(i + 1).padStart(2)}. ${m.song.padEnd(24)} work ${m.work.padEnd(8)} d=${m.distance.toFixed(4)}  ` +
    `p=${m.p.toPrecision(2).padEnd(7)} expected=${m.expected.toPrecision(2).padEnd(7)} via ${m.utt} ` +
    `(query ${m.queryStartS} s ~ ref ${m.refStartS} s)` + (m.distance < 1e-6 ? " [the same recording]" : "")
  );
  return [head, ...rows].join("\n");
}

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length < 3) throw new UsageError("expected <model_dir> <index> <audio file...>");
  const [modelDir, indexPath, ...files] = positionals as [string, string, ...string[]];
  const top = intFlag("top", values.top ?? 10, 1, 100000);
  const threshold = Number(values.threshold ?? 0.05);
  if (!(threshold > 0)) throw new UsageError(`--threshold must be a positive number, got ${values.threshold}`);
  const batchSize = intFlag("batch", values.batch ?? 16, 1, 4096);
  const backend = await initDeviceBackend(values.device === undefined ? "auto" : deviceFlag(values.device));
  const model = await loadModelDir(
    modelDir,
    values.epoch === undefined ? {} : { epoch: intFlag("epoch", values.epoch, 1) },
  );
  let gpuSearch: GpuSearch | undefined;
  let gpu: GpuDevice | null = null;
  let frontEnd: FrontEnd | undefined;
  try {
    const index = await readIndexFile(indexPath);
    const fingerprint = await modelFingerprint(model.params);
    if (index.header.model.fingerprint !== fingerprint) {
      throw new Error(
        `${indexPath} was built with model ${index.header.model.fingerprint} (${index.header.model.source}); ` +
          `${modelDir} is ${fingerprint}: queries must be embedded by the index's model`,
      );
    }
    if (index.tracks.length === 0) throw new Error(`${indexPath}: the index holds no tracks`);
    const prepared = prepareIndex(index);
    const cal = calibrate(prepared);
    console.log(
      `identify: ${model.source} on ${backend}; index ${indexPath}: ${index.tracks.length} tracks of ` +
        `${prepared.works.length} works, calibrated on ${cal.null.length} cross-work pairs`,
    );
    if (backend === "webgpu") {
      gpu = await requestGpuDevice({ requiredLimits: { maxStorageBufferBindingSize: 1 << 30 } });
      if (gpu !== null) gpuSearch = await createGpuSearch(gpu, prepared.unit, prepared.dim);
    }
    frontEnd = await createFrontEnd(frontEndFromHeader(index.header.front_end));
    const embedder = await createEmbedder(model, 0); // a query is a few chunks: no worker start-up
    const results: IdentifyResult[] = [];
    for (const file of files) {
      // The query is decoded and CQT'd in memory (no cache: nothing is written).
      const [feat] = await frontEnd.computeMany([await loadAudio(file)]);
      const { tracks, embeddings } = await embedLines([{ utt: basename(file), feat: file, feat_len: feat!.frames }], {
        embed: embedder.embed,
        chunkFrame: model.chunkFrame,
        meanSize: model.meanSize,
        chunkS: model.chunkS,
        batchSize,
        featStore: { load: () => Promise.resolve({ data: feat!.data, shape: [feat!.frames, feat!.bins] }) },
        name: file,
      });
      const q = normalizeRows(Float32Array.from(embeddings.data), embeddings.dim);
      let best = null;
      if (gpuSearch) {
        // Chunk-level top-k, widened until it provably holds the top works, else the exact scan.
        for (let k = Math.min(GPU_SEARCH_MAX_K, Math.max(16, top * 2)); best === null; k *= 2) {
          best = worksFromTopK(prepared, await gpuSearch.search(q, Math.min(k, GPU_SEARCH_MAX_K)), top);
          if (k >= GPU_SEARCH_MAX_K) break;
        }
      }
      best ??= scanWorks(prepared, q);
      const matches = rankWorks(prepared, best, tracks[0]!.chunks.map((c) => c.startS), cal, top);
      const r: IdentifyResult = {
        query: file,
        chunks: tracks[0]!.chunks.length,
        matched: matches.length > 0 && matches[0]!.expected <= threshold,
        matches,
      };
      results.push(r);
      console.log(formatMatches(r, threshold));
    }
    if (values.json !== undefined) {
      await writeTextFileAtomic(String(values.json), results.map((r) => JSON.stringify(r)).join("\n") + "\n");
      console.log(`wrote ${values.json}`);
    }
    return 0;
  } finally {
    gpuSearch?.destroy();
    gpu?.destroy(); // the search frees its buffers, not the device it was given
    frontEnd?.close();
    disposeParams(model.params);
  }
}
