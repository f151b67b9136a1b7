/**
 * Exports of an index for other engines (docs/formats.md):
 * - `embeddings.npy` (float32 `(chunks, dim)`, unit rows: inner product = cosine similarity) + `chunks.jsonl` (one
 *   JSON line per row: `row`, `utt`, `song`, `song_id`/`work_id`, `start_s`), loadable by numpy, FAISS and the like;
 * - SQL for PostgreSQL with the pgvector extension: one table `coverhunter_chunks`, one row per chunk, searched
 *   exactly with the cosine-distance operator `<=>` (the same SQL runs in the embedded PGlite and on a server).
 *
 * @module
 */
import { join } from "node:path";
import { encodeNpy } from "../io/npy.ts";
import { writeFileAtomic, writeTextFileAtomic } from "../io/atomic.ts";
import { normalizeRows } from "./exact.ts";
import type { LoadedIndex } from "./index_file.ts";

/** The table the SQL export creates. */
export const SQL_TABLE = "coverhunter_chunks";

interface ChunkRow {
  row: number;
  utt: string;
  song: string | null;
  label: number | null;
  start_s: number;
}

function chunkRows(index: LoadedIndex): ChunkRow[] {
  const rows: ChunkRow[] = [];
  index.tracks.forEach((t, i) => {
    for (let c = 0; c < t.chunks; c++) {
      const label = t.song_id ?? t.work_id;
      rows.push({
        row: index.offsets[i]! + c,
        utt: t.utt,
        song: typeof t.song === "string" ? t.song : typeof t.work === "string" ? t.work : null,
        label: typeof label === "number" ? label : null,
        start_s: t.start_s[c] ?? 0,
      });
    }
  });
  return rows;
}

/**
 * Writes `dir/embeddings.npy` and `dir/chunks.jsonl` (atomically).
 *
 * @param index a loaded index
 * @param dir output folder (created)
 */
export async function writeIndexNpy(index: LoadedIndex, dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const dim = index.header.dim;
  const unit = normalizeRows(index.embeddings, dim);
  await writeFileAtomic(join(dir, "embeddings.npy"), encodeNpy({ data: unit, shape: [unit.length / dim, dim] }));
  const key = index.tracks.some((t) => t.song_id === undefined && t.work_id !== undefined) ? "work_id" : "song_id";
  const text = chunkRows(index)
    .map((r) => JSON.stringify({ row: r.row, utt: r.utt, song: r.song, [key]: r.label, start_s: r.start_s }))
    .join("\n");
  await writeTextFileAtomic(join(dir, "chunks.jsonl"), text + "\n");
}

function sqlString(s: string | null): string {
  return s === null ? "NULL" : `'${s.replaceAll("'", "''")}'`;
}

/** A pgvector literal of a vector (`'[x,y,...]'`, shortest round-trip float32 digits). */
export function vectorLiteral(v: Float32Array): string {
  return `'[${Array.from(v, (x) => String(Math.fround(x))).join(",")}]'`;
}

/**
 * The SQL text: extension, table, rows (in batches of 500 per INSERT) and an example query in a comment.
 *
 * @param index a loaded index
 * @returns SQL for PostgreSQL ≥ 13 with pgvector ≥ 0.5
 */
export function indexSql(index: LoadedIndex): string {
  const dim = index.header.dim;
  const unit = normalizeRows(index.embeddings, dim);
  const rows = chunkRows(index);
  const out = [
    `-- CoverHunter-TS index export: ${rows.length} chunks of ${index.tracks.length} tracks, model ` +
    `${index.header.model.fingerprint} (${index.header.model.source}), ${index.header.chunk_s} s windows.`,
    `-- Exact search, the reference's distance (1 - cosine), best chunk per track:`,
    `--   SELECT utt, song, min(embedding <=> '[...]') AS distance FROM ${SQL_TABLE}`,
    `--   GROUP BY utt, song ORDER BY distance LIMIT 10;`,
    "CREATE EXTENSION IF NOT EXISTS vector;",
    `CREATE TABLE IF NOT EXISTS ${SQL_TABLE} (`,
    "  id integer PRIMARY KEY,",
    "  utt text NOT NULL,",
    "  song text,",
    "  song_id bigint,",
    "  start_s real NOT NULL,",
    `  embedding vector(${dim}) NOT NULL`,
    ");",
  ];
  for (let b = 0; b < rows.length; b += 500) {
    const values = rows.slice(b, b + 500).map((r) =>
      `(${r.row}, ${sqlString(r.utt)}, ${sqlString(r.song)}, ${r.label ?? "NULL"}, ${r.start_s}, ` +
      `${vectorLiteral(unit.subarray(r.row * dim, (r.row + 1) * dim))})`
    );
    out.push(`INSERT INTO ${SQL_TABLE} (id, utt, song, song_id, start_s, embedding) VALUES\n${values.join(",\n")}`);
    out.push("ON CONFLICT (id) DO NOTHING;");
  }
  return out.join("\n") + "\n";
}

/**
 * Writes {@linkcode indexSql} to `path` (atomically).
 *
 * @param index a loaded index
 * @param path output file
 */
export async function writeIndexSql(index: LoadedIndex, path: string): Promise<void> {
  await writeTextFileAtomic(path, indexSql(index));
}
