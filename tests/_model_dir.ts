// A model folder as `loadModelDir` reads it (hparams.yaml + model.safetensors), with random weights: the fixture of
// task tests that need a model but not a trained one.
import { join } from "node:path";
import { createPrng } from "../lib/data/prng.ts";
import { initBackend } from "../lib/model/backend.ts";
import { modelConfigFromHparams } from "../lib/model/config.ts";
import { disposeParams, initParams, paramsToTensors } from "../lib/model/params.ts";
import { encodeSafetensors } from "../lib/model/safetensors.ts";

/** Writes `dir/hparams.yaml` (the hparams as JSON, which is YAML) and `dir/model.safetensors` seeded by `seed`. */
export async function writeRandomModelDir(dir: string, hparams: Record<string, unknown>, seed: number): Promise<void> {
  await initBackend("cpu");
  const params = initParams(modelConfigFromHparams(hparams), createPrng(seed));
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(join(dir, "model.safetensors"), encodeSafetensors(await paramsToTensors(params)));
  } finally {
    disposeParams(params);
  }
  await Deno.writeTextFile(join(dir, "hparams.yaml"), JSON.stringify(hparams));
}
