import { assertEquals, assertThrows } from "../_assert.ts";
import { resolveHparams, type Schema, schemaKeyPaths } from "../../lib/io/hparams.ts";
import { DATA_HPARAMS_SCHEMA, toDataConfig } from "../../lib/data/data_hparams.ts";

const schema: Schema = {
  a: { type: "integer", default: 3, min: 1, doc: "a" },
  b: { type: "object", doc: "b", keys: { c: { type: "string", default: "x", choices: ["x", "y"], doc: "c" } } },
  d: { type: "number[]", doc: "d" },
};

Deno.test("resolveHparams() fills defaults and freezes", () => {
  const hp = resolveHparams(schema, { b: {} }, "h.yaml");
  assertEquals(hp, { a: 3, b: { c: "x" } });
  assertEquals(Object.isFrozen(hp), true);
});

Deno.test("resolveHparams() names unknown keys and lists the valid ones", () => {
  assertThrows(
    () => resolveHparams(schema, { a: 1, zz: 2 }, "h.yaml"),
    "h.yaml: unknown key 'zz'; valid keys: a, b, d",
  );
  assertThrows(() => resolveHparams(schema, { b: { q: 1 } }, "h.yaml"), "unknown key 'b.q'; valid keys under 'b': c");
});

Deno.test("resolveHparams() rejects wrong types, ranges and choices", () => {
  assertThrows(() => resolveHparams(schema, { a: 1.5 }, "h"), "'a' must be of type integer, got 1.5");
  assertThrows(() => resolveHparams(schema, { a: 0 }, "h"), "'a' must be within [1, inf], got 0");
  assertThrows(() => resolveHparams(schema, { b: { c: "z" } }, "h"), "'b.c' must be one of x, y, got 'z'");
  assertThrows(() => resolveHparams(schema, { d: ["1"] }, "h"), "'d' must be of type number[]");
});

Deno.test("data hparams: the fork's covers80 file loads; mps means webgpu", () => {
  const cfg = toDataConfig(resolveHparams(DATA_HPARAMS_SCHEMA, {
    aug_speed_mode: [0.8, 0.9, 1.0, 1.1, 1.2],
    add_noise: {
      prob: 0.75,
      sr: 16000,
      chunk: 3,
      name: "cqt_with_asr_noise",
      noise_path: "dataset/asr_as_noise/dataset.txt",
    },
    fmin: 32,
    n_bins: 96,
    bins_per_octave: 12,
    device: "mps",
    val_data_split: 0.1,
    val_unseen: 0.02,
    test_data_split: 0.1,
    test_data_unseen: 0.04,
  }, "covers80/hparams.yaml"));
  assertEquals(cfg.device, "webgpu");
  assertEquals(cfg.addNoise?.chunkS, 3);
  assertEquals(cfg.frontEnd, "pycqt");
  assertEquals(schemaKeyPaths(DATA_HPARAMS_SCHEMA).includes("add_noise.noise_path"), true);
});
