/**
 * The data hparams (`data/<set>/hparams.yaml`) read by `extract`: the reference's keys and values,
 * plus `front_end`, `seed` and `device` handling for old configs (`mps`/`cuda` mean WebGPU).
 *
 * @module
 */
import { loadHparamsFile, type Schema } from "../io/hparams.ts";

/** Schema of `data/<set>/hparams.yaml`. */
export const DATA_HPARAMS_SCHEMA: Schema = {
  aug_speed_mode: {
    type: "number[]",
    default: [1.0],
    min: 0.5,
    max: 2,
    doc: "Tempo factors for speed augmentation (pitch kept, like `sox tempo`); 1.0 keeps the original.",
  },
  add_noise: {
    type: "object",
    doc: "Optional noise augmentation; runs only when `noise_path` exists. Noisy copies are added to full.txt.",
    keys: {
      prob: { type: "number", default: 0.75, min: 0, max: 1, doc: "Probability that each chunk gets noise." },
      sr: { type: "integer", default: 16000, min: 1, doc: "Sample rate the noise files are loaded at." },
      chunk: { type: "number", default: 3, min: 0.01, doc: "Chunk length in seconds for the on/off noise mask." },
      name: {
        type: "string",
        default: "cqt_with_asr_noise",
        doc: "Name used in noisy utt ids (`<utt>▁noise_<name>`).",
      },
      noise_path: { type: "string", required: true, doc: "JSON-lines file listing noise recordings (`wav` key)." },
    },
  },
  fmin: { type: "number", default: 32, min: 1, doc: "Lowest CQT bin centre in Hz." },
  n_bins: { type: "integer", default: 96, min: 1, max: 200, doc: "Number of CQT bins (the model's input_dim)." },
  bins_per_octave: { type: "integer", default: 12, min: 1, max: 48, doc: "CQT bins per octave." },
  front_end: {
    type: "string",
    default: "pycqt",
    choices: ["pycqt", "nnaudio"],
    doc: "CQT front end: `pycqt` (original CoverHunter features) or `nnaudio` (CoverHunterMPS-trained models).",
  },
  device: {
    type: "string",
    default: "auto",
    choices: ["auto", "webgpu", "cpu", "wasm", "mps", "cuda"],
    doc: "Where the CQT runs: auto = WebGPU when an adapter exists, else CPU; `mps`/`cuda` (old configs) mean webgpu.",
  },
  val_data_split: {
    type: "number",
    default: 0,
    min: 0,
    max: 0.9,
    doc: "Fraction of each seen work's recordings put in val.txt.",
  },
  val_unseen: { type: "number", default: 0, min: 0, max: 0.9, doc: "Fraction of works held out entirely for val.txt." },
  test_data_split: {
    type: "number",
    default: 0,
    min: 0,
    max: 0.9,
    doc: "Fraction of each seen work's recordings put in test.txt.",
  },
  test_data_unseen: {
    type: "number",
    default: 0,
    min: 0,
    max: 0.9,
    doc: "Fraction of works held out entirely for test.txt.",
  },
  seed: { type: "integer", default: 1, doc: "Seed of the train/val/test split and of noise augmentation." },
};

/** Data hparams, camelCase, as the extractor uses them. */
export interface DataConfig {
  speeds: number[];
  addNoise?: { prob: number; sr: number; chunkS: number; name: string; noisePath: string };
  fmin: number;
  nBins: number;
  binsPerOctave: number;
  frontEnd: "pycqt" | "nnaudio";
  device: "auto" | "webgpu" | "cpu" | "wasm";
  valDataSplit: number;
  valUnseen: number;
  testDataSplit: number;
  testDataUnseen: number;
  seed: number;
}

/** Maps resolved snake_case hparams onto a {@linkcode DataConfig}. */
export function toDataConfig(hp: Record<string, unknown>): DataConfig {
  const noise = hp.add_noise as Record<string, unknown> | undefined;
  const dev = hp.device as string;
  return {
    speeds: hp.aug_speed_mode as number[],
    ...(noise
      ? {
        addNoise: {
          prob: noise.prob as number,
          sr: noise.sr as number,
          chunkS: noise.chunk as number,
          name: noise.name as string,
          noisePath: noise.noise_path as string,
        },
      }
      : {}),
    fmin: hp.fmin as number,
    nBins: hp.n_bins as number,
    binsPerOctave: hp.bins_per_octave as number,
    frontEnd: hp.front_end as "pycqt" | "nnaudio",
    device: dev === "mps" || dev === "cuda" ? "webgpu" : dev as DataConfig["device"],
    valDataSplit: hp.val_data_split as number,
    valUnseen: hp.val_unseen as number,
    testDataSplit: hp.test_data_split as number,
    testDataUnseen: hp.test_data_unseen as number,
    seed: hp.seed as number,
  };
}

/** Reads `data/<set>/hparams.yaml`. */
export async function loadDataConfig(path: string): Promise<DataConfig> {
  return toDataConfig(await loadHparamsFile(path, DATA_HPARAMS_SCHEMA));
}
