/**
 * Reads a text file; a missing file becomes an Error that says `<path>: file not found`.
 *
 * @module
 */

/** Reads `path` as UTF-8 text. @throws {Error} `<path>: file not found` when it does not exist */
export async function readTextFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${path}: file not found`, { cause: e });
    throw e;
  }
}
