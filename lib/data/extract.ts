/**
 * Feature extraction for a data folder (`deno task extract data/<set>`): the reference's stages
 * with the fork's fixes and ours. Reads `hparams.yaml` and `dataset.txt`; writes `data.init.txt`,
 * `sp_aug.txt`, `cqt_feat/<utt>.cqt.npy`, `full.txt`, `song_id.map`, `song_id_num.map` and, when
 * split fractions are set, `train.txt`, `val.txt`, `test.txt`, `test-only-song-ids.txt`.
 * Every file is written atomically; existing feature files are reused, so a killed run resumes.
 *
 * @module
 */
import { join } from "node:path";
import { type DataConfig, loadDataConfig } from "./data_hparams.ts";
import { type DatasetEntry, parseDataset, sortAndDedup } from "./dataset.ts";
import type { ExtractJob, JobResult, VariantSpec } from "./extract_job.ts";
import { type Line, readLines, writeLines } from "../io/lines.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import { assignSongIds, formatSongCounts, formatSongIdMap, parseSongIdMap } from "./song_ids.ts";
import { splitByWork } from "./split.ts";
import { createPrng } from "./prng.ts";
import type { LineError } from "../io/lines.ts";
import { readTextFile } from "../io/read_text.ts";

/** The separator the reference uses in derived ids (U+2581). */
export const RARE_DELIMITER = "\u2581";

/** Progress of the feature stage. */
export interface ExtractProgress {
  /** Source recordings finished (ok or failed). */
  done: number;
  /** Source recordings in total. */
  total: number;
  /** Seconds of source audio decoded so far. */
  audioS: number;
  /** Failures so far. */
  failed: number;
  /** Last finished utt. */
  utt: string;
}

/** Runs jobs; `extractFeatures` gets one from the caller so tasks choose workers or the GPU. */
export interface JobRunner {
  /** Runs every job, calling `onResult` as each finishes (any order). */
  run(jobs: ExtractJob[], onResult: (r: JobResult) => void): Promise<void>;
  /** Releases workers or devices. */
  close(): Promise<void> | void;
}

/** Options of {@linkcode extractFeatures}. */
export interface ExtractOptions {
  /** Runs the jobs (decode + tempo + CQT); see `createJobRunner`. */
  runner: JobRunner;
  /** Data hparams; read from `<dataDir>/hparams.yaml` when absent. */
  config?: DataConfig;
  /** Progress callback, once per finished recording. */
  onProgress?: (p: ExtractProgress) => void;
  /** Informational messages (stage starts, warnings). */
  log?: (message: string) => void;
}

/** One failed recording or line. */
export interface ExtractFailure {
  /** `dataset.txt:<line>` of the recording. */
  where: string;
  /** What went wrong. */
  message: string;
}

/** What `extract` did. */
export interface ExtractSummary {
  /** Recordings in dataset.txt after de-duplication. */
  recordings: number;
  /** Feature files listed in full.txt. */
  features: number;
  /** Feature files computed in this run. */
  computed: number;
  /** Feature files reused from an earlier run. */
  reused: number;
  /** Seconds of source audio decoded in this run. */
  audioS: number;
  /** Seconds of audio (all variants) run through the CQT in this run. */
  computedAudioS: number;
  /** Duplicate utt lines dropped. */
  duplicates: string[];
  /** Bad lines and failed recordings. */
  failures: ExtractFailure[];
  /** Wall time in seconds. */
  timeS: number;
  /** Number of works. */
  songs: number;
  /** Lines per split file written (empty when no split is configured). */
  splits: Record<string, number>;
}

/** Formats a speed factor as Python's `str(float)` does for these values (0.8 -> "0.8", 1 -> "1.0"). */
export function formatSpeed(k: number): string {
  return Number.isInteger(k) ? k.toFixed(1) : String(k);
}

