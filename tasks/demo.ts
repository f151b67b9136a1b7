// deno-lint-ignore-file no-console
/**
 * `deno task demo`: the whole pipeline on built-in data, end to end: synthesise a small covers data
 * set (data/demo), extract its features, and score a model-free baseline on them. Later stages
 * (train, eval, identify) join as they land.
 *
 * Permissions: read, write data/demo.
 *
 * @module
 */
import { join } from "node:path";
import { loadDataConfig, readLines, readNpy, writeSynthDataset } from "../mod.ts";
import { calcMap } from "../lib/eval/map.ts";
import { pitchClassProfile, profileDistanceMatrix } from "../lib/eval/chroma_baseline.ts";
import { deviceFlag, intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";
import { createProgressWriter, formatDuration, formatProgress } from "../lib/cli/progress.ts";
import { runExtract } from "./extract.ts";

/** Usage text. */
export const USAGE = `Usage: deno task demo [--dir data/demo] [--works N] [--versions K] [--seconds S] [--seed X]
                      [--workers N] [--device auto|webgpu|cpu|wasm]

Synthesises N works x K versions of S seconds into <dir>, extracts features (speed augmentation, CQT,
split), and reports a model-free baseline (pitch-class profiles) on the original versions.

Options:
  --dir D        output folder (default data/demo)
  --works N      works (default 12)
  --versions K   versions per work (default 4)
  --seconds S    seconds per version (default 30)
  --seed X       generator seed (default 1)
  --workers N    CPU worker threads for extraction (default: number of cores)
  --device D     where the CQT runs (default auto)
  -h, --help     show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  dir: { type: "string" },
  works: { type: "string" },
  versions: { type: "string" },
  seconds: { type: "string" },
  seed: { type: "string" },
  workers: { type: "string" },
  device: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Runs the demo; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const dir = String(values.dir ?? "data/demo");
  const works = intFlag("works", values.works ?? 12, 2, 10000);
  const versions = intFlag("versions", values.versions ?? 4, 2, 1000);
  const seconds = intFlag("seconds", values.seconds ?? 30, 2, 3600);
  const seed = intFlag("seed", values.seed ?? 1, 0, 2 ** 31 - 1);
  const workers = values.workers === undefined
    ? navigator.hardwareConcurrency
    : intFlag("workers", values.workers, 0, 256);
  const t0 = performance.now();
  const write = (t: string) => Deno.stdout.writeSync(new TextEncoder().encode(t));

  // 1. Built-in data.
  console.log(`demo 1/3: synthesising ${works} works x ${versions} versions x ${seconds} s into ${dir}`);
  const bar = createProgressWriter(write, Deno.stdout.isTerminal());
  const ts = performance.now();
  await writeSynthDataset(
    dir,
    { works, versions, seconds, seed },
    (done: number, total: number) =>
      bar.update(formatProgress("synth", done, total, (performance.now() - ts) / 1000), done === total),
  );
  bar.end();

  // 2. Features.
  console.log("demo 2/3: extracting features");
  const summary = await runExtract(dir, {
    workers,
    indent: "  ",
    ...(values.device === undefined ? {} : { deviceRequest: deviceFlag(values.device) }),
  });
  if (summary.failures.length > 0) return 1;

  // 3. Baseline retrieval on the original versions (no model yet).
  const lines = (await readLines(join(dir, "full.txt"))).filter((l) => l.speed === undefined);
  const { binsPerOctave } = await loadDataConfig(join(dir, "hparams.yaml"));
  const profiles = [];
  for (const l of lines) {
    const f = await readNpy(String(l.feat));
    profiles.push(pitchClassProfile(f.data, f.shape[0]!, f.shape[1]!, binsPerOctave));
  }
  const labels = lines.map((l) => Number(l.song_id));
  const m = calcMap(profileDistanceMatrix(profiles), labels, labels);
  const chance = expectedRandomMap(versions, lines.length);
  console.log(
    `demo 3/3: baseline (pitch-class profile, no model) on ${lines.length} recordings of ${works} works: ` +
      `mAP ${m.meanAp.toFixed(3)}, hit rate ${m.hitRate.toFixed(3)}, MR1 ${m.rank1.toFixed(2)} ` +
      `(random ranking: mAP ~${chance.toFixed(3)})`,
  );
  console.log("Training, evaluation and identification join this demo with the model (issues #3, #4).");
  console.log(`demo done in ${formatDuration((performance.now() - t0) / 1000)}`);
  return 0;
}

/**
 * Expected mAP of a random ranking when each query has `k - 1` relevant items among `n - 1`:
 * E[AP] = (1/R) * sum_p P(relevant at p) * E[(relevant in 1..p) / p | relevant at p].
 */
function expectedRandomMap(k: number, n: number): number {
  const N = n - 1, R = k - 1;
  let ap = 0;
  for (let p = 1; p <= N; p++) ap += (R / N) * (1 + ((p - 1) * (R - 1)) / (N - 1 || 1)) / p;
  return ap / R;
}
