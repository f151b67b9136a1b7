// deno-lint-ignore-file no-console
/**
 * `deno task align <model_dir> <full.txt> <alignment.txt>`: the reference's coarse alignment (spec §7) without its
 * bugs. Cuts every line into short non-overlapping windows (15 s, as the reference's override), embeds them with the
 * model, and writes, for every ordered pair of versions of a work, the chunk offset that best aligns them (JSON
 * lines, see lib/eval/align.ts and docs/formats.md).
 *
 * Permissions: read, write the output file (under egs/ or data/ with the deno task), env (yaml).
 *
 * @module
 */
import { initDeviceBackend } from "../lib/model/backend.ts";
import { loadModelDir } from "../lib/model/load_model.ts";
import { formatLine, readLines } from "../lib/io/lines.ts";
import { writeTextFileAtomic } from "../lib/io/atomic.ts";
import { embedLines } from "../lib/eval/evaluate.ts";
import {
  ALIGN_METRICS,
  alignmentLine,
  type AlignMetric,
  alignTrackPairs,
  selectAlignLines,
} from "../lib/eval/align.ts";
import { modelEmbedFn } from "../lib/train/train.ts";
import { disposeParams } from "../lib/model/params.ts";
import { deviceFlag, intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";
import { createProgressWriter, formatProgress } from "../lib/cli/progress.ts";

/** Feature frames per second: hard-coded 25 (16 kHz / hop 640) in the reference, as in eval. */
const FRAMES_PER_SECOND = 25;

/** Usage text. */
export const USAGE =
  `Usage: deno task align <model_dir> <full.txt> <alignment.txt> [--chunk-s S] [--metric cosine|euclidean]
                       [--with-speed-variants] [--epoch E] [--batch B] [--device auto|webgpu|cpu|wasm]

For every ordered pair (i, j) of lines of one work (same song_id / work_id), the shift that best aligns them:
each S-second chunk of i votes for the offset to its nearest chunk of j; the most voted offset wins (ties: the
smallest |shift|). One JSON line per pair: {"utt_i", "utt_j", "song_id", "shift_s", "shift_chunks", "votes",
"chunks"}, where shift_s = s_i - s_j (time t in i matches time t - shift_s in j) and votes/chunks is the confidence.

<model_dir>: as for eval (one of our runs, hparams.yaml + model.safetensors, or an original model folder).
<full.txt>: full.txt-style lines with 'feat' and a label.

Options:
  --chunk-s S            window length and hop in seconds (default 15, the reference's); S*25/mean_size must be
                         a whole number of model frames (mean_size 3: a multiple of 0.12 s)
  --metric M             chunk distance: cosine (default; on L2-normalised embeddings, as eval) or euclidean
                         (on raw embeddings, the reference's)
  --with-speed-variants  also align speed-augmented lines (sp_<k>-<utt>; skipped by default: their time axis is
                         stretched, so no single shift fits them)
  --epoch E              a specific epoch of one of our runs
  --batch B              chunks per forward pass (default 16)
  --device D             auto (WebGPU on a hardware adapter, else wasm), webgpu, cpu, wasm
  -h, --help             show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  "chunk-s": { type: "string" },
  metric: { type: "string" },
  "with-speed-variants": { type: "boolean" },
  epoch: { type: "string" },
  batch: { type: "string" },
  device: { type: "string" },
  help: { type: "boolean", short: "h" },
};

function chunkSFlag(value: unknown): number {
  const s = Number(value);
  if (!(Number.isFinite(s) && s > 0)) throw new UsageError(`--chunk-s must be a positive number, got '${value}'`);
  return s;
}

// Model frames per window: the window in raw frames (chunkS·25) averaged by mean_size must be whole, or the
// windows would not tile the track the way the chunk starts say.
function chunkFrameFor(chunkS: number, meanSize: number): number {
  const exact = (chunkS * FRAMES_PER_SECOND) / meanSize;
  const frames = Math.round(exact);
  if (Math.abs(exact - frames) > 1e-9 * Math.max(1, exact)) {
    throw new UsageError(
      `--chunk-s ${chunkS}: ${chunkS} s x ${FRAMES_PER_SECOND} frames/s / mean_size ${meanSize} = ${exact} model ` +
        `frames, not a whole number (use a multiple of ${meanSize / FRAMES_PER_SECOND} s)`,
    );
  }
  // The two stride-2 convolutions of the input stage need at least 7 frames.
  if (frames < 7) throw new UsageError(`--chunk-s ${chunkS}: ${frames} model frames, the model needs at least 7`);
  return frames;
}

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 3) throw new UsageError("expected <model_dir> <full.txt> <alignment.txt>");
  const [modelDir, fullPath, outPath] = positionals as [string, string, string];
  const chunkS = values["chunk-s"] === undefined ? 15 : chunkSFlag(values["chunk-s"]);
  const metric = String(values.metric ?? "cosine") as AlignMetric;
  if (!ALIGN_METRICS.includes(metric)) {
    throw new UsageError(`--metric must be one of ${ALIGN_METRICS.join(", ")}, got '${metric}'`);
  }
  const batchSize = intFlag("batch", values.batch ?? 16, 1, 4096);
  const epoch = values.epoch === undefined ? undefined : intFlag("epoch", values.epoch, 1);
  const device = values.device === undefined ? "auto" : deviceFlag(values.device);
  const t0 = performance.now();
  // Fail before the embedding work, not after it, when the output cannot be written (e.g. outside the deno task's
  // egs/ and data/); an interactive session still gets Deno's prompt.
  const write = await Deno.permissions.query({ name: "write", path: outPath });
  if (write.state === "denied" || (write.state === "prompt" && !Deno.stdin.isTerminal())) {
    throw new Deno.errors.NotCapable(`Requires write access to "${outPath}", run again with the --allow-write flag`);
  }

  // Select first: speed variants and works with a single line need no embedding at all.
  const allLines = await readLines(fullPath);
  const sel = selectAlignLines(allLines, { withSpeedVariants: values["with-speed-variants"] === true, name: fullPath });
  const skipped = `skipped ${sel.speedVariants} speed variants, ${sel.alone} lines alone in their work`;
  if (sel.keep.length === 0) {
    await writeTextFileAtomic(outPath, "");
    console.log(`align: no work of ${fullPath} has two lines to align (${skipped}); wrote an empty ${outPath}`);
    return 0;
  }
  const lines = sel.keep.map((t) => allLines[t]!);

  const backend = await initDeviceBackend(device);
  const model = await loadModelDir(modelDir, epoch === undefined ? {} : { epoch });
  const bar = createProgressWriter((t) => Deno.stdout.writeSync(new TextEncoder().encode(t)), Deno.stdout.isTerminal());
  try {
    const meanSize = model.meanSize;
    const chunkFrame = chunkFrameFor(chunkS, meanSize);
    console.log(
      `align: ${model.source} on ${backend}; chunks of ${chunkS} s (${chunkFrame} model frames; the model's ` +
        `attention pooling takes any length), ${metric} distance`,
    );
    const tEmbed = performance.now();
    const { tracks, embeddings } = await embedLines(lines, {
      chunkFrame,
      meanSize,
      chunkS,
      framesPerSecond: FRAMES_PER_SECOND,
      batchSize,
      name: fullPath,
      embed: modelEmbedFn(model.params, chunkFrame),
      onProgress: (p) =>
        bar.update(formatProgress("embed", p.done, p.total, (performance.now() - tEmbed) / 1000), p.done === p.total),
    });
    bar.end();
    const pairs = alignTrackPairs(
      tracks.map((t, k) => ({ utt: t.utt, label: sel.labels[k]!, startS: t.chunks.map((c) => c.startS) })),
      embeddings,
      { chunkS, metric },
    );
    await writeTextFileAtomic(outPath, pairs.map((p) => formatLine(alignmentLine(p)) + "\n").join(""));
    const works = new Set(sel.labels.map((l) => String(l).trim())).size;
    const zero = pairs.filter((p) => p.shiftChunks === 0).length;
    const confidence = pairs.reduce((s, p) => s + p.votes / p.chunks, 0) / pairs.length;
    console.log(
      `pairs ${pairs.length} (ordered) in ${works} works of ${lines.length} lines; shift 0: ${zero} ` +
        `(${((100 * zero) / pairs.length).toFixed(1)}%); mean confidence ${confidence.toFixed(3)}; ${skipped}`,
    );
    console.log(`wrote ${outPath} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  } finally {
    bar.end();
    disposeParams(model.params);
  }
}