/** The utt id of a speed variant: the source id for speeds within 0.01 of 1, else `sp_<k>-<utt>`. */
export function speedUtt(utt: string, k: number): string {
  return Math.abs(k - 1) <= 0.01 ? utt : `sp_${formatSpeed(k)}-${utt}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readNoiseList(path: string): Promise<string[]> {
  const lines = await readLines(path);
  const wavs = lines.map((l, i) => {
    if (typeof l.wav !== "string") throw new Error(`${path}:${i + 1}: noise line without a 'wav' path`);
    return l.wav;
  });
  if (wavs.length === 0) throw new Error(`${path}: no noise recordings listed`);
  return wavs;
}

/** Extracts features for `dataDir` (see the module doc). Never throws for a bad recording or line. */
export async function extractFeatures(dataDir: string, options: ExtractOptions): Promise<ExtractSummary> {
  const t0 = performance.now();
  const log = options.log ?? (() => {});
  const cfg = options.config ?? await loadDataConfig(join(dataDir, "hparams.yaml"));
  const datasetPath = join(dataDir, "dataset.txt");
  const text = await readTextFile(datasetPath);
  await writeTextFileAtomic(join(dataDir, "data.init.txt"), text);
  const { entries, errors } = parseDataset(text, datasetPath);
  const failures: ExtractFailure[] = errors.map((e: LineError) => ({
    where: `${e.path}:${e.lineNo}`,
    message: e.reason,
  }));
  const { kept, duplicates } = sortAndDedup(entries);
  for (const d of duplicates) log(`warning: ${datasetPath}:${d.lineNo}: duplicate utt '${d.utt}' dropped`);

  // Stage 3: speed (and noise) variants, one job per source recording.
  let noiseWavs: string[] | undefined;
  if (cfg.addNoise) {
    if (await exists(cfg.addNoise.noisePath)) {
      noiseWavs = await readNoiseList(cfg.addNoise.noisePath);
      log(`noise augmentation: ${noiseWavs.length} noise recordings from ${cfg.addNoise.noisePath}`);
    } else log(`noise augmentation skipped: ${cfg.addNoise.noisePath} does not exist`);
  }
  const featDir = join(dataDir, "cqt_feat");
  await Deno.mkdir(featDir, { recursive: true });
  const spLines: Line[] = [];
  const variantLines = new Map<string, Line>();
  const byUtt = new Map<string, DatasetEntry>();
  const jobs: ExtractJob[] = kept.map((e) => {
    byUtt.set(e.utt, e);
    const variants: VariantSpec[] = [];
    for (const k of cfg.speeds) {
      const utt = speedUtt(e.utt, k);
      const forms = noiseWavs ? [utt, `${utt}${RARE_DELIMITER}noise_${cfg.addNoise!.name}`] : [utt];
      for (const u of forms) {
        if (variants.some((v) => v.utt === u)) continue;
        variants.push({ utt: u, speed: k, noise: u !== utt, featPath: join(featDir, `${u}.cqt.npy`) });
        const { perf: _p, work: _w, ...rest } = e.raw;
        const line: Line = { ...rest, utt: u, song: e.song, wav: e.wav };
        if (e.durS !== undefined) line.dur_s = Math.round((e.durS / k) * 100) / 100;
        if (u !== e.utt) Object.assign(line, { speed: k, source_utt: e.utt });
        variantLines.set(u, line);
        spLines.push(line);
      }
    }
    return {
      sourceUtt: e.utt,
      wav: e.wav,
      variants,
      seed: cfg.seed,
      ...(noiseWavs
        ? { noiseWavs, noise: { prob: cfg.addNoise!.prob, sr: cfg.addNoise!.sr, chunkS: cfg.addNoise!.chunkS } }
        : {}),
    };
  });
  if (spLines.length > 0) await writeLines(join(dataDir, "sp_aug.txt"), spLines);

  // Stage 4 (+5): features.
  log(`features: ${kept.length} recordings, ${spLines.length} feature files (speeds ${cfg.speeds.join(", ")})`);
  const full: Line[] = [];
  let computed = 0, reused = 0, audioS = 0, computedAudioS = 0, done = 0;
  const results = new Map<string, JobResult>();
  await options.runner.run(jobs, (r) => {
    results.set(r.sourceUtt, r);
    done++;
    const e = byUtt.get(r.sourceUtt)!;
    if (r.ok) {
      audioS += r.audioS;
      computedAudioS += r.computedS;
      for (const v of r.variants) v.reused ? reused++ : computed++;
    } else failures.push({ where: `${datasetPath}:${e.lineNo}`, message: r.error });
    options.onProgress?.({ done, total: jobs.length, audioS, failed: failures.length, utt: r.sourceUtt });
  });
  for (const job of jobs) {
    const r = results.get(job.sourceUtt);
    if (!r?.ok) continue;
    for (const v of r.variants) {
      const line = { ...variantLines.get(v.utt)! };
      if (line.dur_s === undefined) line.dur_s = Math.round(v.featLen * 640 / 16000 * 100) / 100;
      line.feat = join(featDir, `${v.utt}.cqt.npy`);
      line.feat_len = v.featLen;
      full.push(line);
    }
  }

  // Stages 8-11: ids, maps, order.
  const summary: ExtractSummary = {
    recordings: kept.length,
    features: 0,
    computed,
    reused,
    audioS,
    computedAudioS,
    duplicates: duplicates.map((d) => d.utt),
    failures,
    timeS: 0,
    songs: 0,
    splits: {},
  };
  const errorsPath = join(dataDir, "extract_errors.txt");
  if (failures.length > 0) {
    await writeTextFileAtomic(errorsPath, failures.map((f) => `${f.where}: ${f.message}`).join("\n") + "\n");
  } else await Deno.remove(errorsPath).catch(() => {});
  if (full.length === 0) {
    summary.timeS = (performance.now() - t0) / 1000;
    return summary;
  }
  const mapPath = join(dataDir, "song_id.map");
  const known = await exists(mapPath) ? parseSongIdMap(await Deno.readTextFile(mapPath), mapPath) : new Map();
  const { lines, songIds } = assignSongIds(full, known);
  await writeTextFileAtomic(mapPath, formatSongIdMap(songIds));
  await writeTextFileAtomic(join(dataDir, "song_id_num.map"), formatSongCounts(lines));
  await writeLines(join(dataDir, "full.txt"), lines);
  summary.features = lines.length;
  summary.songs = new Set(lines.map((l) => l.song_id)).size;

  // Stage 13: split by work, variants of one recording kept together.
  const splitNames = ["train.txt", "val.txt", "test.txt", "test-only-song-ids.txt", "val-only-song-ids.txt"];
  for (const f of splitNames) await Deno.remove(join(dataDir, f)).catch(() => {});
  if (cfg.valDataSplit > 0 || cfg.valUnseen > 0 || cfg.testDataSplit > 0 || cfg.testDataUnseen > 0) {
    const split = splitByWork(lines, cfg, createPrng(cfg.seed));
    const files: [string, Line[]][] = [["train.txt", split.train], ["val.txt", split.val], ["test.txt", split.test]];
    for (const [name, part] of files) {
      if (part.length === 0) continue;
      await writeLines(join(dataDir, name), part);
      summary.splits[name] = part.length;
    }
    for (
      const [name, ids] of [["test-only-song-ids.txt", split.testOnlySongIds], [
        "val-only-song-ids.txt",
        split.valOnlySongIds,
      ]] as const
    ) {
      if (ids.length > 0) await writeTextFileAtomic(join(dataDir, name), ids.join("\n") + "\n");
    }
  }
  summary.timeS = (performance.now() - t0) / 1000;
  return summary;
}
