/**
 * Atomic file writes: write a temp file beside the target, then rename it over the target, so that
 * a killed process never leaves a half-written output that a resumed run would trust.
 *
 * @module
 */
import { dirname } from "node:path";

function tempName(path: string): string {
  return `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Writes bytes to `path` atomically (temp file + rename); creates the parent folder. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Writes text to `path` atomically (temp file + rename); creates the parent folder. */
export function writeTextFileAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}
