import * as tf from "@tensorflow/tfjs";
import { createPrng } from "../../lib/data/prng.ts";
import { readNpy } from "../../lib/io/npy.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { COVERS80_MODEL_CONFIG, modelConfigFromHparams } from "../../lib/model/config.ts";
import { classify, embed, updateRunningStats } from "../../lib/model/model.ts";
import { disposeParams, getParam, initParams, paramsFromTensors } from "../../lib/model/params.ts";
import { readSafetensors } from "../../lib/model/safetensors.ts";
import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_golden.ts";

/** (2, 30, 96) dB-like features. */
function randomInput(prng: ReturnType<typeof createPrng>): tf.Tensor3D {
  return tf.tensor3d(Float32Array.from({ length: 2 * 30 * 96 }, () => 10 * prng.normal() - 40), [2, 30, 96]);
}

const TINY = modelConfigFromHparams(JSON.parse(await Deno.readTextFile(GOLDEN("model_tiny_hparams.json"))));

Deno.test("training-mode BatchNorms update running stats as PyTorch does (golden train step, cpu)", async (t) => {
  await initBackend("cpu");
  const params = paramsFromTensors(readSafetensors(await Deno.readFile(GOLDEN("model_tiny.safetensors"))), TINY);
  const after = readSafetensors(await Deno.readFile(GOLDEN("train_step_after.safetensors")));
  const input = await readNpy(GOLDEN("train_step_input.npy"));
  const before = tf.memory().numTensors;
  try {
    const x = tf.tensor3d(input.data, input.shape as [number, number, number]);
    const e = embed(params, x, { training: true, dropout: 0 });
    const c = classify(params, e.embedding, { training: true });
    const stats = { ...e.bnStats!, ...c.bnStats! };
    assertEquals(Object.keys(stats).sort(), [...params.batchesTracked.keys()].sort());
    updateRunningStats(params, stats);
    for (const s of Object.values(stats)) tf.dispose([s.mean, s.varUnbiased]);
    tf.dispose([x, e.embedding, c.logits]);
    assertEquals(tf.memory().numTensors, before, "no tensor leaked");
    assertEquals([...params.batchesTracked.values()], [1, 1, 1, 1]);
    for (const name of [...after.keys()].filter((k) => k.includes(".running_"))) {
      const expected = after.get(name)!.data as Float32Array;
      const actual = await getParam(params, name).data();
      let diff = 0, scale = 0;
      for (let i = 0; i < expected.length; i++) {
        diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
        scale = Math.max(scale, Math.abs(expected[i]!));
      }
      await t.step(`${name}: max|Δ| ${diff.toExponential(2)} <= 1e-6·${scale.toFixed(2)}`, () => {
        assertOk(diff <= 1e-6 * scale);
      });
    }
  } finally {
    disposeParams(params);
  }
});

Deno.test("embed() and classify() keep tf.memory() steady across passes", async () => {
  await initBackend("cpu");
  const params = initParams({ ...COVERS80_MODEL_CONFIG, numBlocks: 1, numClasses: 4 }, createPrng(1));
  const x = randomInput(createPrng(4));
  const counts: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const eval_ = embed(params, x, { intermediates: true });
    const logits = classify(params, eval_.embedding).logits;
    tf.dispose([eval_.embedding, logits, ...Object.values(eval_.intermediates!)]);
    const train = embed(params, x, { training: true, prng: createPrng(pass) });
    const head = classify(params, train.embedding, { training: true });
    for (const s of [...Object.values(train.bnStats!), ...Object.values(head.bnStats!)]) {
      tf.dispose([s.mean, s.varUnbiased]);
    }
    tf.dispose([train.embedding, head.logits]);
    counts.push(tf.memory().numTensors);
  }
  assertEquals(counts[1], counts[0]);
  assertEquals(counts[2], counts[0]);
  tf.dispose(x);
  disposeParams(params);
});

Deno.test("embed() dropout: seeded, reproducible, off in eval mode and at p = 0", async () => {
  await initBackend("cpu");
  const params = initParams({ ...COVERS80_MODEL_CONFIG, numBlocks: 1, numClasses: 4 }, createPrng(2));
  const x = randomInput(createPrng(9));
  const run = async (options: Parameters<typeof embed>[2]) => {
    const r = embed(params, x, options);
    const values = await r.embedding.data();
    tf.dispose([r.embedding, ...Object.values(r.bnStats ?? {}).flatMap((s) => [s.mean, s.varUnbiased])]);
    return Array.from(values);
  };
  try {
    const a = await run({ training: true, prng: createPrng(7) });
    assertEquals(await run({ training: true, prng: createPrng(7) }), a);
    assertOk(JSON.stringify(await run({ training: true, prng: createPrng(8) })) !== JSON.stringify(a));
    assertEquals(
      await run({ training: true, dropout: 0 }),
      await run({ training: true, dropout: 0, prng: createPrng(8) }),
    );
    assertEquals(await run({ prng: createPrng(1) }), await run({}));
    assertThrows(() => embed(params, x, { training: true }), "needs a prng");
  } finally {
    tf.dispose(x);
    disposeParams(params);
  }
});

Deno.test("embed() and classify() check input shapes", async () => {
  await initBackend("cpu");
  const params = initParams({ ...COVERS80_MODEL_CONFIG, numBlocks: 1, numClasses: 4 }, createPrng(3));
  try {
    tf.tidy(() => {
      assertThrows(() => embed(params, tf.zeros([2, 30, 84])), "expected input (B, T, 96)");
      assertThrows(() => embed(params, tf.zeros([2, 6, 96])), "at least 7 frames");
      assertThrows(() => classify(params, tf.zeros([2, 64])), "expected (B, 128)");
      assertEquals(embed(params, tf.zeros([1, 7, 96])).embedding.shape, [1, 128]);
    });
  } finally {
    disposeParams(params);
  }
});
