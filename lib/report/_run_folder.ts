/**
 * What a run or model folder holds, for the report: the hparams' test sets, the TensorBoard runs, the saved
 * embeddings. Lenient by design: the report shows what exists, so unreadable parts become notes, not errors.
 *
 * @module
 */
import { join } from "node:path";
import { parseYamlText } from "../io/hparams.ts";
import { readTextFile } from "../io/read_text.ts";
import { readEvents, type ScalarEvent } from "../io/tensorboard.ts";
import type { RunEvents } from "./curves.ts";

/** A test set named in the training hparams. */
export interface TestSetPaths {
  /** Name in logs and embedding folders (`save_name`, else the key). */
  label: string;
  /** Query lines. */
  queryPath: string;
  /** Reference lines. */
  refPath: string;
  /** Excluded (query, ref) pairs, when set. */
  queryInRefPath: string | null;
}

/** A saved `embed_<epoch>_<set>/` folder. */
export interface EmbedDir {
  /** Epoch. */
  epoch: number;
  /** Test-set label. */
  set: string;
  /** The folder. */
  path: string;
}

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

async function listDir(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The folder's training hparams: `config/hparams.yaml` (ours, the original's), `checkpoints/hparams.json` (the
 * copy our trainer keeps) or `hparams.yaml` (a plain model folder), the first that exists.
 *
 * @returns the path, or null
 */
export async function findHparamsFile(dir: string): Promise<string | null> {
  for (
    const p of [
      join(dir, "config", "hparams.yaml"),
      join(dir, "checkpoints", "hparams.json"),
      join(dir, "hparams.yaml"),
    ]
  ) {
    if (await isFile(p)) return p;
  }
  return null;
}

/**
 * The test sets of an hparams file: every top-level mapping with string `query_path` and `ref_path`, in file
 * order (as the trainer discovers them).
 *
 * @param path the hparams file (YAML or JSON)
 * @throws {HparamsError} on invalid YAML, or when the file cannot be read
 */
export async function readTestSets(path: string): Promise<TestSetPaths[]> {
  const raw = parseYamlText(await readTextFile(path), path);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return [];
  const out: TestSetPaths[] = [];
  for (const [key, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
    const s = v as Record<string, unknown>;
    if (typeof s.query_path !== "string" || typeof s.ref_path !== "string") continue;
    out.push({
      label: typeof s.save_name === "string" ? s.save_name : key,
      queryPath: s.query_path,
      refPath: s.ref_path,
      queryInRefPath: typeof s.query_in_ref_path === "string" ? s.query_in_ref_path : null,
    });
  }
  return out;
}

/**
 * Reads every `logs/<runid>/events.out.tfevents.*`, one entry per run folder that has scalars, ordered by the
 * run's first wall time (so that later runs win when series are merged). A file that fails to read is skipped
 * and described in `notes`; a cut-short last record (a trainer still writing) is ignored.
 *
 * @param logsDir the `logs/` folder
 * @param notes receives one line per skipped file
 */
export async function readRuns(logsDir: string, notes: string[]): Promise<RunEvents[]> {
  const runs: { run: string; events: ScalarEvent[]; first: number }[] = [];
  for (const d of await listDir(logsDir)) {
    if (!d.isDirectory) continue;
    const events: ScalarEvent[] = [];
    for (const f of await listDir(join(logsDir, d.name))) {
      if (!f.isFile || !f.name.startsWith("events.out.tfevents.")) continue;
      const path = join(logsDir, d.name, f.name);
      try {
        events.push(...await readEvents(path, { allowTruncatedTail: true }));
      } catch (e) {
        notes.push(`skipped ${path}: ${(e as Error).message}`);
      }
    }
    if (events.length === 0) continue;
    const first = events.reduce((m, e) => Math.min(m, e.wallTime), Infinity);
    runs.push({ run: d.name, events, first });
  }
  return runs.sort((a, b) => a.first - b.first).map(({ run, events }) => ({ run, events }));
}

/**
 * The `embed_<epoch>_<set>/` folders holding `embeddings.npy` and `tracks.txt`, by set then epoch.
 *
 * @param dir the run folder
 */
export async function listEmbedDirs(dir: string): Promise<EmbedDir[]> {
  const out: EmbedDir[] = [];
  for (const e of await listDir(dir)) {
    const m = /^embed_(\d+)_(.+)$/.exec(e.name);
    if (!e.isDirectory || !m) continue;
    const path = join(dir, e.name);
    if (!(await isFile(join(path, "embeddings.npy"))) || !(await isFile(join(path, "tracks.txt")))) continue;
    out.push({ epoch: Number(m[1]), set: m[2]!, path });
  }
  return out.sort((a, b) => (a.set < b.set ? -1 : a.set > b.set ? 1 : a.epoch - b.epoch));
}
