/**
 * Shared command-line plumbing for `tasks/`: strict `parseArgs` (unknown flags are errors that
 * print the usage), and the `--device` choice.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A task's flags, as `node:util` parseArgs options; the docs test reads these. */
export type TaskOptions = NonNullable<ParseArgsConfig["options"]>;

/** A command-line usage error (the task prints its usage with it). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parses `args` strictly against `options`; throws UsageError on an unknown flag or a bad value. */
export function parseTaskArgs(
  args: string[],
  options: TaskOptions,
): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Parses an integer flag value with a range check. */
export function intFlag(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got '${value}'`);
  }
  return n;
}

/** The devices a task can run on. */
export const DEVICE_CHOICES = ["auto", "webgpu", "cpu", "wasm"] as const;

/** A device request (`mps`/`cuda` from old configs mean webgpu). */
export type DeviceRequest = (typeof DEVICE_CHOICES)[number];

/** Validates a `--device` value. */
export function deviceFlag(value: unknown): DeviceRequest {
  const v = String(value);
  if (v === "mps" || v === "cuda") return "webgpu";
  if (!(DEVICE_CHOICES as readonly string[]).includes(v)) {
    throw new UsageError(`--device must be one of ${DEVICE_CHOICES.join(", ")}, got '${v}'`);
  }
  return v as DeviceRequest;
}
