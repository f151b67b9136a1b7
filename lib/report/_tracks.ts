/**
 * Work labels of recordings, from metadata lines (`full.txt` style): `song_id` (or the fork's `work_id`) as the
 * label, `song` (or `work`) as the name shown.
 *
 * @module
 */
import type { Line } from "../io/lines.ts";
import type { TrackInfo } from "./worst_queries.ts";

/**
 * The label and work name of each line, by `utt` (or the fork's `perf`). Lines without an integer `song_id` /
 * `work_id` are labelled by their `song` / `work` name (names numbered in order of appearance, after the
 * largest integer id); lines with neither are left out.
 *
 * @param lines the metadata lines
 * @returns `utt` → track info
 */
export function trackInfoByUtt(lines: readonly Line[]): Map<string, TrackInfo> {
  const out = new Map<string, TrackInfo>();
  const idOf = (l: Line) => {
    const v = Number(l.song_id ?? l.work_id);
    return l.song_id === undefined && l.work_id === undefined || !Number.isInteger(v) ? null : v;
  };
  const nameOf = (l: Line) => {
    const v = l.song ?? l.work;
    return v === undefined || v === null ? null : String(v);
  };
  let next = lines.reduce((m, l) => Math.max(m, idOf(l) ?? -1), -1) + 1;
  const byName = new Map<string, number>();
  for (const l of lines) {
    const utt = l.utt ?? l.perf;
    if (utt === undefined) continue;
    const name = nameOf(l);
    let label = idOf(l);
    if (label === null && name !== null) {
      if (!byName.has(name)) byName.set(name, next++);
      label = byName.get(name)!;
    }
    if (label === null) continue;
    out.set(String(utt), { utt: String(utt), label, work: name ?? String(label) });
  }
  return out;
}
