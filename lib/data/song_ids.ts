/**
 * Class ids (the reference's stages 8-11): `song_id` in order of first appearance (kept stable
 * across runs through `song_id.map`, so new works get new ids and old ones keep theirs),
 * `version_id` = index of the line within its song, and lines re-ordered by (song_id, version_id).
 *
 * @module
 */
import type { Line } from "../io/lines.ts";

/** Parses `song_id.map` text (`<song> <song_id>` per line; the song name may contain spaces). */
export function parseSongIdMap(text: string, path: string): Map<string, number> {
  const map = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const s = raw.trim();
    if (s.length === 0) return;
    const cut = s.lastIndexOf(" ");
    const id = Number(s.slice(cut + 1));
    if (cut <= 0 || !Number.isInteger(id) || id < 0) {
      throw new SyntaxError(`${path}:${i + 1}: expected '<song> <song_id>', got '${s}'`);
    }
    map.set(s.slice(0, cut), id);
  });
  return map;
}

/** Formats `song_id.map` (sorted by id). */
export function formatSongIdMap(map: Map<string, number>): string {
  return [...map].sort((a, b) => a[1] - b[1]).map(([song, id]) => `${song} ${id}`).join("\n") + "\n";
}

/**
 * Adds `song_id` (reusing `known` ids, new songs numbered after the largest known id) and
 * `version_id`, and sorts by (song_id, version_id). Returns new line objects and the full map.
 */
export function assignSongIds(
  lines: Line[],
  known: Map<string, number> = new Map(),
): { lines: Line[]; songIds: Map<string, number> } {
  const songIds = new Map(known);
  let next = songIds.size === 0 ? 0 : Math.max(...songIds.values()) + 1;
  const bySong = new Map<number, Line[]>();
  for (const line of lines) {
    const song = String(line.song);
    if (!songIds.has(song)) songIds.set(song, next++);
    const id = songIds.get(song)!;
    const group = bySong.get(id) ?? [];
    bySong.set(id, group);
    group.push({ ...line, song_id: id, version_id: group.length });
  }
  const out = [...bySong.keys()].sort((a, b) => a - b).flatMap((id) => bySong.get(id)!);
  return { lines: out, songIds };
}

/** `song_id_num.map`: `<song_id> <number of lines>` sorted by id. */
export function formatSongCounts(lines: Line[]): string {
  const counts = new Map<number, number>();
  for (const l of lines) counts.set(Number(l.song_id), (counts.get(Number(l.song_id)) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0] - b[0]).map(([id, n]) => `${id} ${n}`).join("\n") + "\n";
}
