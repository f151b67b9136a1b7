/**
 * Training hparams (`egs/<set>/config/hparams.yaml`): the original's keys and the fork's, one
 * schema, a clear error for anything else. Test sets are any top-level mapping holding
 * `query_path` and `ref_path` (the fork's auto-discovery; the original's fixed names still work).
 *
 * @module
 */
import { HparamsError, parseYamlText, resolveHparams, type Schema } from "../io/hparams.ts";
import { readTextFile } from "../io/read_text.ts";

const LOSS_BLOCK = (what: string): Schema => ({
  output_dims: { type: "integer", default: 30000, min: 2, doc: `Number of classes of the ${what} classifier.` },
  weight: { type: "number", default: 1.0, min: 0, doc: "Weight of the focal loss in the total." },
  gamma: { type: "number", default: 2, min: 0, doc: "Focal loss gamma (0 = cross-entropy)." },
});

/** Schema of one test set (a top-level mapping with `query_path` and `ref_path`). */
export const TESTSET_SCHEMA: Schema = {
  query_path: { type: "string", required: true, doc: "Query lines (full.txt format)." },
  ref_path: {
    type: "string",
    required: true,
    doc: "Reference lines; equal to query_path = self-retrieval (diagonal excluded).",
  },
  every_n_epoch_to_dev: { type: "integer", min: 1, doc: "Evaluate every N epochs (original name)." },
  every_n_epoch_to_test: { type: "integer", min: 1, doc: "Evaluate every N epochs (fork name)." },
  save_name: { type: "string", doc: "Name used in logs and embedding folders instead of the key." },
  query_in_ref_path: { type: "string", doc: "JSON file listing (query, ref) index pairs to exclude." },
};

