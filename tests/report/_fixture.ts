/**
 * A tiny generated run folder for the report tests: hparams with one test set, a TensorBoard event file with the
 * trainer's tags, and per-epoch chunk embeddings whose works separate better at later epochs. No model.
 *
 * @module
 */
import { join } from "node:path";
import { createPrng } from "../../lib/data/prng.ts";
import { createEventWriter } from "../../lib/io/tensorboard.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { formatLine } from "../../lib/io/lines.ts";

/** Options of {@linkcode writeRunFixture}. */
export interface RunFixtureOptions {
  /** Works. @default 4 */
  works?: number;
  /** Versions per work. @default 3 */
  versions?: number;
  /** Chunks per track. @default 2 */
  chunks?: number;
  /** Embedding size. @default 16 */
  dim?: number;
  /** Logged mAP per epoch (epoch i + 1); one embeddings folder per epoch. @default [0.3, 0.8, 0.5] */
  maps?: number[];
  /** Work names, by work index. @default `work <i>` */
  workNames?: string[];
  /** Test-set key in the hparams. @default "heldout" */
  testset?: string;
}

/** What {@linkcode writeRunFixture} wrote. */
export interface RunFixture {
  /** The run folder (`logs/`, `embed_*`, `config/`). */
  dir: string;
  /** The test set's query file (= its ref file). */
  queryPath: string;
  /** Track ids, in file order. */
  utts: string[];
  /** Work label per track. */
  labels: number[];
}

/**
 * Writes the run folder `dir` and its query file beside it (`<dir>.query.txt`).
 *
 * @param dir a folder that does not exist yet, or an empty one
 * @param options sizes and names
 */
export async function writeRunFixture(dir: string, options: RunFixtureOptions = {}): Promise<RunFixture> {
  const { works = 4, versions = 3, chunks = 2, dim = 16, maps = [0.3, 0.8, 0.5], testset = "heldout" } = options;
  const names = options.workNames ?? Array.from({ length: works }, (_, i) => `work ${i}`);
  await Deno.mkdir(join(dir, "config"), { recursive: true });
  const queryPath = `${dir}.query.txt`;
  const utts: string[] = [], labels: number[] = [];
  const lines = [];
  for (let w = 0; w < works; w++) {
    for (let v = 0; v < versions; v++) {
      utts.push(`w${w}_v${v}`);
      labels.push(w);
      lines.push(formatLine({ utt: `w${w}_v${v}`, song: names[w]!, song_id: w, version_id: v, feat: "unused.npy" }));
    }
  }
  await Deno.writeTextFile(queryPath, lines.join("\n") + "\n");
  await Deno.writeTextFile(
    join(dir, "config", "hparams.yaml"),
    `train_path: unused.txt\n${testset}:\n  query_path: ${JSON.stringify(queryPath)}\n  ref_path: ${
      JSON.stringify(queryPath)
    }\n`,
  );

  // Event file: per-step losses and lr, per-epoch validation losses and retrieval metrics.
  let clock = 1_700_000_000;
  const tb = await createEventWriter(join(dir, "logs", "run"), { hostname: "fixture", clock: () => clock++ });
  const stepsPerEpoch = 10;
  for (let epoch = 1; epoch <= maps.length; epoch++) {
    for (let s = 1; s <= stepsPerEpoch; s++) {
      const step = (epoch - 1) * stepsPerEpoch + s;
      tb.scalar("csi/lr", 1e-3, step);
      tb.scalar("csi/ce_loss", 3 / step, step);
      tb.scalar("csi/tri_loss", 0.3 / Math.sqrt(step), step);
      tb.scalar("csi/total", 3 / step + 0.3 / Math.sqrt(step), step);
    }
    tb.scalar("csi_val/ce_loss", 2 / epoch, epoch);
    tb.scalar("mAP/" + testset, maps[epoch - 1]!, epoch);
    tb.scalar("hit_rate/" + testset, maps[epoch - 1]! * 0.9, epoch);
    tb.scalar("MR1/" + testset, 1 / maps[epoch - 1]!, epoch);
    tb.scalar("csi/epoch_total", 1 / epoch, epoch);
  }
  await tb.close();

  // Embeddings: chunk = work centroid + noise, the noise shrinking with the epoch.
  const prng = createPrng(7);
  const centroids = Array.from({ length: works }, () => Array.from({ length: dim }, () => prng.normal()));
  for (let epoch = 1; epoch <= maps.length; epoch++) {
    const sigma = 2 / epoch;
    const data = new Float32Array(utts.length * chunks * dim);
    let row = 0;
    for (const label of labels) {
      for (let c = 0; c < chunks; c++, row++) {
        for (let k = 0; k < dim; k++) data[row * dim + k] = centroids[label]![k]! + sigma * prng.normal();
      }
    }
    const folder = join(dir, `embed_${epoch}_${testset}`);
    await Deno.mkdir(folder, { recursive: true });
    await Deno.writeFile(join(folder, "embeddings.npy"), encodeNpy({ data, shape: [row, dim] }));
    await Deno.writeTextFile(
      join(folder, "tracks.txt"),
      utts.map((u) => formatLine({ utt: u, chunks })).join("\n") + "\n",
    );
  }
  return { dir, queryPath, utts, labels };
}

/** The `data-plot` ids of a full report page, in page order. */
export const PLOTS = [
  "chart-train-loss",
  "chart-lr",
  "chart-epoch-loss",
  "chart-map",
  "chart-hit-rate",
  "chart-mr1",
  "embedding-map",
  "distance-matrix",
  "worst-queries",
];
