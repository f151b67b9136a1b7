// deno-lint-ignore-file no-console
/**
 * `deno task report <model_dir|run dir>`: one self-contained HTML page of a run: training curves and mAP per
 * epoch (event files), a 2-D map of one epoch's embeddings coloured by work, the distance matrix as an image
 * and the worst queries (from an eval folder, else from the saved embeddings: no model, no GPU). Whatever is
 * missing is listed on the page instead of failing.
 *
 * Permissions: read, write the output file (default under egs/), env (yaml).
 *
 * @module
 */
import { join } from "node:path";
import { writeTextFileAtomic } from "../lib/io/atomic.ts";
import { collectReport } from "../lib/report/report.ts";
import { renderReportHtml } from "../lib/report/html.ts";
import { intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";

/** Usage text. */
export const USAGE = `Usage: deno task report <model_dir|run dir> [--out FILE] [--eval DIR] [--epoch E] [--testset NAME]

<model_dir|run dir>: one of our runs (egs/<set>: logs/, embed_<epoch>_<set>/, checkpoints/), or any model
folder (e.g. hparams.yaml + model.safetensors with an eval/ folder). The page shows what the folder holds and
lists what is missing.

Options:
  --out FILE      where the page goes (default <dir>/report.html)
  --eval DIR      an eval output folder (metrics.json, dist.npy, ranks.txt) for the distance matrix and the
                  worst queries (default <dir>/eval when it exists, else computed from the embeddings)
  --epoch E       epoch of the embeddings shown (default the best by mAP, else the last saved)
  --testset NAME  test set of the embeddings shown (default the first of the hparams with embeddings)
  -h, --help      show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  out: { type: "string" },
  eval: { type: "string" },
  epoch: { type: "string" },
  testset: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected one <model_dir|run dir>");
  const dir = positionals[0]!;
  const out = String(values.out ?? join(dir, "report.html"));
  const t0 = performance.now();
  const data = await collectReport(dir, {
    ...(values.eval === undefined ? {} : { evalDir: String(values.eval) }),
    ...(values.epoch === undefined ? {} : { epoch: intFlag("epoch", values.epoch, 0) }),
    ...(values.testset === undefined ? {} : { testset: String(values.testset) }),
  });
  if (data.embedding) {
    console.log(
      `report: embeddings of ${data.embedding.testset}, epoch ${data.embedding.epoch} (${data.embedding.epochChoice})`,
    );
  }
  for (const n of data.notes) console.log(`report: ${n}`);
  const html = renderReportHtml(data);
  await writeTextFileAtomic(out, html);
  const kib = new TextEncoder().encode(html).length / 1024;
  console.log(`wrote ${out} (${kib.toFixed(1)} KiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}
