/**
 * `dataset.txt` entries: the input of feature extraction. Accepts the original keys (`utt`, `song`)
 * and the fork's (`perf`, `work`) and reports every problem with its file and line.
 *
 * @module
 */
import { type Line, LineError, parseLines } from "../io/lines.ts";

/** One recording of `dataset.txt`. */
export interface DatasetEntry {
  /** Unique recording id (`perf` in CoverHunterMPS files). */
  utt: string;
  /** Audio file path (relative paths are relative to the working directory, as in the reference). */
  wav: string;
  /** Duration in seconds (from `dur_s`, or `dur_ms`/1000); measured from the audio when absent. */
  durS?: number;
  /** Composition name: the class identity (`work` in CoverHunterMPS files). */
  song: string;
  /** Free text (unused by the model). */
  version?: string;
  /** The line as read, so unknown-but-harmless keys survive into `full.txt`. */
  raw: Line;
  /** 1-based line number in the source file. */
  lineNo: number;
}

/** Keys a `dataset.txt` line may hold. */
export const DATASET_KEYS = ["utt", "perf", "wav", "dur_s", "dur_ms", "song", "work", "version"] as const;

/** Keys written by extraction that may appear when a `full.txt` is fed back in. */
const DERIVED_KEYS = ["feat", "feat_len", "song_id", "work_id", "version_id", "speed", "source_utt", "noise"];

/** Validates one parsed line into an entry; throws a LineError naming what is wrong. */
export function toDatasetEntry(line: Line, path: string, lineNo: number): DatasetEntry {
  const unknown = Object.keys(line).filter((k) =>
    !(DATASET_KEYS as readonly string[]).includes(k) && !DERIVED_KEYS.includes(k)
  );
  if (unknown.length > 0) {
    throw new LineError(path, lineNo, `unknown key(s) ${unknown.join(", ")}; valid keys: ${DATASET_KEYS.join(", ")}`);
  }
  const str = (k: string): string | undefined => {
    const v = line[k];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v.length === 0) throw new LineError(path, lineNo, `'${k}' must be a non-empty string`);
    return v;
  };
  const utt = str("utt") ?? str("perf");
  const song = str("song") ?? str("work");
  const wav = str("wav");
  if (utt === undefined) throw new LineError(path, lineNo, "missing 'utt' (or 'perf')");
  if (song === undefined) throw new LineError(path, lineNo, "missing 'song' (or 'work')");
  if (wav === undefined) throw new LineError(path, lineNo, "missing 'wav'");
  let durS: number | undefined;
  for (const [k, scale] of [["dur_s", 1], ["dur_ms", 1000]] as const) {
    const v = line[k];
    if (v === undefined || durS !== undefined) continue;
    const n = typeof v === "string" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
      throw new LineError(path, lineNo, `'${k}' must be a non-negative number, got ${JSON.stringify(v)}`);
    }
    durS = n / scale;
  }
  const version = line.version === undefined ? undefined : String(line.version);
  return {
    utt,
    wav,
    song,
    raw: line,
    lineNo,
    ...(durS === undefined ? {} : { durS }),
    ...(version === undefined ? {} : { version }),
  };
}

/** Result of reading a dataset file: good entries plus one error per bad line. */
export interface DatasetRead {
  entries: DatasetEntry[];
  errors: LineError[];
}

/** Parses `dataset.txt` text, keeping going past bad lines. */
export function parseDataset(text: string, path: string): DatasetRead {
  const entries: DatasetEntry[] = [];
  const errors: LineError[] = [];
  for (const p of parseLines(text, path)) {
    if (p.error) {
      errors.push(p.error);
      continue;
    }
    try {
      entries.push(toDatasetEntry(p.line!, path, p.lineNo));
    } catch (e) {
      if (e instanceof LineError) errors.push(e);
      else throw e;
    }
  }
  return { entries, errors };
}

/**
 * Stage 0 of the reference: sort by `utt` (code-unit order, as Python sorts str) and keep the first
 * line of each `utt`. Returns the kept entries and the dropped duplicates.
 */
export function sortAndDedup(entries: DatasetEntry[]): { kept: DatasetEntry[]; duplicates: DatasetEntry[] } {
  const sorted = [...entries].sort((a, b) => (a.utt < b.utt ? -1 : a.utt > b.utt ? 1 : a.lineNo - b.lineNo));
  const kept: DatasetEntry[] = [];
  const duplicates: DatasetEntry[] = [];
  for (const e of sorted) {
    if (kept.length > 0 && kept[kept.length - 1]!.utt === e.utt) duplicates.push(e);
    else kept.push(e);
  }
  return { kept, duplicates };
}
