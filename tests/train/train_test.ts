// End-to-end training on a tiny generated set: resume equals an unbroken run, divergence stops with
// the last good checkpoint kept, TensorBoard files carry the reference's scalar names.
import { assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { join } from "node:path";
import { writeSynthDataset } from "../../lib/data/synth_dataset.ts";
import { extractFeatures } from "../../lib/data/extract.ts";
import { createJobRunner } from "../../lib/data/job_runner.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { resolveTrainHparams } from "../../lib/train/train_hparams.ts";
import { heapFullError, train, TrainingDivergedError } from "../../lib/train/train.ts";
import { listCheckpoints } from "../../lib/train/checkpoint.ts";
import { loadModelDir } from "../../lib/model/load_model.ts";
import { disposeParams } from "../../lib/model/params.ts";
import { readEvents } from "../../lib/io/tensorboard.ts";
import { readLines } from "../../lib/io/lines.ts";
import { encodeNpy, readNpy } from "../../lib/io/npy.ts";

async function tinySet(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "train_test_" });
  await writeSynthDataset(join(dir, "data"), { works: 5, versions: 3, seconds: 5, seed: 4 });
  await Deno.writeTextFile(join(dir, "data", "hparams.yaml"), "aug_speed_mode: [0.9, 1.0]\ntest_data_unseen: 0.2\n");
  const runner = createJobRunner({ frontEnd: { kind: "pycqt", fmin: 32, nBins: 96, binsPerOctave: 12 }, workers: 0 });
  await extractFeatures(join(dir, "data"), { runner });
  await runner.close();
  return dir;
}

function hparams(dir: string, maxEpochs: number) {
  return resolveTrainHparams({
    train_path: join(dir, "data", "train.txt"),
    test_path: join(dir, "data", "test.txt"),
    heldout: { query_path: join(dir, "data", "test.txt"), ref_path: join(dir, "data", "test.txt") },
    chunk_frame: [20, 15],
    chunk_s: 2.4,
    m_per_class: 2,
    batch_size: 4,
    max_epochs: maxEpochs,
    log_every_steps: 2,
    embed_dim: 16,
    encoder: { output_dims: 16, num_blocks: 1, attention_dim: 16 },
    spec_augmentation: { random_erase: { prob: 0.5, erase_num: 2 }, roll_pitch: { prob: 0.5, shift_num: 12 } },
  }, "test hparams");
}

Deno.test("train() resumed after an interruption ends exactly as an unbroken run", async () => {
  await initBackend("wasm");
  const dir = await tinySet();
  try {
    const unbroken = await train({ egsDir: join(dir, "a"), hparams: hparams(dir, 3), firstEval: true });
    assertEquals(unbroken.epoch, 3);
    assertOk(unbroken.initialMap?.heldout !== undefined);
    // "Killed" after epoch 1: a run that stops there, then a new run over the same folder.
    await train({ egsDir: join(dir, "b"), hparams: hparams(dir, 1) });
    assertEquals(await listCheckpoints(join(dir, "b", "checkpoints")), [1]);
    const resumed = await train({ egsDir: join(dir, "b"), hparams: hparams(dir, 3) });
    const strip = (h: typeof unbroken.history) => h.map(({ timeS: _t, ...r }) => r);
    assertEquals(strip(resumed.history), strip(unbroken.history));
    assertEquals(resumed.step, unbroken.step);
    // The run folder opens as a model folder (eval, identify): the best epoch by default.
    const model = await loadModelDir(join(dir, "a"));
    assertOk(model.source.endsWith(`g_0000000${unbroken.bestEpoch}.safetensors`), model.source);
    assertEquals([model.chunkFrame, model.meanSize, model.chunkS], [20, 3, 2.4]);
    disposeParams(model.params);
    // TensorBoard: the reference's scalar names, readable back.
    const logDir = join(dir, "a", "logs", "run");
    const events = (await Promise.all([...Deno.readDirSync(logDir)].map((e) => readEvents(join(logDir, e.name)))))
      .flat();
    const tags = new Set(events.map((e) => e.tag));
    for (
      const t of [
        "csi/lr",
        "csi/ce_loss",
        "csi/tri_loss",
        "csi/total",
        "csi_test/ce_loss",
        "mAP/heldout",
        "hit_rate/heldout",
      ]
    ) {
      assertOk(tags.has(t), `missing scalar ${t} in ${[...tags].join(", ")}`);
    }
    assertEquals(events.filter((e) => e.tag === "mAP/heldout").map((e) => e.step), [0, 1, 2, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train() stops after 3 non-finite losses in a row and keeps the last good checkpoint", async () => {
  await initBackend("wasm");
  const dir = await tinySet();
  try {
    await train({ egsDir: join(dir, "e"), hparams: hparams(dir, 1) });
    for (const line of await readLines(join(dir, "data", "train.txt"))) {
      const f = await readNpy(String(line.feat));
      f.data.fill(NaN);
      await Deno.writeFile(String(line.feat), encodeNpy(f));
    }
    const err = await assertRejects(
      () => train({ egsDir: join(dir, "e"), hparams: hparams(dir, 2) }),
      "training diverged",
    );
    assertOk(err instanceof TrainingDivergedError);
    assertOk(err.message.includes("g_00000001.safetensors"), err.message);
    assertEquals(await listCheckpoints(join(dir, "e", "checkpoints")), [1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train() data-parallel over 2 threads: trains, and a resumed run ends exactly as an unbroken one", async () => {
  await initBackend("wasm");
  const dir = await tinySet();
  try {
    const lines: string[] = [];
    const unbroken = await train({
      egsDir: join(dir, "a"),
      hparams: hparams(dir, 2),
      workers: 2,
      log: (l) => lines.push(l),
    });
    assertOk(lines.some((l) => l.includes("split over 2 thread")), lines.join("\n"));
    assertOk(lines.some((l) => l.startsWith("warning: shards of ~2 chunks")), lines.join("\n")); // batch 4 over 2
    assertOk(unbroken.history.every((r) => Number.isFinite(r.train.total) && r.train.total > 0));
    await train({ egsDir: join(dir, "b"), hparams: hparams(dir, 1), workers: 2 });
    const resumed = await train({ egsDir: join(dir, "b"), hparams: hparams(dir, 2), workers: 2 });
    const strip = (h: typeof unbroken.history) => h.map(({ timeS: _t, ...r }) => r);
    assertEquals(strip(resumed.history), strip(unbroken.history));
    // Not the one-thread run: each BatchNorm saw half a batch.
    const single = await train({ egsDir: join(dir, "c"), hparams: hparams(dir, 1) });
    assertOk(single.history[0]!.train.total !== unbroken.history[0]!.train.total);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("heapFullError(): tfjs-wasm's bare Aborted() becomes an error that says what ran out; others pass", () => {
  const abort = new Error("Aborted(). Build with -sASSERTIONS for more info.");
  const e = heapFullError(abort, 7, [16, 1125, 96], 9189, "egs/x/checkpoints", 2) as Error;
  for (const part of ["step 7", "[16,1125,96]", "4 GiB", "9189 frames", "batch_size", "g_00000002.safetensors"]) {
    assertOk(e.message.includes(part), e.message);
  }
  assertEquals(e.cause, abort);
  const other = new RangeError("something else");
  assertEquals(heapFullError(other, 1, [2], 10, "c", 0), other);
});
