/**
 * Shared steps of `index` and `identify`: the front-end settings that go with a list file, the model's embedding
 * function, and the selection of reference lines.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { loadDataConfig } from "../data/data_hparams.ts";
import type { FrontEndOptions } from "../features/front_end.ts";
import type { IndexHeaderInit } from "./index_file.ts";

/** The front end of the reference system (PyCqt, 96 bins from 32 Hz, 12 per octave). */
export const DEFAULT_FRONT_END: FrontEndOptions = { kind: "pycqt", fmin: 32, nBins: 96, binsPerOctave: 12 };

/**
 * Front-end settings for a list file: `hparamsPath` if given, else `hparams.yaml` beside the list (a data folder's
 * data hparams), else the reference's defaults.
 *
 * @param listPath full.txt / dataset.txt
 * @param hparamsPath an explicit data hparams file
 */
export async function frontEndFor(listPath: string, hparamsPath?: string): Promise<FrontEndOptions> {
  const path = hparamsPath ?? join(dirname(listPath), "hparams.yaml");
  try {
    await Deno.stat(path);
  } catch {
    if (hparamsPath !== undefined) throw new Error(`${hparamsPath}: data hparams file not found`);
    return DEFAULT_FRONT_END;
  }
  const c = await loadDataConfig(path);
  return { kind: c.frontEnd, fmin: c.fmin, nBins: c.nBins, binsPerOctave: c.binsPerOctave };
}

/** The index header's `front_end` for front-end options. */
export function frontEndHeader(o: FrontEndOptions): NonNullable<IndexHeaderInit["front_end"]> {
  return { kind: o.kind, fmin: o.fmin, n_bins: o.nBins, bins_per_octave: o.binsPerOctave };
}

/** Front-end options from an index header's `front_end` (the defaults when absent). */
export function frontEndFromHeader(h: IndexHeaderInit["front_end"]): FrontEndOptions {
  if (h === undefined) return DEFAULT_FRONT_END;
  if (h.kind !== "pycqt" && h.kind !== "nnaudio") throw new Error(`index: unknown front end '${h.kind}'`);
  return { kind: h.kind, fmin: h.fmin, nBins: h.n_bins, binsPerOctave: h.bins_per_octave };
}
