/**
 * TensorBoard scalar logging without TensorFlow: an event-file writer that `tensorboard --logdir` reads, and a
 * validating reader for the same files.
 *
 * Format (TFRecord framing of `tensorflow.Event` protos):
 * - each record is `uint64 length (LE)`, `uint32 masked CRC-32C of those 8 bytes (LE)`, `data`,
 *   `uint32 masked CRC-32C of data (LE)`; the mask is `((crc >>> 15) | (crc << 17)) + 0xa282ead8` (mod 2^32);
 * - the first record is `Event{wall_time, file_version: "brain.Event:2"}`; each scalar is
 *   `Event{wall_time (double, s), step (int64), summary{value[{tag, simple_value (float)}]}}`
 *   (field numbers from tensorflow's `event.proto` / `summary.proto`).
 *
 * A writer always creates a NEW file `events.out.tfevents.<unix seconds>.<host>` in its folder, so a resumed run
 * adds a file beside the old ones and TensorBoard merges them by step.
 *
 * Permissions: `--allow-write=<logDir>` (creating the folder and the file); `--allow-sys=hostname` is optional
 * (without it the host part of the name is `coverhunter`). Reading needs `--allow-read`.
 *
 * @example
 * ```ts
 * import { createEventWriter, readEvents } from "./tensorboard.ts";
 * const logDir = await Deno.makeTempDir(); // e.g. <model_dir>/logs
 * const tb = await createEventWriter(logDir, { hostname: "example" });
 * tb.scalar("csi/total", 1.25, 100);
 * await tb.close();
 * const [event] = await readEvents(tb.path); // {wallTime, step: 100, tag: "csi/total", value: 1.25}
 * await Deno.remove(logDir, { recursive: true });
 * if (event?.value !== 1.25) throw new Error("round trip failed");
 * ```
 *
 * @module
 */
import protobuf from "protobufjs";
import CRC32C from "crc-32/crc32c.js";
import { join } from "node:path";

/** One scalar read back from an event file. */
export interface ScalarEvent {
  /** Seconds since the Unix epoch, as written. */
  wallTime: number;
  /** Global step (the x axis). */
  step: number;
  /** Scalar name, e.g. `csi/total` or `mAP/covers80`. */
  tag: string;
  /** The value (stored as float32, so read back with float32 precision). */
  value: number;
}

/** An open event file. */
export interface EventWriter {
  /** Path of the event file this writer appends to. */
  readonly path: string;
  /**
   * Queues one scalar. It reaches the file on {@linkcode EventWriter.flush}, {@linkcode EventWriter.close}, or
   * when the buffer passes `bufferBytes`.
   *
   * @param tag scalar name (non-empty)
   * @param value any number (NaN and ±Infinity are stored as such, in float32)
   * @param step non-negative safe integer
   * @throws {TypeError} on an empty tag, {RangeError} on a bad step, {Error} after `close()` or a failed write
   */
  scalar(tag: string, value: number, step: number): void;
  /** Writes every queued record to the file; rejects with the first write error. */
  flush(): Promise<void>;
  /** Flushes, then closes the file. Later calls do nothing. */
  close(): Promise<void>;
}

/** Options of {@linkcode createEventWriter}. */
export interface EventWriterOptions {
  /**
   * Host part of the file name.
   * @default Deno.hostname(), or "coverhunter" without `--allow-sys=hostname`
   */
  hostname?: string;
  /**
   * Clock in seconds since the Unix epoch, used for the file name and each event's `wall_time`.
   * @default () => Date.now() / 1000
   */
  clock?: () => number;
  /**
   * Queued bytes that trigger a background write (flush() and close() always write everything).
   * @default 65536
   */
  bufferBytes?: number;
}

/** Options of {@linkcode readEvents}. */
export interface ReadEventsOptions {
  /**
   * Accept a file whose last record is cut short (a writer killed mid-write), as TensorBoard does; the partial
   * record is ignored. CRC mismatches are always errors.
   * @default false
   */
  allowTruncatedTail?: boolean;
}

/** A decoded `tensorflow.Event` (only the fields this module writes). */
export interface DecodedEvent {
  /** `wall_time`, seconds. */
  wallTime: number;
  /** `step` (0 when absent). */
  step: number;
  /** `file_version`, present on the first event of a file. */
  fileVersion?: string;
  /** The summary's values that carry a `simple_value`. */
  values: { tag: string; value: number }[];
}

/** The `file_version` string TensorBoard expects in the first event. */
export const FILE_VERSION = "brain.Event:2";

const MASK_DELTA = 0xa282ead8;
const HEADER_BYTES = 12; // uint64 length + uint32 masked CRC
const FOOTER_BYTES = 4; // uint32 masked CRC of the data

