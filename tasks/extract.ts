// deno-lint-ignore-file no-console
/**
 * `deno task extract <data_dir>`: decode, speed-augment and CQT every recording of
 * `<data_dir>/dataset.txt` with the data hparams of `<data_dir>/hparams.yaml`; writes `full.txt`,
 * `cqt_feat/`, id maps and the train/val/test split. Resumable: run it again after a kill.
 *
 * Permissions: read the inputs (audio can live anywhere), write `<data_dir>` only.
 *
 * @module
 */
import { join } from "node:path";
import { createJobRunner, extractFeatures, type ExtractSummary, loadDataConfig } from "../mod.ts";
import {
  deviceFlag,
  type DeviceRequest,
  intFlag,
  parseTaskArgs,
  type TaskOptions,
  UsageError,
} from "../lib/cli/args.ts";
import { createProgressWriter, formatDuration, formatProgress } from "../lib/cli/progress.ts";
import { resolveDevice } from "../lib/gpu/select.ts";
import { createFrontEnd, type FrontEndOptions } from "../lib/features/front_end.ts";

/** Usage text. */
export const USAGE = `Usage: deno task extract <data_dir> [--workers N] [--device auto|webgpu|cpu|wasm]

Reads <data_dir>/hparams.yaml and <data_dir>/dataset.txt; writes into <data_dir>:
  data.init.txt, sp_aug.txt, cqt_feat/<utt>.cqt.npy, full.txt, song_id.map, song_id_num.map,
  train.txt / val.txt / test.txt / test-only-song-ids.txt (when split fractions are set),
  extract_errors.txt (when something failed).

Options:
  --workers N   CPU worker threads for decoding and CQT (default: number of cores)
  --device D    where the CQT runs: auto (WebGPU if an adapter exists, else CPU), webgpu, cpu, wasm
                (default: the 'device' data hparam; mps/cuda mean webgpu)
  -h, --help    show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  workers: { type: "string" },
  device: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Prints the end-of-run summary. */
export function formatSummary(dataDir: string, s: ExtractSummary): string {
  const lines = [
    `extract ${dataDir}: ${s.recordings} recordings, ${s.songs} works, ${s.features} feature files ` +
    `(${s.computed} computed, ${s.reused} reused)`,
    s.computed === 0
      ? `  nothing to compute: every feature file was already there (${formatDuration(s.timeS)})`
      : `  audio decoded ${(s.audioS / 3600).toFixed(3)} h, CQT on ${(s.computedAudioS / 3600).toFixed(3)} h ` +
        `in ${formatDuration(s.timeS)} (${(s.computedAudioS / Math.max(s.timeS, 1e-9)).toFixed(0)}x real time)`,
  ];
  if (Object.keys(s.splits).length > 0) {
    lines.push(`  split: ${Object.entries(s.splits).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
  if (s.duplicates.length > 0) lines.push(`  ${s.duplicates.length} duplicate utt line(s) dropped`);
  if (s.failures.length > 0) {
    lines.push(`  ${s.failures.length} failure(s) (also in ${join(dataDir, "extract_errors.txt")}):`);
    for (const f of s.failures.slice(0, 20)) lines.push(`    ${f.where}: ${f.message}`);
    if (s.failures.length > 20) lines.push(`    ... ${s.failures.length - 20} more`);
  }
  return lines.join("\n");
}

/**
 * Extracts `dataDir` with a progress bar and a summary on stdout; shared by `extract` and `demo`.
 * `deviceRequest` undefined means the data hparam `device`.
 */
export async function runExtract(
  dataDir: string,
  options: { workers: number; deviceRequest?: DeviceRequest; indent?: string },
): Promise<ExtractSummary> {
  const { workers, indent = "" } = options;
  const config = await loadDataConfig(join(dataDir, "hparams.yaml"));
  const request = options.deviceRequest ?? config.device;
  const device = await resolveDevice(request);
  const frontEnd: FrontEndOptions = {
    kind: config.frontEnd,
    fmin: config.fmin,
    nBins: config.nBins,
    binsPerOctave: config.binsPerOctave,
    device: device.kind === "webgpu" ? "webgpu" : "cpu",
  };
  let where = device.description;
  if (frontEnd.device === "webgpu") {
    // Build the GPU front end once here: it runs the precision probe, and a device that fails it (or a front end
    // with no GPU version) would otherwise fail every file in the workers. `auto` then falls back to the CPU.
    try {
      (await createFrontEnd(frontEnd)).close();
    } catch (e) {
      if (request !== "auto") throw e;
      frontEnd.device = "cpu";
      where = `CPU (WebGPU front end not usable here: ${(e as Error).message})`;
    }
  }
  console.log(`${indent}extract: ${dataDir} on ${where}; ${workers} worker(s)`);
  const runner = createJobRunner({ frontEnd, workers });
  const bar = createProgressWriter((t) => Deno.stdout.writeSync(new TextEncoder().encode(t)), Deno.stdout.isTerminal());
  const t0 = performance.now();
  try {
    const summary = await extractFeatures(dataDir, {
      runner,
      config,
      log: (m) => {
        bar.end();
        console.log(indent + m);
      },
      onProgress: (p) =>
        bar.update(
          formatProgress(
            `${indent}features`,
            p.done,
            p.total,
            (performance.now() - t0) / 1000,
            `${(p.audioS / 60).toFixed(1)} min audio` + (p.failed > 0 ? `, ${p.failed} failed` : ""),
          ),
          p.done === p.total,
        ),
    });
    bar.end();
    console.log(formatSummary(dataDir, summary));
    return summary;
  } finally {
    bar.end();
    await runner.close();
  }
}

/** Runs the task; returns the exit code (1 when any recording or line failed). */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected exactly one <data_dir>");
  const summary = await runExtract(positionals[0]!, {
    workers: values.workers === undefined ? navigator.hardwareConcurrency : intFlag("workers", values.workers, 0, 256),
    ...(values.device === undefined ? {} : { deviceRequest: deviceFlag(values.device) }),
  });
  return summary.failures.length > 0 ? 1 : 0;
}
