/**
 * The reference index: chunk embeddings of every reference track with their metadata, in ONE file that grows by
 * appending (new works need no retraining and no recomputation of what is there; the fork's issue #16).
 *
 * Format (documented in docs/formats.md):
 * - line 1: a JSON header `{"format": "coverhunter-index", "version": 1, "dim", "chunk_s", "chunk_frame",
 *   "mean_size", "model": {"source", "fingerprint"}, "front_end": {...}, "created"}` and `\n`;
 * - then one record per track: a JSON line `{"utt", "song", "song_id", ..., "start_s": [...], "chunks": n}` and
 *   `\n`, immediately followed by `n · dim` little-endian float32 values (the raw chunk embeddings, not normalised).
 *
 * A record is written with one `write` call, so an interrupted append leaves at most one incomplete record at the
 * end: readers report it (`truncatedAt`) and appenders cut it off before writing, so nothing complete is lost.
 *
 * @example
 * ```ts
 * import { appendIndexRecords, createIndexFile, readIndexFile } from "./index_file.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/ref.index`;
 * const header = { dim: 2, chunk_s: 135, chunk_frame: 1125, mean_size: 3, model: { source: "m", fingerprint: "f" } };
 * await createIndexFile(path, header);
 * await appendIndexRecords(path, [{ meta: { utt: "a", song_id: 0, start_s: [0] }, data: new Float32Array([1, 0]) }]);
 * const index = await readIndexFile(path);
 * if (index.tracks.length !== 1 || index.embeddings[0] !== 1) throw new Error("unexpected index");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

/** The format name in the header. */
export const INDEX_FORMAT = "coverhunter-index";
/** The format version this code writes and reads. */
export const INDEX_VERSION = 1;

/** Header fields the writer supplies (`format`, `version`, `created` are added). */
export interface IndexHeaderInit {
  /** Embedding size. */
  dim: number;
  /** Window length in seconds the chunks were cut with. */
  chunk_s: number;
  /** Model frames per window. */
  chunk_frame: number;
  /** Raw frames per model frame. */
  mean_size: number;
  /** The model: where it came from and a fingerprint of its weights (queries must use the same model). */
  model: { source: string; fingerprint: string };
  /** Front-end settings used for audio-only lines and for queries. */
  front_end?: { kind: string; fmin: number; n_bins: number; bins_per_octave: number };
}

/** The parsed header. */
export interface IndexHeader extends IndexHeaderInit {
  format: string;
  version: number;
  created: string;
}

/** Metadata of one track: at least `utt`, the label and the window starts; other line keys are kept. */
export interface IndexTrackMeta {
  utt: string;
  song_id?: number;
  work_id?: number;
  song?: string;
  start_s: number[];
  [key: string]: unknown;
}

/** One track to append: metadata and its `(chunks, dim)` embeddings. */
export interface IndexRecord {
  meta: IndexTrackMeta;
  data: Float32Array;
}

/** A loaded index. */
export interface LoadedIndex {
  header: IndexHeader;
  /** Tracks in file order (`chunks` filled in). */
  tracks: (IndexTrackMeta & { chunks: number })[];
  /** `(total chunks, dim)` raw embeddings, tracks contiguous, in track order. */
  embeddings: Float32Array;
  /** First chunk row of each track (length tracks + 1). */
  offsets: Int32Array;
  /** Byte offset of an incomplete last record, when the file ends in one (else undefined). */
  truncatedAt?: number;
  /** Byte length of the complete part of the file. */
  completeBytes: number;
}

const enc = new TextEncoder();
/** Whether this machine stores float32 little-endian, as the file does. */
const LITTLE_ENDIAN = new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f;
const dec = new TextDecoder();

/**
 * Writes a new, empty index (fails if the file exists: use {@linkcode appendIndexRecords} to add to one).
 *
 * @param path index file
 * @param init header fields
 * @returns the header written
 */
export async function createIndexFile(path: string, init: IndexHeaderInit): Promise<IndexHeader> {
  if (!Number.isInteger(init.dim) || init.dim < 1) throw new RangeError(`index: dim must be a positive integer`);
  const header: IndexHeader = {
    format: INDEX_FORMAT,
    version: INDEX_VERSION,
    ...init,
    created: new Date().toISOString(),
  };
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    await writeAll(file, enc.encode(JSON.stringify(header) + "\n"));
  } finally {
    file.close();
  }
  return header;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/**
 * Encodes one record (JSON line + float32 block) as one byte array.
 *
 * @param record the track
 * @param dim embedding size (the data must hold `start_s.length · dim` values)
 */
export function encodeIndexRecord(record: IndexRecord, dim: number): Uint8Array {
  const chunks = record.meta.start_s.length;
  if (chunks < 1 || record.data.length !== chunks * dim) {
    throw new RangeError(
      `index record '${record.meta.utt}': ${record.data.length} values for ${chunks} chunks of ${dim}`,
    );
  }
  const json = enc.encode(JSON.stringify({ ...record.meta, chunks }) + "\n");
  const out = new Uint8Array(json.length + chunks * dim * 4);
  out.set(json);
  const d = record.data;
  if (LITTLE_ENDIAN) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), json.length);
  else {
    const view = new DataView(out.buffer, json.length);
    for (let i = 0; i < d.length; i++) view.setFloat32(i * 4, d[i]!, true);
  }
  return out;
}

/**
 * An index open for appending: the file is read once, at open; an incomplete last record (an interrupted append) is
 * cut off at the first append, so an appender that appends nothing leaves the file as it was.
 */
