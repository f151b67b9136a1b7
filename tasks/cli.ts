// deno-lint-ignore-file no-console
/**
 * The single command-line entry: `deno run tasks/cli.ts <command> [args]`. Each command is also a
 * `deno task` (see deno.json) with the narrowest permissions it needs.
 *
 * @module
 */
import { UsageError } from "../lib/cli/args.ts";
import { inWorker, serveExtractJobs } from "../lib/data/extract_serve.ts";
import { serveEmbedJobs } from "../lib/model/embed_serve.ts";
import { serveTrainJobs } from "../lib/train/train_serve.ts";

/** A subcommand: its module exports `main(args)` returning an exit code, and `USAGE`. */
interface Command {
  summary: string;
  load: () => Promise<{ main(args: string[]): Promise<number>; USAGE: string }>;
}

/** Every subcommand, in the order `--help` lists them. */
export const COMMANDS: Record<string, Command> = {
  synth: { summary: "write a synthetic covers data set (built-in demo data)", load: () => import("./synth.ts") },
  extract: {
    summary: "decode + speed-augment + CQT a data folder into full.txt and cqt_feat/",
    load: () => import("./extract.ts"),
  },
  train: {
    summary: "train the model on extracted features (egs/<set>/config/hparams.yaml)",
    load: () => import("./train.ts"),
  },
  eval: {
    summary: "retrieval metrics of a model on query/ref files (mAP, MR1, hit rate, bootstrap)",
    load: () => import("./eval.ts"),
  },
  index: {
    summary: "embed every track of a list into an appendable reference index (+ .npy / pgvector exports)",
    load: () => import("./index.ts"),
  },
  identify: {
    summary: "rank the works of an index for audio files, with calibrated scores",
    load: () => import("./identify.ts"),
  },
  align: {
    summary: "per pair of versions of a work, the chunk shift that best aligns them (coarse alignment)",
    load: () => import("./align.ts"),
  },
  report: {
    summary: "one self-contained HTML page of a run: curves, mAP, embedding map, distances, worst queries",
    load: () => import("./report.ts"),
  },
  bench: { summary: "measure speed (bench extract | train | embed | search)", load: () => import("./bench.ts") },
  demo: { summary: "run the whole pipeline on built-in synthetic data", load: () => import("./demo.ts") },
};

/** Commands of the reference that later versions of this project add; listed so users are told, not surprised. */
export const PLANNED: Record<string, string> = {};

/** Usage of the CLI. */
export const USAGE = `Usage: deno run <permissions> tasks/cli.ts <command> [args]   (or: deno task <command> [args])

Commands:
${Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(9)} ${c.summary}`).join("\n")}
${Object.entries(PLANNED).map(([k, why]) => `  ${k.padEnd(9)} (not available yet: ${why})`).join("\n")}

Run '<command> --help' for a command's flags.`;

/** Dispatches to a command and returns its exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name in PLANNED) {
    console.error(`error: '${name}' is not available in this version: ${PLANNED[name]}.`);
    return 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`error: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  const mod = await cmd.load();
  try {
    return await mod.main(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\n${mod.USAGE}`);
      return 2;
    }
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      console.error(
        `error: ${(e as Error).message}\n` +
          `This task runs with narrow permissions. For folders outside data/ and egs/, run it directly, e.g.\n` +
          `  deno run --allow-read --allow-write=<your_dir> tasks/cli.ts ${name} ...`,
      );
      return 1;
    }
    console.error(`error: ${(e as Error).message ?? e}`);
    return 1;
  }
}

// In a single-file bundle this file is also the workers' entry (lib/data/job_runner.ts, lib/model/embed_pool.ts,
// lib/train/data_parallel.ts):
// the first message says which kind of worker it is.
if (inWorker()) {
  globalThis.onmessage = (ev: MessageEvent<{ type?: string }>) => {
    const kind = String(ev.data?.type ?? "");
    if (kind.startsWith("embed")) serveEmbedJobs();
    else if (kind.startsWith("train")) serveTrainJobs();
    else serveExtractJobs();
    (globalThis.onmessage as (e: MessageEvent) => void)(ev);
  };
} else if (import.meta.main) Deno.exit(await main(Deno.args));
