// deno-lint-ignore-file no-console
/**
 * `deno task demo`: the whole pipeline on built-in data, end to end: synthesise a small covers data
 * set (data/demo), extract its features, train a small model (egs/demo), report retrieval on works
 * held out of training, write the run's report page, and identify one held-out recording against an
 * index of all the others.
 *
 * Permissions: read, write data/ and egs/, env (yaml).
 *
 * @module
 */
import { join } from "node:path";
import { loadDataConfig, readLines, readNpy, writeLines, writeSynthDataset, writeTextFileAtomic } from "../mod.ts";
import { loadTrainHparams } from "../lib/train/train_hparams.ts";
import { train } from "../lib/train/train.ts";
import { initDeviceBackend } from "../lib/model/backend.ts";
import { calcMap } from "../lib/eval/map.ts";
import { pitchClassProfile, profileDistanceMatrix } from "../lib/eval/chroma_baseline.ts";
import { deviceFlag, intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";
import { createProgressWriter, formatDuration, formatProgress } from "../lib/cli/progress.ts";
import { runExtract } from "./extract.ts";
import { main as reportMain } from "./report.ts";
import { main as indexMain } from "./index.ts";
import { main as identifyMain } from "./identify.ts";
import { isSpeedVariant } from "../lib/eval/align.ts";
import { autoTrainThreads } from "../lib/train/data_parallel.ts";

/** Usage text. */
export const USAGE = `Usage: deno task demo [--dir data/demo] [--egs egs/demo] [--works N] [--versions K] [--seconds S]
                      [--seed X] [--epochs E] [--workers N] [--device auto|webgpu|cpu|wasm]

The whole pipeline on built-in data: synthesises N works x K versions of S seconds into <dir>, extracts
features (speed augmentation, CQT, a split that holds a quarter of the works out), trains a small
CoverHunter model in <egs> (from scratch each time), and reports retrieval on the held-out works: a
model-free baseline, the untrained model and the trained one. Then it writes the run's report page
(<egs>/report.html) and identifies one held-out recording against an index of all the others
(<egs>/demo.index).

Options:
  --dir D        data folder (default data/demo)
  --egs E        experiment folder (default egs/demo)
  --works N      works (default 32)
  --versions K   versions per work (default 4)
  --seconds S    seconds per version (default 20)
  --seed X       generator seed (default 1)
  --epochs E     training epochs at most (default 20; early stopping on held-out mAP may end sooner)
  --workers N    CPU threads for extraction, and at most as many for training on a CPU backend (as train's default
                 --workers) (default: number of cores)
  --device D     auto (WebGPU on a hardware adapter, else CPU/wasm), webgpu, cpu, wasm
  -h, --help     show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  dir: { type: "string" },
  egs: { type: "string" },
  works: { type: "string" },
  versions: { type: "string" },
  seconds: { type: "string" },
  seed: { type: "string" },
  epochs: { type: "string" },
  workers: { type: "string" },
  device: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Data hparams of the demo: three speeds, a quarter of the works held out for testing, an eighth for validation. */
const DEMO_DATA_HPARAMS = `# Demo data hparams (written by deno task demo)
aug_speed_mode: [0.9, 1.0, 1.1]
device: auto
val_data_split: 0
val_unseen: 0.125
test_data_split: 0
test_data_unseen: 0.25
`;

/** Training hparams of the demo: a small model and short chunks, so that it trains in minutes on 2 CPU cores. */
function demoTrainHparams(dir: string, epochs: number): string {
  return `# Demo training hparams (written by deno task demo): a small CoverHunter on short chunks.
train_path: ${dir}/train.txt
val_path: ${dir}/val.txt
heldout:
  query_path: ${dir}/heldout.txt
  ref_path: ${dir}/heldout.txt
chunk_frame: [60, 45]
chunk_s: 7.2
mean_size: 3
m_per_class: 4
batch_size: 16
max_epochs: ${epochs}
early_stop_metric: mAP
early_stopping_patience: 8
log_every_steps: 25
learning_rate: 0.001
input_dim: 96
embed_dim: 64
encoder:
  output_dims: 64
  num_blocks: 2
  attention_dim: 128
triplet:
  margin: 0.3
  weight: 0.5
spec_augmentation:
  random_erase: {prob: 0.5, erase_num: 4}
  roll_pitch: {prob: 0.8, shift_num: 6, method: uniform}
`;
}

/** Runs the demo; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const dir = String(values.dir ?? "data/demo");
  const egs = String(values.egs ?? "egs/demo");
  const works = intFlag("works", values.works ?? 32, 4, 10000);
  const versions = intFlag("versions", values.versions ?? 4, 2, 1000);
  const seconds = intFlag("seconds", values.seconds ?? 20, 8, 3600);
  const seed = intFlag("seed", values.seed ?? 1, 0, 2 ** 31 - 1);
  const epochs = intFlag("epochs", values.epochs ?? 20, 1, 10000);
  const workers = values.workers === undefined
    ? navigator.hardwareConcurrency
    : intFlag("workers", values.workers, 0, 256);
  const deviceRequest = values.device === undefined ? undefined : deviceFlag(values.device);
  const t0 = performance.now();
  const write = (t: string) => Deno.stdout.writeSync(new TextEncoder().encode(t));

  // 1. Built-in data.
  console.log(`demo 1/6: synthesising ${works} works x ${versions} versions x ${seconds} s into ${dir}`);
  const bar = createProgressWriter(write, Deno.stdout.isTerminal());
  const ts = performance.now();
  await writeSynthDataset(
    dir,
    { works, versions, seconds, seed },
    (done: number, total: number) =>
      bar.update(formatProgress("synth", done, total, (performance.now() - ts) / 1000), done === total),
  );
  bar.end();
  await writeTextFileAtomic(join(dir, "hparams.yaml"), DEMO_DATA_HPARAMS);

  // 2. Features, and the held-out works' original recordings as the retrieval test set.
  console.log("demo 2/6: extracting features");
  const summary = await runExtract(dir, { workers, indent: "  ", ...(deviceRequest ? { deviceRequest } : {}) });
  if (summary.failures.length > 0) return 1;
  const heldout = (await readLines(join(dir, "test.txt"))).filter((l) => l.speed === undefined);
  await writeLines(join(dir, "heldout.txt"), heldout);
  const heldoutWorks = new Set(heldout.map((l) => l.song_id)).size;

  // 3. Train a small model from scratch, evaluating the held-out works before and after.
  await Deno.remove(join(egs, "checkpoints"), { recursive: true }).catch(() => {});
  await Deno.remove(join(egs, "logs"), { recursive: true }).catch(() => {});
  await writeTextFileAtomic(join(egs, "config", "hparams.yaml"), demoTrainHparams(dir, epochs));
  const hparams = await loadTrainHparams(join(egs, "config", "hparams.yaml"));
  const backend = await initDeviceBackend(deviceRequest ?? "auto");
  console.log(
    `demo 3/6: training in ${egs} on ${backend}; held out: ${heldout.length} recordings of ${heldoutWorks} works`,
  );
  const result = await train({
    egsDir: egs,
    hparams,
    firstEval: true,
    resume: false,
    workers: autoTrainThreads(
      hparams.hp.batch_size as number,
      hparams.hp.chunk_frame as number[],
      Math.max(1, workers),
    ),
    log: (l) => console.log(`  ${l}`),
  });

  // 4. What it found.
  const { binsPerOctave } = await loadDataConfig(join(dir, "hparams.yaml"));
  const profiles = [];
  for (const l of heldout) {
    const f = await readNpy(String(l.feat));
    profiles.push(pitchClassProfile(f.data, f.shape[0]!, f.shape[1]!, binsPerOctave));
  }
  const labels = heldout.map((l) => Number(l.song_id));
  const base = calcMap(profileDistanceMatrix(profiles), labels, labels);
  const before = result.initialMap?.heldout;
  const best = result.history.find((h) => h.epoch === result.bestEpoch)?.map.heldout;
  const fmt = (m: { mAP: number; hitRate: number; rank1: number } | undefined) =>
    m ? `mAP ${m.mAP.toFixed(3)}, hit rate ${m.hitRate.toFixed(3)}, MR1 ${m.rank1.toFixed(2)}` : "not measured";
  console.log(`demo 4/6: retrieval among ${heldout.length} recordings of ${heldoutWorks} works never seen in training`);
  console.log(`  random ranking:                     mAP ~${expectedRandomMap(versions, heldout.length).toFixed(3)}`);
  console.log(
    `  pitch-class profile (no model):     mAP ${base.meanAp.toFixed(3)}, hit rate ${base.hitRate.toFixed(3)}, MR1 ${
      base.rank1.toFixed(2)
    }`,
  );
  console.log(`  CoverHunter model, untrained:       ${fmt(before)}`);
  console.log(`  CoverHunter model, trained (epoch ${result.bestEpoch}): ${fmt(best)}`);

  // 5. The report page of the run.
  console.log(`demo 5/6: report`);
  const reportPath = join(egs, "report.html");
  if ((await reportMain([egs, "--out", reportPath, "--testset", "heldout"])) !== 0) return 1;

  // 6. Identify one held-out recording against an index of every other recording (speed copies left out).
  const query = heldout[0]!;
  const refs = (await readLines(join(dir, "full.txt"))).filter((l) => !isSpeedVariant(l) && l.utt !== query.utt);
  const refList = join(egs, "index_refs.txt");
  const indexPath = join(egs, "demo.index");
  await writeLines(refList, refs);
  await Deno.remove(indexPath).catch(() => {});
  console.log(
    `demo 6/6: identify ${query.wav} (${query.song}, a work never seen in training) among the ${refs.length} other ` +
      `recordings`,
  );
  const device = ["--device", deviceRequest ?? "auto"];
  if ((await indexMain([egs, refList, indexPath, ...device])) !== 0) return 1;
  if ((await identifyMain([egs, indexPath, String(query.wav), "--top", "5", ...device])) !== 0) return 1;
  console.log(
    `demo done in ${
      formatDuration((performance.now() - t0) / 1000)
    }; model in ${egs}/checkpoints, TensorBoard logs in ${egs}/logs, report ${reportPath}, index ${indexPath}`,
  );
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
