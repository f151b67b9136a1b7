/**
 * Writes the synthetic demo data set: `works x versions` recordings rendered by `synth.ts` as 16 kHz mono
 * 16-bit wav files, the `dataset.txt` that feature extraction reads, and a commented data `hparams.yaml`.
 * Everything is a function of `(seed, work, version)`, so the same options always give the same files.
 *
 * @example
 * ```ts ignore
 * import { writeSynthDataset } from "./synth_dataset.ts";
 *
 * const { entries } = await writeSynthDataset("data/demo", { works: 8, versions: 4, seconds: 30, seed: 1 });
 * console.log(entries[0]!.utt); // "synth_w000_v0"
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { encodeWav } from "../audio/wav.ts";
import { writeFileAtomic, writeTextFileAtomic } from "../io/atomic.ts";
import { createPrng } from "./prng.ts";
import { composeWork, planVersion, renderPlan } from "./synth.ts";

/** Sampling rate of the written wav files. */
export const SYNTH_SAMPLE_RATE_HZ = 16000;

/** Options of {@linkcode writeSynthDataset}. */
export interface SynthDatasetOptions {
  /** Number of works (compositions). @default 12 */
  works?: number;
  /** Versions per work; version 0 is the "original". @default 4 */
  versions?: number;
  /** Length of every recording in seconds. @default 30 */
  seconds?: number;
  /** Seed of the whole set (an unsigned 32-bit integer). @default 1 */
  seed?: number;
}

/** One line of `dataset.txt` (the reference's keys). */
export interface SynthDatasetEntry {
  /** Recording id, e.g. `synth_w003_v1`. */
  utt: string;
  /** Path of the wav: `dir` joined with `wav/<utt>.wav`. */
  wav: string;
  /** Duration in seconds. */
  dur_s: number;
  /** Work name, e.g. `work_003`: the class identity. */
  song: string;
  /** Human description of the version. */
  version: string;
}

/**
 * Called after each recording is written.
 *
 * @param done recordings written so far
 * @param total recordings in the set
 * @param entry the `dataset.txt` entry just written
 */
export type SynthProgress = (done: number, total: number, entry: SynthDatasetEntry) => void;

/** What {@linkcode writeSynthDataset} wrote. */
export interface SynthDatasetResult {
  /** The lines of `dataset.txt`, in order. */
  entries: SynthDatasetEntry[];
  /** Every file written: the wavs, then `dataset.txt` and `hparams.yaml`. */
  files: string[];
  /** Total audio length in seconds. */
  totalSeconds: number;
}

/** The demo's data hparams, one comment per key. */
const HPARAMS_YAML =
  `# Data hparams of the synthetic demo set written by \`deno task synth\` (lib/data/synth_dataset.ts).
# Feature extraction reads this file together with dataset.txt from the same folder.

# Tempo factors for speed augmentation (time-stretch, pitch kept); every recording is extracted once per factor.
aug_speed_mode: [0.9, 1.0, 1.1]
# Centre frequency in Hz of the lowest CQT bin (about C1).
fmin: 32
# Number of CQT bins: 8 octaves of 12 bins, the model's input width.
n_bins: 96
# CQT bins per octave: one per semitone.
bins_per_octave: 12
# Where the CQT runs: auto picks WebGPU when an adapter exists, else the CPU.
device: auto
# Fraction of each seen work's recordings held out for validation.
val_data_split: 0.1
# Fraction of works held out entirely for validation (never seen in training).
val_unseen: 0.1
# Fraction of each seen work's recordings held out for testing.
test_data_split: 0.1
# Fraction of works held out entirely for testing (never seen in training).
test_data_unseen: 0.1
`;

/** A 32-bit seed for stream `stream` of work `work` under the set seed `seed` (integer hash, well mixed). */
function seedFor(seed: number, work: number, stream: number): number {
  let h = Math.imul(seed ^ 0x3c6ef372, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ Math.imul(work + 1, 0x9e3779b1), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ Math.imul(stream + 1, 0x27d4eb2f), 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

function checkCount(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(
      `Cannot write synth set as '${name}' must be an integer in [1, ${max}]: current value is ${value}`,
    );
  }
}

/** The JSON line of an entry, in the reference's key order, with `dur_s` written with 2 decimals. */
function entryLine(e: SynthDatasetEntry): string {
  return `{"utt": ${JSON.stringify(e.utt)}, "wav": ${JSON.stringify(e.wav)}, "dur_s": ${e.dur_s.toFixed(2)}, ` +
    `"song": ${JSON.stringify(e.song)}, "version": ${JSON.stringify(e.version)}}`;
}

/**
 * Renders and writes the set: `dir/wav/<utt>.wav`, `dir/dataset.txt` (one JSON object per line) and
 * `dir/hparams.yaml`. Every write is atomic; existing files are overwritten.
 *
 * @param dir output folder (created if needed); the `wav` paths in `dataset.txt` start with it
 * @param options set size, length and seed
 * @param onProgress called after each recording
 * @returns the entries, the files written and the total audio length
 * @throws {RangeError} if a count is not a positive integer, `seconds` is not in (0, 3600] or `seed` is not
 * an unsigned 32-bit integer
 */
export async function writeSynthDataset(
  dir: string,
  options: SynthDatasetOptions = {},
  onProgress?: SynthProgress,
): Promise<SynthDatasetResult> {
  const { works = 12, versions = 4, seconds = 30, seed = 1 } = options;
  checkCount("works", works, 10000);
  checkCount("versions", versions, 100);
  if (!(seconds > 0 && seconds <= 3600)) {
    throw new RangeError(`Cannot write synth set as 'seconds' must be in (0, 3600]: current value is ${seconds}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(
      `Cannot write synth set as 'seed' must be an integer in [0, 4294967295]: current value is ${seed}`,
    );
  }
  const sr = SYNTH_SAMPLE_RATE_HZ;
  const entries: SynthDatasetEntry[] = [];
  const files: string[] = [];
  let totalSeconds = 0;
  const total = works * versions;
  for (let w = 0; w < works; w++) {
    const work = composeWork(createPrng(seedFor(seed, w, 0)), w);
    for (let v = 0; v < versions; v++) {
      const plan = planVersion(work, createPrng(seedFor(seed, w, v + 1)), v, { seconds });
      const samples = renderPlan(work, plan, { seconds, sampleRateHz: sr });
      const utt = `synth_w${String(w).padStart(3, "0")}_v${v}`;
      const wav = join(dir, "wav", `${utt}.wav`);
      await writeFileAtomic(wav, encodeWav([samples], sr));
      const durS = samples.length / sr;
      const entry = { utt, wav, dur_s: Math.round(durS * 100) / 100, song: work.name, version: plan.description };
      entries.push(entry);
      files.push(wav);
      totalSeconds += durS;
      onProgress?.(entries.length, total, entry);
    }
  }
  const datasetPath = join(dir, "dataset.txt");
  await writeTextFileAtomic(datasetPath, entries.map(entryLine).join("\n") + "\n");
  const hparamsPath = join(dir, "hparams.yaml");
  await writeTextFileAtomic(hparamsPath, HPARAMS_YAML);
  files.push(datasetPath, hparamsPath);
  return { entries, files, totalSeconds };
}
