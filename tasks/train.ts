// deno-lint-ignore-file no-console
/**
 * `deno task train egs/<set>`: trains the CoverHunter model with `egs/<set>/config/hparams.yaml`,
 * writing checkpoints to `egs/<set>/checkpoints/` and TensorBoard logs to `egs/<set>/logs/<runid>/`.
 * Resumes from the latest checkpoint unless `--no-resume`.
 *
 * Permissions: read (features, configs), write `egs/` (and `data/` is not touched), env (yaml).
 *
 * @module
 */
import { join } from "node:path";
import { initDeviceBackend } from "../lib/model/backend.ts";
import { loadTrainHparams } from "../lib/train/train_hparams.ts";
import { train, TrainingDivergedError } from "../lib/train/train.ts";
import { autoTrainThreads } from "../lib/train/data_parallel.ts";
import { deviceFlag, intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";

/** Usage text. */
export const USAGE =
  `Usage: deno task train <egs_dir> [--runid R] [--device auto|webgpu|cpu|wasm] [--no-resume] [--max-steps N] [--first-eval]
                       [--workers N]

Trains with <egs_dir>/config/hparams.yaml (see docs/hparams.md); writes <egs_dir>/checkpoints/g_<epoch>.safetensors
(model) and do_<epoch>.safetensors (optimiser and run state), <egs_dir>/logs/<runid>/ (TensorBoard) and
<egs_dir>/embed_<epoch>_<testset>/ (test-set embeddings). Runs again continue from the latest checkpoint.

Options:
  --runid R       TensorBoard run name (default: run)
  --device D      auto (WebGPU on a hardware adapter, else CPU), webgpu, cpu, wasm (default: the 'device' hparam)
  --no-resume     start from scratch even when checkpoints exist (they are overwritten as epochs finish)
  --max-steps N   stop after N optimiser steps (for quick checks)
  --first-eval    evaluate the test sets before training, as epoch 0 (also --first_eval, the original's name)
  --workers N     CPU backends: split each batch over N threads, this one and N-1 workers (data-parallel: each
                  BatchNorm normalises, and triplet mining searches, within a thread's shard, as in the original's
                  DDP; results differ from one thread's); default: one per core while each shard keeps
                  1000 frames (batch_size x the smallest chunk_frame / N), else 1; 1: this thread only
  -h, --help      show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  runid: { type: "string" },
  device: { type: "string" },
  "no-resume": { type: "boolean" },
  "max-steps": { type: "string" },
  "first-eval": { type: "boolean" },
  first_eval: { type: "boolean" },
  workers: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected exactly one <egs_dir>");
  const egsDir = positionals[0]!;
  const hparams = await loadTrainHparams(join(egsDir, "config", "hparams.yaml"));
  const backend = await initDeviceBackend(deviceFlag(values.device ?? hparams.hp.device));
  console.log(`train: ${egsDir} on ${backend}`);
  try {
    const r = await train({
      egsDir,
      hparams,
      runid: String(values.runid ?? "run"),
      resume: !values["no-resume"],
      ...(values["max-steps"] === undefined ? {} : { maxSteps: intFlag("max-steps", values["max-steps"], 1) }),
      firstEval: Boolean(values["first-eval"] || values.first_eval),
      workers: values.workers === undefined
        ? autoTrainThreads(
          hparams.hp.batch_size as number,
          hparams.hp.chunk_frame as number[],
          navigator.hardwareConcurrency,
        )
        : intFlag("workers", values.workers, 1, 256),
      log: (line) => console.log(line),
    });
    console.log(
      `train: stopped by ${
        r.stoppedBy.replace("_", " ")
      } after epoch ${r.epoch} (step ${r.step}); best epoch ${r.bestEpoch}`,
    );
    return 0;
  } catch (e) {
    if (e instanceof TrainingDivergedError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
