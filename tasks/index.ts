// deno-lint-ignore-file no-console
/**
 * `deno task index <model_dir> <full.txt|dataset.txt> <out.index>`: embeddings of every reference track (all its
 * 135 s chunks) with metadata, in one file that later runs append to (only new tracks are computed; an interrupted
 * run resumes where it stopped). Optional exports for other engines: a `.npy` matrix + JSON lines, and SQL for
 * PostgreSQL/pgvector.
 *
 * Permissions: read, write egs/ and data/ (the index, its feature cache and exports), env (yaml).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { initDeviceBackend } from "../lib/model/backend.ts";
import { loadModelDir, modelFingerprint } from "../lib/model/load_model.ts";
import { disposeParams } from "../lib/model/params.ts";
import { type Line, readLines } from "../lib/io/lines.ts";
import { embedLines } from "../lib/eval/evaluate.ts";
import { lineUtt } from "../lib/eval/chunks.ts";
import { materializeFeatures } from "../lib/eval/wav_features.ts";
import { createFrontEnd } from "../lib/features/front_end.ts";
import {
  createIndexFile,
  type IndexAppender,
  type IndexTrackMeta,
  openIndexAppender,
  readIndexFile,
} from "../lib/search/index_file.ts";
import { frontEndFor, frontEndFromHeader, frontEndHeader } from "../lib/search/reference_set.ts";
import { createEmbedder, type Embedder } from "../lib/model/embed_pool.ts";
import { isSpeedVariant } from "../lib/eval/align.ts";
import { writeIndexNpy, writeIndexPglite, writeIndexSql } from "../lib/search/export.ts";
import { deviceFlag, intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";
import { createProgressWriter, formatProgress } from "../lib/cli/progress.ts";

/** Usage text. */
export const USAGE =
  `Usage: deno task index <model_dir> <full.txt|dataset.txt> <out.index> [--with-speed-variants] [--group N]
                       [--feat-cache DIR] [--data-hparams FILE] [--npy DIR] [--sql FILE] [--pglite DIR]
                       [--epoch E] [--batch B] [--device auto|webgpu|cpu|wasm] [--workers N]

Embeds every track of the list (all its chunks, as eval cuts them) with the model and stores the embeddings
with each line's metadata in <out.index>. If <out.index> exists, tracks already in it are skipped and new ones
appended (same model required): adding works needs no retraining and no recomputation. Lines with only 'wav'
(dataset.txt) are decoded and CQT'd on the fly, with the features cached.

Options:
  --with-speed-variants  also index extraction's speed-augmented copies (sp_<f>-<utt>; skipped by default)
  --group N              tracks embedded and appended per step (default 64): the resume granularity
  --feat-cache DIR       feature cache for audio-only lines (default <dir of out.index>/feat_cache)
  --data-hparams FILE    front-end settings (default hparams.yaml beside the list, else PyCqt 96 bins from 32 Hz)
  --npy DIR              also write DIR/embeddings.npy (unit rows) + DIR/chunks.jsonl for other engines
  --sql FILE             also write PostgreSQL/pgvector SQL (CREATE TABLE + INSERT) of the whole index
  --pglite DIR           also load the whole index into a PGlite (embedded PostgreSQL + pgvector) database folder
  --epoch E              a specific epoch of one of our runs
  --batch B              chunks per forward pass (default 16)
  --device D             auto (WebGPU on a hardware adapter, else wasm), webgpu, cpu, wasm
  --workers N            CPU backends: embed on N worker threads (default: one per core; 0 or 1: in this thread)
  -h, --help             show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  "with-speed-variants": { type: "boolean" },
  group: { type: "string" },
  "feat-cache": { type: "string" },
  "data-hparams": { type: "string" },
  npy: { type: "string" },
  sql: { type: "string" },
  pglite: { type: "string" },
  epoch: { type: "string" },
  batch: { type: "string" },
  device: { type: "string" },
  workers: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Index metadata of a line: everything but paths to features, plus the window starts. */
function trackMeta(line: Line, startS: number[]): IndexTrackMeta {
  const { feat: _feat, feat_len: _len, ...rest } = line;
  return { ...rest, utt: lineUtt(line), start_s: startS } as IndexTrackMeta;
}

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 3) throw new UsageError("expected <model_dir> <full.txt|dataset.txt> <out.index>");
  const [modelDir, listPath, indexPath] = positionals as [string, string, string];
  const batchSize = intFlag("batch", values.batch ?? 16, 1, 4096);
  const group = intFlag("group", values.group ?? 64, 1, 1_000_000);
  const backend = await initDeviceBackend(values.device === undefined ? "auto" : deviceFlag(values.device));
  const model = await loadModelDir(
    modelDir,
    values.epoch === undefined ? {} : { epoch: intFlag("epoch", values.epoch, 1) },
  );
  let appender: IndexAppender | undefined;
  try {
    const fingerprint = await modelFingerprint(model.params);
    const all = await readLines(listPath);
    const lines = values["with-speed-variants"] ? all : all.filter((l) => !isSpeedVariant(l));
    lines.forEach((l, i) => {
      try {
        lineUtt(l);
      } catch (e) {
        throw new Error(`${listPath}:${i + 1}: ${(e as Error).message}`);
      }
    });

    // Open or create the index (read once); a different model or window is an error, not a silent mix.
    const exists = await Deno.stat(indexPath).then(() => true, () => false);
    if (!exists) {
      await Deno.mkdir(dirname(indexPath) || ".", { recursive: true });
      const fe = await frontEndFor(listPath, values["data-hparams"] as string | undefined);
      await createIndexFile(indexPath, {
        dim: model.config.embedDim,
        chunk_s: model.chunkS,
        chunk_frame: model.chunkFrame,
        mean_size: model.meanSize,
        model: { source: model.source, fingerprint },
        front_end: frontEndHeader(fe),
      });
    }
    appender = await openIndexAppender(indexPath);
    const header = appender.header;
    if (header.model.fingerprint !== fingerprint) {
      throw new Error(
        `${indexPath}: built with model ${header.model.fingerprint} (${header.model.source}), ` +
          `but ${modelDir} is ${fingerprint}: use that model or a new index file`,
      );
    }
    if (header.chunk_s !== model.chunkS || header.chunk_frame !== model.chunkFrame) {
      throw new Error(`${indexPath}: built with ${header.chunk_s} s windows; the model uses ${model.chunkS} s`);
    }
    const have = new Set(appender.tracks.map((t) => t.utt));
    if (appender.truncatedAt !== undefined) {
      console.log(
        `${indexPath}: an interrupted append left an incomplete record at byte ${appender.truncatedAt}; ` +
          `it is replaced`,
      );
    }
    const todo = lines.filter((l) => !have.has(lineUtt(l)));
    const skipped = all.length - lines.length;
    console.log(
      `index: ${model.source} on ${backend}; ${lines.length} tracks in ${listPath}` +
        (skipped > 0 ? ` (${skipped} speed variants skipped)` : "") +
        `, ${lines.length - todo.length} already in ${indexPath}, ${todo.length} to add`,
    );

    const frontEnd = await createFrontEnd(frontEndFromHeader(header.front_end));
    const cacheDir = String(values["feat-cache"] ?? join(dirname(indexPath), "feat_cache"));
    const bar = createProgressWriter(
      (t) => Deno.stdout.writeSync(new TextEncoder().encode(t)),
      Deno.stdout.isTerminal(),
    );
    const t0 = performance.now();
    let added = 0, chunks = 0;
    let embedder: Embedder | undefined;
    try {
      if (todo.length > 0) {
        embedder = await createEmbedder(
          model,
          values.workers === undefined ? undefined : intFlag("workers", values.workers, 0, 256),
        );
      }
      for (let g = 0; g < todo.length; g += group) {
        const part = await materializeFeatures(todo.slice(g, g + group), { frontEnd, cacheDir, name: listPath });
        const { tracks, embeddings } = await embedLines(part, {
          embed: embedder!.embed,
          concurrency: embedder!.concurrency,
          chunkFrame: model.chunkFrame,
          meanSize: model.meanSize,
          chunkS: model.chunkS,
          batchSize,
          name: listPath,
        });
        const dim = embeddings.dim;
        let row = 0;
        const records = tracks.map((t) => {
          const n = t.chunks.length;
          const data = Float32Array.from(embeddings.data.subarray(row * dim, (row + n) * dim));
          row += n;
          return { meta: trackMeta(part[t.track]!, t.chunks.map((c) => c.startS)), data };
        });
        await appender.append(records);
        added += records.length;
        chunks += row;
        bar.update(formatProgress("index", added, todo.length, (performance.now() - t0) / 1000), added === todo.length);
      }
    } finally {
      bar.end();
      embedder?.close();
      frontEnd.close();
    }
    const s = (performance.now() - t0) / 1000;
    console.log(
      `added ${added} tracks (${chunks} chunks) in ${s.toFixed(1)} s; ${indexPath} holds ${have.size + added}`,
    );

    if (values.npy !== undefined || values.sql !== undefined || values.pglite !== undefined) {
      const idx = await readIndexFile(indexPath);
      if (values.npy !== undefined) {
        await writeIndexNpy(idx, String(values.npy));
        console.log(`wrote ${join(String(values.npy), "embeddings.npy")} and chunks.jsonl`);
      }
      if (values.sql !== undefined) {
        await writeIndexSql(idx, String(values.sql));
        console.log(`wrote ${values.sql} (PostgreSQL + pgvector)`);
      }
      if (values.pglite !== undefined) {
        const rows = await writeIndexPglite(idx, String(values.pglite));
        console.log(`${values.pglite}: PGlite database, table coverhunter_chunks holds ${rows} chunks`);
      }
    }
    return 0;
  } finally {
    appender?.close();
    disposeParams(model.params);
  }
}
