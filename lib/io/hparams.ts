/**
 * hparams.yaml loading against a schema: the reference's key names, one default per key, a clear
 * error for an unknown key (listing the valid ones) or a value of the wrong type or range. The
 * schemas double as the documentation source (`docs/hparams.md` is checked against them).
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { readTextFile } from "./read_text.ts";

/** The type of one hparams value. */
export type KeyType = "number" | "integer" | "string" | "boolean" | "number[]" | "integer[]" | "string[]" | "object";

/** One key of a schema. */
export interface KeySpec {
  /** Value type. */
  type: KeyType;
  /** Default when the key is absent; absent and no default means the key stays unset. */
  default?: unknown;
  /** One sentence for the docs. */
  doc: string;
  /** Inclusive lower bound (numbers, and each element of number lists). */
  min?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Allowed strings. */
  choices?: readonly string[];
  /** Nested schema for `object` keys. */
  keys?: Schema;
  /** Key must be present. */
  required?: boolean;
}

/** A set of keys. */
export type Schema = Record<string, KeySpec>;

/** An hparams file that does not fit its schema. */
export class HparamsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HparamsError";
  }
}

function typeOk(spec: KeySpec, v: unknown): boolean {
  switch (spec.type) {
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "string":
      return typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    case "number[]":
      return Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x));
    case "integer[]":
      return Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isInteger(x));
    case "string[]":
      return Array.isArray(v) && v.every((x) => typeof x === "string");
    case "object":
      return v !== null && typeof v === "object" && !Array.isArray(v);
  }
}

/**
 * Checks `raw` against `schema`, fills defaults, and returns a frozen copy.
 *
 * @param source file name used in messages
 * @param prefix key path prefix for nested objects
 * @throws {HparamsError} naming the file, the key and what is wrong
 */
export function resolveHparams(schema: Schema, raw: unknown, source: string, prefix = ""): Record<string, unknown> {
  const obj = raw ?? {};
  if (typeof obj !== "object" || Array.isArray(obj)) {
    throw new HparamsError(`${source}: ${prefix || "top level"} must be a mapping of keys to values`);
  }
  const rec = obj as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const unknown = Object.keys(rec).filter((k) => !(k in schema));
  if (unknown.length > 0) {
    throw new HparamsError(
      `${source}: unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `'${prefix}${k}'`).join(", ")}; ` +
        `valid keys${prefix ? ` under '${prefix.slice(0, -1)}'` : ""}: ${Object.keys(schema).join(", ")}`,
    );
  }
  for (const [key, spec] of Object.entries(schema)) {
    const name = prefix + key;
    let v = rec[key];
    if (v === undefined || v === null) {
      if (spec.required) throw new HparamsError(`${source}: missing required key '${name}' (${spec.doc})`);
      if (spec.default === undefined) continue;
      v = structuredClone(spec.default);
    }
    if (!typeOk(spec, v)) {
      throw new HparamsError(`${source}: '${name}' must be of type ${spec.type}, got ${JSON.stringify(v)}`);
    }
    if (spec.type === "object" && spec.keys) v = resolveHparams(spec.keys, v, source, `${name}.`);
    const nums = typeof v === "number" ? [v] : Array.isArray(v) && typeof v[0] === "number" ? (v as number[]) : [];
    for (const n of nums) {
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new HparamsError(
          `${source}: '${name}' must be within [${spec.min ?? "-inf"}, ${spec.max ?? "inf"}], got ${n}`,
        );
      }
    }
    if (spec.choices && typeof v === "string" && !spec.choices.includes(v)) {
      throw new HparamsError(`${source}: '${name}' must be one of ${spec.choices.join(", ")}, got '${v}'`);
    }
    out[key] = v;
  }
  return Object.freeze(out);
}

/** Parses YAML text, turning syntax errors into an HparamsError naming the file and line. */
export function parseYamlText(text: string, source: string): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    throw new HparamsError(`${source}: invalid YAML: ${(e as Error).message}`);
  }
}

/** Reads and resolves a YAML file against a schema. */
export async function loadHparamsFile(path: string, schema: Schema): Promise<Record<string, unknown>> {
  return resolveHparams(schema, parseYamlText(await readTextFile(path), path), path);
}

/** Lists every key path of a schema (`a`, `a.b`, ...), in declaration order: the docs test uses it. */
export function schemaKeyPaths(schema: Schema, prefix = ""): string[] {
  return Object.entries(schema).flatMap(([k, spec]) => [
    prefix + k,
    ...(spec.keys ? schemaKeyPaths(spec.keys, `${prefix}${k}.`) : []),
  ]);
}
