import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { loadTrainHparams, resolveTrainHparams } from "../../lib/train/train_hparams.ts";

Deno.test("loadTrainHparams() loads the shipped covers80 config and discovers its test set", async () => {
  const { hp, testSets } = await loadTrainHparams(
    new URL("../../egs/covers80/config/hparams.yaml", import.meta.url).pathname,
  );
  assertEquals(hp.batch_size, 32);
  assertEquals(hp.chunk_frame, [1125, 900, 675]);
  assertEquals(Object.keys(testSets), ["covers80"]);
  assertEquals(testSets.covers80!.query_path, "data/covers80_testset/full.txt");
});

Deno.test("resolveTrainHparams() accepts the fork's keys (foc, val_path, every_n_epoch_to_test)", () => {
  const { hp, testSets } = resolveTrainHparams({
    train_path: "t.txt",
    val_path: "v.txt",
    foc: { output_dims: 801, weight: 1, gamma: 2 },
    every_n_epoch_to_test: 2,
    reels50easy: { query_path: "q.txt", ref_path: "r.txt", every_n_epoch_to_test: 1 },
  }, "h.yaml");
  assertEquals((hp.foc as Record<string, number>).output_dims, 801);
  assertEquals(Object.keys(testSets), ["reels50easy"]);
});

Deno.test("resolveTrainHparams() names unknown keys, bad batch sizes and ce+foc together", () => {
  assertThrows(
    () => resolveTrainHparams({ train_path: "t", lr: 1 }, "h.yaml"),
    "h.yaml: unknown key 'lr'; valid keys: train_path",
  );
  assertThrows(
    () => resolveTrainHparams({ train_path: "t", batch_size: 20, m_per_class: 8 }, "h.yaml"),
    "'batch_size' (20) must be a multiple of 'm_per_class' (8)",
  );
  assertThrows(
    () => resolveTrainHparams({ train_path: "t", ce: {}, foc: {} }, "h.yaml"),
    "either 'ce' (original) or 'foc'",
  );
  assertThrows(() => resolveTrainHparams({ batch_size: 8 }, "h.yaml"), "missing required key 'train_path'");
  assertThrows(
    () => resolveTrainHparams({ train_path: "t", optimizer: "prodigy" }, "h.yaml"),
    "'optimizer' must be one of adamw",
  );
  assertThrows(
    () => resolveTrainHparams({ train_path: "t", s: { query_path: "q", ref_path: "r", x: 1 } }, "h"),
    "unknown key 's.x'",
  );
});

Deno.test("loadTrainHparams() names a missing file", async () => {
  await assertRejects(
    () => loadTrainHparams("egs/nope/config/hparams.yaml"),
    "egs/nope/config/hparams.yaml: file not found",
  );
});