// The few messages we need, by reflection (no code generation). Field numbers from tensorflow
// core/util/event.proto (Event) and core/framework/summary.proto (Summary, Summary.Value).
const EVENT_TYPE = protobuf.Root.fromJSON({
  nested: {
    tensorflow: {
      nested: {
        Event: {
          fields: {
            wall_time: { type: "double", id: 1 },
            step: { type: "int64", id: 2 },
            file_version: { type: "string", id: 3 },
            summary: { type: "Summary", id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: "repeated", type: "Value", id: 1 } },
          nested: {
            Value: { fields: { tag: { type: "string", id: 1 }, simple_value: { type: "float", id: 2 } } },
          },
        },
      },
    },
  },
}).lookupType("tensorflow.Event");

/**
 * CRC-32C (Castagnoli), as TFRecord uses; `crc32c("123456789")` is `0xE3069283`.
 *
 * @param data bytes to checksum
 * @returns the CRC as an unsigned 32-bit integer
 */
export function crc32c(data: Uint8Array): number {
  return CRC32C.buf(data) >>> 0;
}

/**
 * The TFRecord masked CRC-32C: `((crc >>> 15) | (crc << 17)) + 0xa282ead8`, modulo 2^32.
 *
 * @param data bytes to checksum
 * @returns the masked CRC as an unsigned 32-bit integer
 */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/**
 * Frames one record: `length (u64 LE) | masked crc(length) (u32 LE) | data | masked crc(data) (u32 LE)`.
 *
 * @param data the record payload (a serialised Event)
 * @returns `data.length + 16` bytes
 */
export function encodeTfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + data.length + FOOTER_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * Splits a TFRecord file into its payloads, checking both CRCs of every record.
 *
 * @param bytes the file contents
 * @param name used in error messages (usually the path)
 * @param options see {@linkcode ReadEventsOptions}
 * @returns the payloads, in file order
 * @throws {SyntaxError} on a CRC mismatch or a truncated record (naming the file and byte offset)
 */
export function decodeTfRecords(bytes: Uint8Array, name = "<tfrecord>", options: ReadEventsOptions = {}): Uint8Array[] {
  const { allowTruncatedTail = false } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const truncated = (what: string): SyntaxError =>
      new SyntaxError(`${name}: truncated record at byte ${pos} (${what})`);
    if (pos + HEADER_BYTES > bytes.length) {
      if (allowTruncatedTail) break;
      throw truncated("incomplete header");
    }
    if (view.getUint32(pos + 8, true) !== maskedCrc32c(bytes.subarray(pos, pos + 8))) {
      throw new SyntaxError(`${name}: length CRC mismatch in the record at byte ${pos}`);
    }
    const length = view.getBigUint64(pos, true);
    const end = BigInt(pos + HEADER_BYTES) + length + BigInt(FOOTER_BYTES);
    if (end > BigInt(bytes.length)) {
      if (allowTruncatedTail) break;
      throw truncated(`declares ${length} data bytes`);
    }
    const n = Number(length);
    const data = bytes.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + n);
    if (view.getUint32(pos + HEADER_BYTES + n, true) !== maskedCrc32c(data)) {
      throw new SyntaxError(`${name}: data CRC mismatch in the record at byte ${pos}`);
    }
    out.push(data);
    pos += HEADER_BYTES + n + FOOTER_BYTES;
  }
  return out;
}

/**
 * Serialises an Event carrying scalars.
 *
 * @param wallTime seconds since the Unix epoch
 * @param step global step
 * @param values `{tag, value}` pairs, written as `summary.value[]` with `simple_value`
 * @returns the protobuf bytes (without TFRecord framing)
 */
export function encodeScalarEvent(
  wallTime: number,
  step: number,
  values: { tag: string; value: number }[],
): Uint8Array {
  const message = EVENT_TYPE.fromObject({
    wall_time: wallTime,
    step,
    summary: { value: values.map((v) => ({ tag: v.tag, simple_value: v.value })) },
  });
  return EVENT_TYPE.encode(message).finish();
}

/**
 * Serialises the `file_version` Event that opens every event file.
 *
 * @param wallTime seconds since the Unix epoch
 * @returns the protobuf bytes (without TFRecord framing)
 */
export function encodeFileVersionEvent(wallTime: number): Uint8Array {
  return EVENT_TYPE.encode(EVENT_TYPE.fromObject({ wall_time: wallTime, file_version: FILE_VERSION })).finish();
}

/**
 * Parses one serialised Event (unknown fields, e.g. graphs or histograms from other writers, are skipped).
 *
 * @param data the protobuf bytes
 * @returns the decoded fields this module knows
 * @throws {SyntaxError} when the bytes are not a valid Event
 */
export function decodeEvent(data: Uint8Array): DecodedEvent {
  let msg: Record<string, unknown>;
  try {
    msg = EVENT_TYPE.decode(data) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new SyntaxError(`not a tensorflow.Event: ${(e as Error).message}`);
  }
  const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  const rawStep = msg.step as number | { toNumber(): number } | undefined;
  const out: DecodedEvent = {
    wallTime: has(msg, "wall_time") ? msg.wall_time as number : 0,
    step: rawStep === undefined ? 0 : typeof rawStep === "number" ? rawStep : rawStep.toNumber(),
    values: [],
  };
  if (has(msg, "file_version")) out.fileVersion = msg.file_version as string;
  const summary = msg.summary as { value?: Record<string, unknown>[] } | undefined;
  for (const v of summary?.value ?? []) {
    if (has(v, "simple_value")) out.values.push({ tag: v.tag as string, value: v.simple_value as number });
  }
  return out;
}

