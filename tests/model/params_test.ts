import * as tf from "@tensorflow/tfjs";
import { createPrng } from "../../lib/data/prng.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { COVERS80_MODEL_CONFIG, modelConfigFromHparams } from "../../lib/model/config.ts";
import {
  countParams,
  disposeParams,
  getParam,
  initParams,
  paramsFromTensors,
  paramSpecs,
  paramsToTensors,
} from "../../lib/model/params.ts";
import { importTorchCheckpoint } from "../../lib/model/import_torch.ts";
import { readSafetensors } from "../../lib/model/safetensors.ts";
import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_golden.ts";

const TINY = modelConfigFromHparams(JSON.parse(await Deno.readTextFile(GOLDEN("model_tiny_hparams.json"))));

Deno.test("countParams() gives the covers80 totals of spec §3.5", async () => {
  await initBackend("cpu");
  assertEquals(countParams(COVERS80_MODEL_CONFIG), { total: 9_910_976, inferencePath: 2_230_720 });
});

Deno.test("paramSpecs() lists the golden state_dict names, order and shapes", async () => {
  await initBackend("cpu");
  const golden = readSafetensors(await Deno.readFile(GOLDEN("model_tiny.safetensors")));
  const specs = paramSpecs(TINY);
  assertEquals(specs.map((s) => s.name), [...golden.keys()]);
  for (const s of specs) assertEquals([...s.shape], golden.get(s.name)!.shape, s.name);
  assertEquals(specs.filter((s) => s.kind === "frozen").map((s) => s.name), ["_bottleneck.bias"]);
  assertEquals(specs.filter((s) => s.kind === "buffer").length, 2 * 4); // 4 BatchNorms x running_mean/var
});

Deno.test("initParams() follows the reference initialisation and is reproducible", async () => {
  await initBackend("cpu");
  const cfg = { ...COVERS80_MODEL_CONFIG, numBlocks: 1, numClasses: 500 };
  const a = initParams(cfg, createPrng(42));
  const b = initParams(cfg, createPrng(42));
  try {
    const absMax = async (name: string) =>
      (await getParam(a, name).data() as Float32Array).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const values = async (name: string) => Array.from(await getParam(a, name).data());
    assertOk((await absMax("_encoder.embed.conv.0.weight")) <= 1 / 3); // U(±1/sqrt(1·3·3))
    assertOk((await absMax("_encoder.embed.out.0.weight")) <= 1 / Math.sqrt(2944));
    assertOk((await absMax("_encoder.encoders.0.conv_module.depthwise_conv.weight")) <= 1 / Math.sqrt(15));
    const posBound = Math.sqrt(6 / 36); // xavier on (4, 32): 0.408
    assertOk((await absMax("_encoder.encoders.0.self_attn.pos_bias_u")) <= posBound);
    assertOk((await absMax("_encoder.encoders.0.self_attn.pos_bias_v")) > 0.9 * posBound);
    assertOk((await absMax("_pool_layer._linear.linear_layer.weight")) <= Math.sqrt(6 / 512));
    assertOk((await absMax("_pool_layer._linear.linear_layer.weight")) > 0.9 * Math.sqrt(6 / 512));
    assertEquals(new Set(await values("_encoder.encoders.0.norm_ff.weight")), new Set([1]));
    assertEquals(new Set(await values("_bottleneck.bias")), new Set([0]));
    assertEquals(new Set(await values("_global_cmvn.running_var")), new Set([1]));
    const centers = await values("_center_loss.centers");
    const mean = centers.reduce((s, x) => s + x, 0) / centers.length;
    const std = Math.sqrt(centers.reduce((s, x) => s + (x - mean) ** 2, 0) / centers.length);
    assertAlmostEquals(mean, 0, 0.02);
    assertAlmostEquals(std, 1, 0.02);
    assertEquals(await getParam(b, "_ce_layer.weight").data(), await getParam(a, "_ce_layer.weight").data());
    assertEquals(a.frozen.get("_bottleneck.bias")!.trainable, false);
    assertEquals(a.buffers.get("_bottleneck.running_mean")!.trainable, false);
    assertEquals(a.trainable.get("_bottleneck.weight")!.trainable, true);
  } finally {
    disposeParams(a);
    disposeParams(b);
  }
});

Deno.test("paramsFromTensors() / paramsToTensors() round-trip the golden weights and checkpoint counters", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  const ck = importTorchCheckpoint(await Deno.readFile(GOLDEN("g_00000003")));
  const params = paramsFromTensors(ck, TINY);
  params.batchesTracked.set("_bottleneck", 5);
  const back = await paramsToTensors(params);
  disposeParams(params);
  assertEquals(tf.memory().numTensors, before);
  assertEquals([...back.keys()], [...ck.keys()], "PyTorch state_dict order");
  for (const [name, t] of ck) {
    if (name === "_bottleneck.num_batches_tracked") continue;
    assertEquals(back.get(name), t, name);
  }
  assertEquals(back.get("_bottleneck.num_batches_tracked")!.data, BigInt64Array.of(5n));
});

Deno.test("paramsFromTensors() lists every missing, unexpected and mis-shaped tensor in one error", async () => {
  await initBackend("cpu");
  const t = readSafetensors(await Deno.readFile(GOLDEN("model_tiny.safetensors")));
  t.delete("_ce_layer.weight");
  t.delete("_encoder.encoders.1.norm_final.bias");
  t.set("_embed_lo.weight", { dtype: "F32", shape: [1], data: new Float32Array(1) });
  t.set("_encoder.after_norm.weight", { dtype: "F32", shape: [64], data: new Float32Array(64) });
  t.set("_global_cmvn.bias", { dtype: "I32", shape: [96], data: new Int32Array(96) });
  const err = assertThrows(() => paramsFromTensors(t, TINY), "does not fit the model");
  for (
    const part of [
      "2 missing: _encoder.encoders.1.norm_final.bias, _ce_layer.weight",
      "1 unexpected: _embed_lo.weight",
      "1 mis-shaped: _encoder.after_norm.weight (expected [128], got [64])",
      "_global_cmvn.bias (I32, expected F32)",
    ]
  ) assertOk(err.message.includes(part), `${part} in: ${err.message}`);
  const golden = readSafetensors(await Deno.readFile(GOLDEN("model_tiny.safetensors")));
  assertThrows(() => paramsFromTensors(golden, { ...TINY, numBlocks: 6 }), "156 missing");
});