/** Schema of `egs/<set>/config/hparams.yaml` (test-set mappings are checked against TESTSET_SCHEMA). */
export const TRAIN_HPARAMS_SCHEMA: Schema = {
  // Data
  train_path: { type: "string", required: true, doc: "Training lines (full.txt or train.txt of extract)." },
  train_sample_path: { type: "string", doc: "Validation-loss lines, sampled with m=1 (original name of val_path)." },
  val_path: { type: "string", doc: "Validation-loss lines, sampled with m=1 (fork name)." },
  dev_path: {
    type: "string",
    doc: "Second validation-loss set, sampled with m_per_class (original name of test_path).",
  },
  test_path: { type: "string", doc: "Second validation-loss set, sampled with m_per_class (fork name)." },
  every_n_epoch_to_dev: {
    type: "integer",
    default: 1,
    min: 1,
    doc: "Validation and test-set evaluation every N epochs.",
  },
  every_n_epoch_to_test: {
    type: "integer",
    min: 1,
    doc: "Fork name of every_n_epoch_to_dev (wins when both are set).",
  },
  every_n_epoch_to_save: {
    type: "integer",
    default: 1,
    min: 1,
    doc: "Checkpoint every N epochs (the last epoch is always saved).",
  },
  data_type: {
    type: "string",
    default: "cqt",
    choices: ["cqt"],
    doc: "Feature type (only cqt exists; unused, kept for old configs).",
  },
  chunk_frame: {
    type: "integer[]",
    default: [1125, 900, 675],
    min: 8,
    doc: "Training chunk lengths in model frames (after mean_size averaging); one loader each, interleaved.",
  },
  chunk_s: {
    type: "number",
    default: 135,
    min: 1,
    doc: "Evaluation chunk length in seconds (= chunk_frame[0] * mean_size / 25).",
  },
  mode: {
    type: "string",
    default: "random",
    choices: ["random", "defined"],
    doc: "Training crop: random start, or the line's `start` (defined).",
  },
  mean_size: { type: "integer", default: 3, min: 1, doc: "Frames averaged into one model frame (`shorter`)." },
  m_per_class: {
    type: "integer",
    default: 8,
    min: 1,
    doc: "Recordings per work in a training batch (batch_size must be a multiple).",
  },
  cqt: {
    type: "object",
    doc: "CQT settings (the hop is fixed at 0.04 s).",
    keys: { hop_size: { type: "number", default: 0.04, min: 0.04, max: 0.04, doc: "CQT hop in seconds (fixed)." } },
  },
  spec_augmentation: {
    type: "object",
    doc: "SpecAug applied to each training chunk after averaging.",
    keys: {
      random_erase: {
        type: "object",
        doc: "Erase rectangles.",
        keys: {
          prob: { type: "number", default: 0.5, min: 0, max: 1, doc: "Probability per chunk." },
          erase_num: { type: "integer", default: 4, min: 0, doc: "Rectangles per chunk." },
          region_size: {
            type: "number[]",
            default: [0.25, 0.1],
            min: 0,
            max: 1,
            doc: "Rectangle size as fractions of (frames, bins).",
          },
          value: { type: "number", default: -80, max: 0, doc: "Erase value is U * value (original -80, fork -128)." },
        },
      },
      roll_pitch: {
        type: "object",
        doc: "Circular pitch roll.",
        keys: {
          prob: { type: "number", default: 0.5, min: 0, max: 1, doc: "Probability per chunk." },
          shift_num: { type: "integer", default: 12, min: 0, doc: "Roll by -shift_num, 0 or +shift_num bins." },
          method: {
            type: "string",
            default: "default",
            choices: ["default", "uniform"],
            doc:
              "`default`: roll by -shift_num, 0 or +shift_num (the original); `uniform`: any shift in [-shift_num, shift_num] (ours: random transpositions).",
          },
        },
      },
    },
  },
  // Training
  seed: {
    type: "integer",
    default: 1234,
    doc: "Seed of initialisation, sampling, cropping, augmentation and dropout.",
  },
  device: {
    type: "string",
    default: "auto",
    choices: ["auto", "webgpu", "cpu", "wasm", "mps", "cuda"],
    doc: "Backend (mps/cuda mean webgpu); --device overrides.",
  },
  num_workers: {
    type: "integer",
    default: 1,
    min: 0,
    doc: "Unused (features are held in memory); kept for old configs.",
  },
  num_gpus: { type: "integer", default: 1, min: 0, doc: "Unused; kept for old configs." },
  batch_size: { type: "integer", default: 32, min: 1, doc: "Chunks per step." },
  learning_rate: { type: "number", default: 0.001, min: 0, doc: "Initial learning rate." },
  optimizer: {
    type: "string",
    default: "adamw",
    choices: ["adamw"],
    doc: "Only AdamW (the fork's prodigy is not implemented).",
  },
  adam_b1: { type: "number", default: 0.8, min: 0, max: 1, doc: "AdamW beta1." },
  adam_b2: { type: "number", default: 0.99, min: 0, max: 1, doc: "AdamW beta2." },
  weight_decay: { type: "number", default: 0.01, min: 0, doc: "Decoupled weight decay (PyTorch's AdamW default)." },
  clip_grad_norm: { type: "number", default: 1.0, min: 0, doc: "Global gradient-norm clip (0 = off)." },
  lr_decay: { type: "number", default: 0.9975, min: 0, max: 1, doc: "LR multiplier every decay_steps steps." },
  decay_steps: {
    type: "integer",
    default: 1000,
    min: 1,
    doc: "Steps between LR decays (the original hard-codes 1000).",
  },
  min_lr: { type: "number", default: 0.0001, min: 0, doc: "LR floor." },
  warmup: { type: "boolean", default: false, doc: "Linear warmup from 0 (dead config in the original; works here)." },
  warmup_steps: { type: "integer", default: 20000, min: 0, doc: "Warmup length in steps." },
  hold_steps: { type: "integer", default: 0, min: 0, doc: "Steps before the LR starts to decay (fork)." },
  dropout: {
    type: "number",
    default: 0.1,
    min: 0,
    max: 0.9,
    doc: "Dropout of the Conformer blocks and positional encoding.",
  },
  max_epochs: { type: "integer", default: 100, min: 1, doc: "Stop after this many epochs." },
  early_stop_metric: {
    type: "string",
    default: "val_loss",
    choices: ["val_loss", "mAP"],
    doc: "What early stopping watches.",
  },
  early_stopping_patience: { type: "integer", default: 20, min: 1, doc: "Epochs without improvement before stopping." },
  map_stopping_testsets: { type: "string[]", doc: "Test sets whose mean mAP early stopping watches (default: all)." },
  map_smoothing_alpha: { type: "number", default: 0.3, min: 0, max: 1, doc: "EMA factor of the smoothed mAP." },
  log_every_steps: { type: "integer", default: 100, min: 1, doc: "Progress line and step scalars every N steps." },
  // Model
  input_dim: { type: "integer", default: 96, min: 1, doc: "CQT bins (must match the data's n_bins)." },
  embed_dim: { type: "integer", default: 128, min: 1, doc: "Embedding size." },
  encoder: {
    type: "object",
    doc: "Conformer encoder.",
    keys: {
      output_dims: { type: "integer", default: 128, min: 8, doc: "Model width (4 heads)." },
      num_blocks: { type: "integer", default: 6, min: 1, doc: "Conformer blocks." },
      attention_dim: { type: "integer", default: 256, min: 8, doc: "Feed-forward hidden size (the original's name)." },
    },
  },
  pool_type: {
    type: "string",
    default: "attention",
    choices: ["attention"],
    doc: "Pooling (always attentive statistics).",
  },
  ce: { type: "object", doc: "Focal loss and classifier (original name).", keys: LOSS_BLOCK("focal") },
  foc: { type: "object", doc: "Focal loss and classifier (fork name of ce).", keys: LOSS_BLOCK("focal") },
  triplet: {
    type: "object",
    doc: "Batch-hard triplet loss on the embedding.",
    keys: {
      margin: { type: "number", default: 0.3, min: 0, doc: "Margin." },
      weight: { type: "number", default: 0.1, min: 0, doc: "Weight in the total (applied when > 0.01)." },
    },
  },
  center: {
    type: "object",
    doc: "Center loss.",
    keys: { weight: { type: "number", default: 0.0, min: 0, doc: "Weight in the total (applied when > 0)." } },
  },
};

