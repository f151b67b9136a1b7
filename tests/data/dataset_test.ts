import { assertEquals } from "../_assert.ts";
import { parseDataset, sortAndDedup } from "../../lib/data/dataset.ts";

Deno.test("parseDataset() accepts utt/song and perf/work lines, dur_ms as fallback", () => {
  const text = [
    '{"utt": "b", "wav": "b.wav", "dur_s": 3.5, "song": "S1", "version": "x.mp3"}',
    '{"perf": "a", "wav": "a.wav", "dur_ms": 1500, "work": "S2"}',
    "utt:c\twav:c.wav\tsong:S1",
  ].join("\n");
  const { entries, errors } = parseDataset(text, "dataset.txt");
  assertEquals(errors, []);
  assertEquals(entries.map((e) => [e.utt, e.song, e.durS ?? null, e.lineNo]), [
    ["b", "S1", 3.5, 1],
    ["a", "S2", 1.5, 2],
    ["c", "S1", null, 3],
  ]);
});

Deno.test("parseDataset() reports each bad line with file and line and keeps the rest", () => {
  const text = [
    '{"utt": "a", "wav": "a.wav", "song": "S"}',
    '{"utt": "b", "song": "S"}',
    '{"utt": "c", "wav": "c.wav", "song": "S", "colour": 1}',
    '{"utt": "d", "wav": "d.wav", "song": "S", "dur_s": "long"}',
    "{broken",
    '{"utt": "e", "wav": "e.wav", "song": "S"}',
  ].join("\n");
  const { entries, errors } = parseDataset(text, "d.txt");
  assertEquals(entries.map((e) => e.utt), ["a", "e"]);
  assertEquals(errors.map((e) => e.message.split(":").slice(0, 2).join(":")), [
    "d.txt:2",
    "d.txt:3",
    "d.txt:4",
    "d.txt:5",
  ]);
  assertEquals(errors[0]!.reason, "missing 'wav'");
  assertEquals(errors[1]!.reason.startsWith("unknown key(s) colour; valid keys: utt, perf, wav"), true);
  assertEquals(errors[2]!.reason, `'dur_s' must be a non-negative number, got "long"`);
});

Deno.test("sortAndDedup() sorts by utt and keeps the first line of each utt", () => {
  const { entries } = parseDataset(
    [
      '{"utt": "b", "wav": "1", "song": "S"}',
      '{"utt": "a", "wav": "2", "song": "S"}',
      '{"utt": "b", "wav": "3", "song": "S"}',
    ].join("\n"),
    "d",
  );
  const { kept, duplicates } = sortAndDedup(entries);
  assertEquals(kept.map((e) => e.wav), ["2", "1"]);
  assertEquals(duplicates.map((e) => e.lineNo), [3]);
});