export interface IndexAppender {
  /** The file's header. */
  readonly header: IndexHeader;
  /** The tracks already in the file (complete records), in file order. */
  readonly tracks: readonly (IndexTrackMeta & { chunks: number })[];
  /** Byte offset of an incomplete last record, when the file ends in one (else undefined). */
  readonly truncatedAt?: number;
  /** Appends records, each with one write. */
  append(records: readonly IndexRecord[]): Promise<void>;
  /** Closes the file. */
  close(): void;
}

/**
 * Opens an index for appending.
 *
 * @param path an existing index file
 * @returns the appender (close it when done)
 * @throws {Error} naming the file when it is not an index or is corrupt
 */
export async function openIndexAppender(path: string): Promise<IndexAppender> {
  const scan = scanComplete(await readBytes(path), path);
  const file = await Deno.open(path, { read: true, write: true });
  const { dim } = scan.header;
  let positioned = false;
  return {
    header: scan.header,
    tracks: scan.records.map((r) => r.meta),
    ...(scan.truncatedAt !== undefined ? { truncatedAt: scan.truncatedAt } : {}),
    async append(records) {
      if (!positioned) {
        if (scan.completeBytes < (await file.stat()).size) await file.truncate(scan.completeBytes);
        await file.seek(0, Deno.SeekMode.End);
        positioned = true;
      }
      for (const r of records) await writeAll(file, encodeIndexRecord(r, dim));
    },
    close: () => file.close(),
  };
}

/**
 * Appends records to an index in one go ({@linkcode openIndexAppender}, append, close).
 *
 * @param path an existing index file
 * @param records tracks to add
 */
export async function appendIndexRecords(path: string, records: readonly IndexRecord[]): Promise<void> {
  const appender = await openIndexAppender(path);
  try {
    await appender.append(records);
  } finally {
    appender.close();
  }
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${path}: index file not found`, { cause: e });
    throw e;
  }
}

function parseHeader(bytes: Uint8Array, path: string): { header: IndexHeader; end: number } {
  const nl = bytes.indexOf(10);
  if (nl < 0) throw new Error(`${path}: not a ${INDEX_FORMAT} file (no header line)`);
  let header: IndexHeader;
  try {
    header = JSON.parse(dec.decode(bytes.subarray(0, nl)));
  } catch {
    throw new Error(`${path}: not a ${INDEX_FORMAT} file (line 1 is not JSON)`);
  }
  if (header.format !== INDEX_FORMAT) throw new Error(`${path}: not a ${INDEX_FORMAT} file (format ${header.format})`);
  if (header.version !== INDEX_VERSION) {
    throw new Error(`${path}: index version ${header.version}; this program reads version ${INDEX_VERSION}`);
  }
  return { header, end: nl + 1 };
}

interface Scan {
  header: IndexHeader;
  records: { meta: IndexTrackMeta & { chunks: number }; dataOffset: number }[];
  completeBytes: number;
  truncatedAt?: number;
}

function scanComplete(bytes: Uint8Array, path: string): Scan {
  const { header, end } = parseHeader(bytes, path);
  const records: Scan["records"] = [];
  let pos = end;
  let n = 0;
  while (pos < bytes.length) {
    n++;
    const nl = bytes.indexOf(10, pos);
    if (nl < 0) return { header, records, completeBytes: pos, truncatedAt: pos };
    let meta: IndexTrackMeta & { chunks: number };
    try {
      meta = JSON.parse(dec.decode(bytes.subarray(pos, nl)));
    } catch {
      // A record line that is not JSON is corruption, not an interrupted append, unless nothing follows it.
      throw new Error(`${path}: record ${n} (byte ${pos}) is not a JSON line`);
    }
    const bytesLen = meta.chunks * header.dim * 4;
    if (!Number.isInteger(meta.chunks) || meta.chunks < 1 || typeof meta.utt !== "string") {
      throw new Error(`${path}: record ${n} (byte ${pos}) has no 'utt' or a bad 'chunks'`);
    }
    if (nl + 1 + bytesLen > bytes.length) return { header, records, completeBytes: pos, truncatedAt: pos };
    records.push({ meta, dataOffset: nl + 1 });
    pos = nl + 1 + bytesLen;
  }
  return { header, records, completeBytes: pos };
}

/**
 * Loads a whole index into memory.
 *
 * @param path index file
 * @returns header, tracks, embeddings and where an incomplete last record starts (if any)
 * @throws {Error} naming the file (and record) when it is not an index or is corrupt
 */
export async function readIndexFile(path: string): Promise<LoadedIndex> {
  const bytes = await readBytes(path);
  const scan = scanComplete(bytes, path);
  const { dim } = scan.header;
  const total = scan.records.reduce((s, r) => s + r.meta.chunks, 0);
  const embeddings = new Float32Array(total * dim);
  const offsets = new Int32Array(scan.records.length + 1);
  let row = 0;
  scan.records.forEach((r, t) => {
    offsets[t] = row;
    const n = r.meta.chunks * dim;
    if (LITTLE_ENDIAN) {
      // A byte copy (the block need not be 4-byte aligned in the file): ~100x faster than DataView reads.
      new Uint8Array(embeddings.buffer, row * dim * 4, n * 4).set(bytes.subarray(r.dataOffset, r.dataOffset + n * 4));
    } else {
      const view = new DataView(bytes.buffer, bytes.byteOffset + r.dataOffset, n * 4);
      for (let i = 0; i < n; i++) embeddings[row * dim + i] = view.getFloat32(i * 4, true);
    }
    row += r.meta.chunks;
  });
  offsets[scan.records.length] = row;
  return {
    header: scan.header,
    tracks: scan.records.map((r) => r.meta),
    embeddings,
    offsets,
    completeBytes: scan.completeBytes,
    ...(scan.truncatedAt !== undefined ? { truncatedAt: scan.truncatedAt } : {}),
  };
}