/** Resolved training hparams: the static keys plus the discovered test sets. */
export interface TrainHparams {
  /** Every static key, resolved (snake_case, as in the file). */
  hp: Readonly<Record<string, unknown>>;
  /** Test sets by key, each resolved against TESTSET_SCHEMA. */
  testSets: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

function isTestSet(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && "query_path" in v && "ref_path" in v;
}

/** Resolves parsed YAML into {@linkcode TrainHparams}. */
export function resolveTrainHparams(raw: unknown, source: string): TrainHparams {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new HparamsError(`${source}: top level must be a mapping of keys to values`);
  }
  const rest: Record<string, unknown> = {};
  const testSets: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (isTestSet(v) && !(k in TRAIN_HPARAMS_SCHEMA)) testSets[k] = resolveHparams(TESTSET_SCHEMA, v, source, `${k}.`);
    else rest[k] = v;
  }
  if (rest.ce !== undefined && rest.foc !== undefined) {
    throw new HparamsError(`${source}: set either 'ce' (original) or 'foc' (fork), not both`);
  }
  const hp = resolveHparams(TRAIN_HPARAMS_SCHEMA, rest, source);
  const batch = hp.batch_size as number, m = hp.m_per_class as number;
  if (batch % m !== 0) {
    throw new HparamsError(`${source}: 'batch_size' (${batch}) must be a multiple of 'm_per_class' (${m})`);
  }
  return { hp, testSets: Object.freeze(testSets) };
}

/** Reads and resolves a training hparams file. */
export async function loadTrainHparams(path: string): Promise<TrainHparams> {
  return resolveTrainHparams(parseYamlText(await readTextFile(path), path), path);
}
