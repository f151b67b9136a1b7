/**
 * The reference's metadata line format: one JSON object per line, or TAB-separated `key:value`
 * pairs (only `len` becomes a number). Errors name the file and the 1-based line number.
 *
 * @module
 */
import { writeTextFileAtomic } from "./atomic.ts";
import { readTextFile } from "./read_text.ts";

/** A parsed metadata line (`utt`, `wav`, `dur_s`, `song`, ... as in the file). */
export type Line = Record<string, unknown>;

/** A problem found in one line of a metadata file. */
export class LineError extends Error {
  /** @param path the file @param lineNo 1-based line number @param reason what is wrong */
  constructor(readonly path: string, readonly lineNo: number, readonly reason: string) {
    super(`${path}:${lineNo}: ${reason}`);
    this.name = "LineError";
  }
}

/** Parses one line: JSON when it starts with `{`, else TAB-separated `key:value` pairs. */
export function parseLine(text: string, path = "<text>", lineNo = 0): Line {
  const s = text.trim();
  if (s.startsWith("{")) {
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      throw new LineError(path, lineNo, `invalid JSON (${(e as Error).message})`);
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw new LineError(path, lineNo, "a line must hold one JSON object");
    }
    return v as Line;
  }
  const out: Line = {};
  for (const field of s.split("\t")) {
    const i = field.indexOf(":");
    if (i <= 0) {
      throw new LineError(path, lineNo, `expected a JSON object or TAB-separated key:value pairs, got '${field}'`);
    }
    const key = field.slice(0, i);
    const value = field.slice(i + 1);
    out[key] = key === "len" ? Number.parseInt(value, 10) : value;
  }
  return out;
}

/** One parsed line with its origin, or the error that line produced. */
export interface ParsedLine {
  /** 1-based line number in the file. */
  lineNo: number;
  /** The parsed object, when the line parsed. */
  line?: Line;
  /** The error, when it did not. */
  error?: LineError;
}

/** Parses every non-blank line of a text, collecting per-line errors instead of stopping at the first. */
export function parseLines(text: string, path: string): ParsedLine[] {
  const out: ParsedLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.replaceAll(" ", "").length === 0) return;
    try {
      out.push({ lineNo: i + 1, line: parseLine(raw, path, i + 1) });
    } catch (e) {
      if (e instanceof LineError) out.push({ lineNo: i + 1, error: e });
      else throw e;
    }
  });
  return out;
}

/** Reads a metadata file; throws the first line error (use {@linkcode parseLines} to collect them). */
export async function readLines(path: string): Promise<Line[]> {
  return parseLines(await readTextFile(path), path).map((p) => {
    if (p.error) throw p.error;
    return p.line!;
  });
}

/** Serialises one line as the reference does (`json.dumps(d, ensure_ascii=False)`). */
export function formatLine(line: Line): string {
  return pyJson(line);
}

// Python's json.dumps separators (", " and ": "), so files diff cleanly against the reference's.
function pyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    return `{${
      Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}: ${pyJson(x)}`).join(
        ", ",
      )
    }}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** Writes lines atomically; like the reference, refuses to write zero lines. */
export async function writeLines(path: string, lines: Line[]): Promise<void> {
  if (lines.length === 0) throw new RangeError(`${path}: refusing to write an empty list`);
  await writeTextFileAtomic(path, lines.map(formatLine).join("\n") + "\n");
}
