/**
 * Features for lines that name only audio (`wav`, as in dataset.txt or a query list): decode, resample to 16 kHz
 * mono, CQT with the given front end, and keep the result in a cache folder so that a second run (or a resumed one)
 * reads it back instead of recomputing. Lines that already have `feat` pass through unchanged.
 *
 * The cache key is the audio file's absolute path, size and modification time plus the front-end settings, so an
 * edited file or other CQT settings never reuse a stale feature.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { Line } from "../io/lines.ts";
import { encodeNpy, statNpy } from "../io/npy.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { loadAudio } from "../audio/load.ts";
import type { FrontEnd } from "../features/front_end.ts";

/** Options of {@linkcode materializeFeatures}. */
export interface MaterializeOptions {
  /** The CQT front end (its `options` are part of the cache key). */
  frontEnd: FrontEnd;
  /** Cache folder for computed features (`<key>.npy`); created when needed. */
  cacheDir: string;
  /** File name for error messages. @default "lines" */
  name?: string;
  /** Called after each line that needed audio work (done, total of such lines, and whether it came from cache). */
  onProgress?: (done: number, total: number, cached: boolean) => void;
}

async function cacheKey(path: string, frontEnd: FrontEnd): Promise<string> {
  const abs = resolve(path);
  const st = await Deno.stat(abs);
  const o = frontEnd.options;
  const text = JSON.stringify([abs, st.size, st.mtime?.getTime() ?? 0, o.kind, o.fmin, o.nBins, o.binsPerOctave]);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest.subarray(0, 10), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Returns the lines with `feat` (a cached `.npy`) and `feat_len` filled in for every line that has only `wav`.
 *
 * @param lines query/ref/dataset lines
 * @param options front end, cache folder, progress
 * @returns new line objects (input lines are not modified), in the same order
 * @throws {Error} naming the file and line when a line has neither `feat` nor `wav`, or its audio cannot be read
 */
export async function materializeFeatures(lines: readonly Line[], options: MaterializeOptions): Promise<Line[]> {
  const { frontEnd, cacheDir, onProgress } = options;
  const name = options.name ?? "lines";
  const todo = lines.filter((l) => typeof l.feat !== "string").length;
  let done = 0;
  const out: Line[] = [];
  for (const [i, line] of lines.entries()) {
    if (typeof line.feat === "string") {
      out.push(line);
      continue;
    }
    const wav = line.wav;
    if (typeof wav !== "string" || wav.length === 0) {
      throw new Error(`${name}:${i + 1}: the line has neither 'feat' nor 'wav'`);
    }
    let key: string;
    try {
      key = await cacheKey(wav, frontEnd);
    } catch (e) {
      throw new Error(`${name}:${i + 1}: cannot read audio '${wav}': ${(e as Error).message}`, { cause: e });
    }
    const feat = join(cacheDir, `${key}.npy`);
    // A cached feature is trusted when its .npy is whole (statNpy checks the size against the header), as extract does.
    let frames = (await statNpy(feat))?.shape[0];
    const cached = frames !== undefined;
    if (frames === undefined) {
      let y: Float32Array;
      try {
        y = await loadAudio(wav);
      } catch (e) {
        throw new Error(`${name}:${i + 1}: ${(e as Error).message}`, { cause: e });
      }
      const [f] = await frontEnd.computeMany([y]);
      await Deno.mkdir(cacheDir, { recursive: true });
      await writeFileAtomic(feat, encodeNpy({ data: f!.data, shape: [f!.frames, f!.bins] }));
      frames = f!.frames;
    }
    out.push({ ...line, feat, feat_len: frames });
    onProgress?.(++done, todo, cached);
  }
  return out;
}