/**
 * Reads every scalar of an event file, validating the framing and both CRCs of each record.
 *
 * @param path an `events.out.tfevents.*` file
 * @param options see {@linkcode ReadEventsOptions}
 * @returns the scalars in file order
 * @throws {SyntaxError} on a corrupt file (CRC mismatch, truncation, bad protobuf), naming the file
 */
export async function readEvents(path: string, options: ReadEventsOptions = {}): Promise<ScalarEvent[]> {
  const out: ScalarEvent[] = [];
  decodeTfRecords(await Deno.readFile(path), path, options).forEach((record, i) => {
    let event: DecodedEvent;
    try {
      event = decodeEvent(record);
    } catch (e) {
      throw new SyntaxError(`${path}: record ${i}: ${(e as Error).message}`);
    }
    for (const v of event.values) out.push({ wallTime: event.wallTime, step: event.step, tag: v.tag, value: v.value });
  });
  return out;
}

function defaultHostname(): string {
  try {
    return Deno.hostname();
  } catch (e) {
    // Only a missing --allow-sys=hostname falls back; anything else is a real error.
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) return "coverhunter";
    throw e;
  }
}

async function openNewEventFile(logDir: string, seconds: number, host: string): Promise<[string, Deno.FsFile]> {
  const base = join(logDir, `events.out.tfevents.${seconds}.${host.replace(/[^A-Za-z0-9._-]/g, "_")}`);
  // Two writers started in the same second (a quick resume) must not share a file: add .1, .2, ...
  for (let n = 0;; n++) {
    const path = n === 0 ? base : `${base}.${n}`;
    try {
      return [path, await Deno.open(path, { write: true, createNew: true })];
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/**
 * Creates `logDir` if needed and opens a new event file in it, already holding the `file_version` event.
 *
 * @param logDir the TensorBoard run folder (e.g. `<model_dir>/logs`)
 * @param options see {@linkcode EventWriterOptions}
 * @returns the writer; call `close()` when done
 * @throws {RangeError} on a bad `bufferBytes`; file-system errors from creating the folder or file
 */
export async function createEventWriter(logDir: string, options: EventWriterOptions = {}): Promise<EventWriter> {
  const { clock = () => Date.now() / 1000, bufferBytes = 65536 } = options;
  if (!Number.isInteger(bufferBytes) || bufferBytes < 0) {
    throw new RangeError(
      `createEventWriter: 'bufferBytes' must be a non-negative integer: current value is ${bufferBytes}`,
    );
  }
  const hostname = options.hostname ?? defaultHostname();
  await Deno.mkdir(logDir, { recursive: true });
  const now = clock();
  const [path, file] = await openNewEventFile(logDir, Math.floor(now), hostname);

  let pending: Uint8Array[] = [encodeTfRecord(encodeFileVersionEvent(now))];
  let pendingBytes = pending[0]!.length;
  let chain: Promise<void> = Promise.resolve();
  let failure: Error | undefined;
  let closed = false;

  // Hands the queued bytes to a serial chain of writes; a failure is kept and rethrown by the next call.
  const schedule = (): Promise<void> => {
    if (pendingBytes > 0) {
      const bytes = new Uint8Array(pendingBytes);
      let off = 0;
      for (const p of pending) {
        bytes.set(p, off);
        off += p.length;
      }
      pending = [];
      pendingBytes = 0;
      chain = chain.then(() => failure ? undefined : writeAll(file, bytes)).catch((e: unknown) => {
        failure ??= e instanceof Error ? e : new Error(String(e));
      });
    }
    return chain;
  };
  const check = (): void => {
    if (failure) throw new Error(`${path}: an earlier write failed: ${failure.message}`, { cause: failure });
  };

  return {
    path,
    scalar(tag: string, value: number, step: number): void {
      if (closed) throw new Error(`${path}: scalar('${tag}') after close()`);
      check();
      if (typeof tag !== "string" || tag.length === 0) throw new TypeError("scalar: 'tag' must be a non-empty string");
      if (!Number.isSafeInteger(step) || step < 0) {
        throw new RangeError(`scalar('${tag}'): 'step' must be a non-negative integer: current value is ${step}`);
      }
      if (typeof value !== "number") throw new TypeError(`scalar('${tag}'): 'value' must be a number`);
      const record = encodeTfRecord(encodeScalarEvent(clock(), step, [{ tag, value }]));
      pending.push(record);
      pendingBytes += record.length;
      if (pendingBytes >= bufferBytes) void schedule();
    },
    async flush(): Promise<void> {
      if (closed) return;
      await schedule();
      check();
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await schedule();
      } finally {
        file.close();
      }
      check();
    },
  };
}
