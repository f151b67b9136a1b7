import { assertEquals, assertThrows } from "../_assert.ts";
import { assignSongIds, formatSongCounts, formatSongIdMap, parseSongIdMap } from "../../lib/data/song_ids.ts";

Deno.test("assignSongIds() numbers songs by first appearance, adds version_id and groups by song", () => {
  const { lines, songIds } = assignSongIds([{ utt: "1", song: "B" }, { utt: "2", song: "A" }, { utt: "3", song: "B" }]);
  assertEquals(lines.map((l) => [l.utt, l.song_id, l.version_id]), [["1", 0, 0], ["3", 0, 1], ["2", 1, 0]]);
  assertEquals(formatSongIdMap(songIds), "B 0\nA 1\n");
  assertEquals(formatSongCounts(lines), "0 2\n1 1\n");
});

Deno.test("assignSongIds() keeps known ids and appends new songs after them", () => {
  const known = parseSongIdMap("A Whiter Shade 4\nB 0\n", "song_id.map");
  const { songIds } = assignSongIds([{ song: "C" }, { song: "A Whiter Shade" }], known);
  assertEquals([...songIds], [["A Whiter Shade", 4], ["B", 0], ["C", 5]]);
});

Deno.test("parseSongIdMap() names the file and line of a bad entry", () => {
  assertThrows(() => parseSongIdMap("A 1\nB x\n", "m.map"), "m.map:2: expected '<song> <song_id>'");
});
