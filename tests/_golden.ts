/**
 * Location of the reference implementation's golden vectors: `../shared/golden` beside the
 * repository (CI lays it there).
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const ROOT = new URL("../../shared/golden/", import.meta.url);

/** Absolute path of a golden file; throws a clear error when the folder is missing. */
export function GOLDEN(name: string): string {
  const path = fileURLToPath(new URL(name, ROOT));
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`golden file ${path} not found: tests need ../shared/golden beside the repository`);
  }
  return path;
}
