import { COVERS80_MODEL_CONFIG, modelConfigFromHparams } from "../../lib/model/config.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_golden.ts";

const COVERS80_HP = {
  input_dim: 96,
  embed_dim: 128,
  encoder: { output_dims: 128, num_blocks: 6, attention_dim: 256 },
  ce: { output_dims: 30000, weight: 1.0, gamma: 2 },
};

Deno.test("modelConfigFromHparams() maps the original covers80 hparams (ce block)", () => {
  assertEquals(modelConfigFromHparams(COVERS80_HP), COVERS80_MODEL_CONFIG);
});

Deno.test("modelConfigFromHparams() takes the class count from the fork's foc block and reads dropout", () => {
  const { ce: _, ...rest } = COVERS80_HP;
  const c = modelConfigFromHparams({ ...rest, foc: { output_dims: 80 }, dropout: 0.2 });
  assertEquals([c.numClasses, c.dropout], [80, 0.2]);
});

Deno.test("modelConfigFromHparams() reads the golden tiny hparams", async () => {
  const c = modelConfigFromHparams(JSON.parse(await Deno.readTextFile(GOLDEN("model_tiny_hparams.json"))));
  assertEquals([c.numBlocks, c.numClasses, c.attentionDim, c.numHeads, c.cnnKernel], [2, 64, 256, 4, 15]);
});

Deno.test("modelConfigFromHparams() rejects missing, conflicting and unsupported sizes", () => {
  const { ce: _, ...noHead } = COVERS80_HP;
  assertThrows(() => modelConfigFromHparams(noHead), "'ce.output_dims' (original) or 'foc.output_dims'");
  assertThrows(() => modelConfigFromHparams({ ...COVERS80_HP, foc: { output_dims: 10 } }), "differ");
  assertThrows(() => modelConfigFromHparams({ ...COVERS80_HP, embed_dim: 256 }), "_embed_lo");
  assertThrows(
    () => modelConfigFromHparams({ ...COVERS80_HP, encoder: { ...COVERS80_HP.encoder, output_dims: 130 } }),
    "multiple of 'numHeads'",
  );
  assertThrows(() => modelConfigFromHparams({ ...COVERS80_HP, encoder: undefined }), "'encoder' must be a mapping");
  assertThrows(() => modelConfigFromHparams({ ...COVERS80_HP, input_dim: 5 }), "at least 7");
  assertThrows(() => modelConfigFromHparams({ ...COVERS80_HP, dropout: 1 }), "[0, 1)");
});
