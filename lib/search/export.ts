/**
 * Exports of an index for other engines (docs/formats.md):
 * - `embeddings.npy` (float32 `(chunks, dim)`, unit rows: inner product = cosine similarity) + `chunks.jsonl` (one
 *   JSON line per row: `row`, `utt`, `song`, `song_id`/`work_id`, `start_s`), loadable by numpy, FAISS and the like;
 * - SQL for PostgreSQL with the pgvector extension: one table `coverhunter_chunks`, one row per chunk, searched
 *   exactly with the cosine-distance operator `<=>` (the same SQL runs in the embedded PGlite and on a server);
 * - the same table in a PGlite database folder ({@linkcode writeIndexPglite}).
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
  return indexSqlStatements(index).join("\n") + "\n";
}

/**
 * {@linkcode indexSql} as separate entries: the comment lines, then one complete statement each (the extension, the
 * table, each INSERT of up to 500 rows).
 *
 * @param index a loaded index
 */
export function indexSqlStatements(index: LoadedIndex): string[] {
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
    [
      `CREATE TABLE IF NOT EXISTS ${SQL_TABLE} (`,
      "  id integer PRIMARY KEY,",
      "  utt text NOT NULL,",
      "  song text,",
      "  song_id bigint,",
      "  start_s real NOT NULL,",
      `  embedding vector(${dim}) NOT NULL`,
      ");",
    ].join("\n"),
  ];
  for (let b = 0; b < rows.length; b += 500) {
    const values = rows.slice(b, b + 500).map((r) =>
      `(${r.row}, ${sqlString(r.utt)}, ${sqlString(r.song)}, ${r.label ?? "NULL"}, ${r.start_s}, ` +
      `${vectorLiteral(unit.subarray(r.row * dim, (r.row + 1) * dim))})`
    );
    out.push(
      `INSERT INTO ${SQL_TABLE} (id, utt, song, song_id, start_s, embedding) VALUES\n${values.join(",\n")}\n` +
        "ON CONFLICT (id) DO NOTHING;",
    );
  }
  return out;
}

/**
 * Loads the index into a PostgreSQL database kept in a folder by the embedded PGlite (with pgvector), running the same
 * statements as {@linkcode indexSql}. Rows already there (by id) are kept, so loading again after an append adds only
 * the new ones. Open it later with `PGlite.create({ dataDir, extensions: { vector } })`.
 *
 * @param index a loaded index
 * @param dataDir the database folder (created)
 * @returns rows in the table afterwards
 */
export async function writeIndexPglite(index: LoadedIndex, dataDir: string): Promise<number> {
  // PGlite loads its WebAssembly and the pgvector extension from files beside its npm package, which a single-file
  // bundle does not carry (it would fail with an uncaught error inside PGlite): say so instead.
  if (!new URL(import.meta.url).pathname.endsWith("/lib/search/export.ts")) {
    throw new Error("--pglite needs the PGlite package files: run it from source (deno task index), not the bundle");
  }
  // Loaded on demand: the database engine is a large WebAssembly module that other commands never need.
  const { PGlite } = await import("@electric-sql/pglite");
  const { vector } = await import("@electric-sql/pglite/vector");
  const db = await PGlite.create({ dataDir, extensions: { vector } });
  try {
    for (const statement of indexSqlStatements(index)) {
      if (!statement.startsWith("--")) await db.exec(statement);
    }
    const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${SQL_TABLE}`);
    return r.rows[0]!.n;
  } finally {
    await db.close();
  }
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
