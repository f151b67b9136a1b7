/**
 * The model's sizes, camelCase, and the one mapping from hparams (snake_case, the reference's key names) to
 * them. Spec §3.1-3.2: CQT bins in, a Conformer of `numBlocks` blocks of width `outputDims`, attentive
 * statistics pooling to `embedDim`, and a `numClasses` classifier head for training.
 *
 * @example
 * ```ts
 * import { modelConfigFromHparams } from "./config.ts";
 * const config = modelConfigFromHparams({
 *   input_dim: 96,
 *   embed_dim: 128,
 *   encoder: { output_dims: 128, num_blocks: 6, attention_dim: 256 },
 *   ce: { output_dims: 30000 },
 * });
 * console.log(config.numBlocks); // 6
 * ```
 *
 * @module
 */

/** Sizes of the CoverHunter model (the covers80 values in brackets). */
export interface ModelConfig {
  /** CQT bins per frame, the input width F [96]. */
  readonly inputDim: number;
  /** Embedding size produced by the pooling [128]. Must equal `outputDims` (see {@linkcode modelConfigFromHparams}). */
  readonly embedDim: number;
  /** Conformer width d_model (`encoder.output_dims`) [128]. */
  readonly outputDims: number;
  /** Number of Conformer blocks (`encoder.num_blocks`) [6]. */
  readonly numBlocks: number;
  /** Feed-forward hidden size (`encoder.attention_dim`, despite the name) [256]. */
  readonly attentionDim: number;
  /** Attention heads; d_k = outputDims / numHeads [4]. */
  readonly numHeads: number;
  /** Depthwise convolution kernel of the conv module, odd [15]. */
  readonly cnnKernel: number;
  /** Classes of the training head (`ce.output_dims` or `foc.output_dims`) [30000]. */
  readonly numClasses: number;
  /** Dropout probability of the blocks and the positional encoding [0.1]. */
  readonly dropout: number;
}

/** The covers80 model (spec §8.1): 9,910,976 parameters. */
export const COVERS80_MODEL_CONFIG: ModelConfig = Object.freeze({
  inputDim: 96,
  embedDim: 128,
  outputDims: 128,
  numBlocks: 6,
  attentionDim: 256,
  numHeads: 4,
  cnnKernel: 15,
  numClasses: 30000,
  dropout: 0.1,
});

function record(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new TypeError(`model hparams: '${where}' must be a mapping, got ${JSON.stringify(v)}`);
  }
  return v as Record<string, unknown>;
}

function integer(obj: Record<string, unknown>, key: string, where: string, fallback?: number): number {
  const v = obj[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(`model hparams: '${where}${key}' must be an integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Checks the invariants the model code relies on.
 *
 * @throws {RangeError} naming the first size that does not fit
 */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  const c = config;
  for (
    const k of ["inputDim", "embedDim", "outputDims", "numBlocks", "attentionDim", "numHeads", "numClasses"] as const
  ) {
    if (!Number.isInteger(c[k]) || c[k] < 1) {
      throw new RangeError(`model config: '${k}' must be a positive integer, got ${c[k]}`);
    }
  }
  // Conv2dSubsampling4 leaves ((F - 1) // 2 - 1) // 2 frequency columns; at least one is needed.
  if (Math.floor((Math.floor((c.inputDim - 1) / 2) - 1) / 2) < 1) {
    throw new RangeError(
      `model config: 'inputDim' must be at least 7 for two 3x3 stride-2 convolutions, got ${c.inputDim}`,
    );
  }
  if (c.outputDims % c.numHeads !== 0) {
    throw new RangeError(
      `model config: 'outputDims' (${c.outputDims}) must be a multiple of 'numHeads' (${c.numHeads})`,
    );
  }
  if (!Number.isInteger(c.cnnKernel) || c.cnnKernel < 1 || c.cnnKernel % 2 === 0) {
    throw new RangeError(`model config: 'cnnKernel' must be a positive odd integer, got ${c.cnnKernel}`);
  }
  if (c.embedDim !== c.outputDims) {
    throw new RangeError(
      `model config: 'embed_dim' (${c.embedDim}) must equal 'encoder.output_dims' (${c.outputDims}): the original ` +
        `builds an unused '_embed_lo' projection for that case and crashes, and the fork's layout is not supported`,
    );
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) {
    throw new RangeError(`model config: 'dropout' must be within [0, 1), got ${c.dropout}`);
  }
  return c;
}

/**
 * Builds a {@linkcode ModelConfig} from hparams (a parsed `hparams.yaml`, raw or resolved): `input_dim`,
 * `embed_dim`, `encoder.{output_dims, num_blocks, attention_dim}`, the class count from `ce.output_dims`
 * (original) or `foc.output_dims` (fork), and `dropout` when present (default 0.1). Heads (4) and the conv
 * kernel (15) are fixed by the reference code.
 *
 * @param hp hparams object (snake_case keys, as in the file)
 * @returns the validated, frozen config
 * @throws {TypeError} when a key is missing or has the wrong type
 * @throws {RangeError} when sizes are inconsistent, or `ce` and `foc` disagree
 */
export function modelConfigFromHparams(hp: Readonly<Record<string, unknown>>): ModelConfig {
  const encoder = record(hp.encoder, "encoder");
  const heads: number[] = [];
  for (const key of ["ce", "foc"]) {
    if (hp[key] !== undefined && hp[key] !== null) heads.push(integer(record(hp[key], key), "output_dims", `${key}.`));
  }
  if (heads.length === 0) {
    throw new TypeError("model hparams: the class count needs 'ce.output_dims' (original) or 'foc.output_dims' (fork)");
  }
  if (heads.length === 2 && heads[0] !== heads[1]) {
    throw new RangeError(`model hparams: 'ce.output_dims' (${heads[0]}) and 'foc.output_dims' (${heads[1]}) differ`);
  }
  const dropout = hp.dropout ?? COVERS80_MODEL_CONFIG.dropout;
  if (typeof dropout !== "number") {
    throw new TypeError(`model hparams: 'dropout' must be a number, got ${JSON.stringify(dropout)}`);
  }
  return Object.freeze(validateModelConfig({
    inputDim: integer(hp, "input_dim", ""),
    embedDim: integer(hp, "embed_dim", ""),
    outputDims: integer(encoder, "output_dims", "encoder."),
    numBlocks: integer(encoder, "num_blocks", "encoder."),
    attentionDim: integer(encoder, "attention_dim", "encoder."),
    numHeads: COVERS80_MODEL_CONFIG.numHeads,
    cnnKernel: COVERS80_MODEL_CONFIG.cnnKernel,
    numClasses: heads[0]!,
    dropout,
  }));
}
