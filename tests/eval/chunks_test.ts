import { assertEquals, assertThrows } from "../_assert.ts";
import {
  CHUNK_ID_SEPARATOR,
  cutEvalChunks,
  cutLineChunks,
  lineDurationS,
  parseChunkId,
} from "../../lib/eval/chunks.ts";

const starts = (durS: number) => cutLineChunks({ utt: "x", dur_s: durS }).map((c) => c.startS);

Deno.test("cutLineChunks() follows the spec's examples (strict '<', tail dropped)", () => {
  assertEquals(starts(316.7), [0, 135]);
  assertEquals(starts(270.0), [0]);
  assertEquals(starts(269.9), [0]);
  assertEquals(starts(270.1), [0, 135]);
  assertEquals(starts(134.9), [0]);
  assertEquals(starts(135), [0]);
  assertEquals(starts(0), [0]);
  assertEquals(starts(595.4), [0, 135, 270, 405]);
  // max(1, ceil(dur / 135) - 1) chunks
  for (const d of [1, 135.5, 200, 405, 405.01, 1000]) {
    assertEquals(starts(d).length, Math.max(1, Math.ceil(d / 135) - 1), `dur ${d}`);
  }
});

Deno.test("cutLineChunks() gives reference chunk ids and start frames", () => {
  const chunks = cutLineChunks({ utt: "cover80_00000000_0_0", dur_s: 316.728 });
  assertEquals(chunks, [
    { startS: 0, start: 0, utt: "cover80_00000000_0_0-\u2581start-0" },
    { startS: 135, start: 3375, utt: "cover80_00000000_0_0-\u2581start-135" },
  ]);
  assertEquals(CHUNK_ID_SEPARATOR, "-▁start-");
});

Deno.test("cutLineChunks() takes chunkS and framesPerSecond (other hops, fractional windows)", () => {
  const c = cutLineChunks({ perf: "p", dur_s: 10 }, { chunkS: 2.5, framesPerSecond: 100 / 3 });
  assertEquals(c.map((x) => x.startS), [0, 2.5, 5]);
  assertEquals(c.map((x) => x.start), [0, 83, 166]); // int(2.5 * 33.33) = 83, int(5 * 33.33) = 166
  assertEquals(c.map((x) => x.utt), ["p-▁start-0", "p-▁start-2", "p-▁start-5"]);
});

Deno.test("lineDurationS() uses dur_s, then dur_ms / 1000, then feat_len / fps", () => {
  assertEquals(lineDurationS({ dur_s: 12.5, dur_ms: 1, feat_len: 1 }), 12.5);
  assertEquals(lineDurationS({ dur_ms: 316700, feat_len: 1 }), 316.7);
  assertEquals(lineDurationS({ feat_len: 7918 }), 7918 / 25); // 316.72 = feat_len * 0.04
  assertEquals(lineDurationS({ feat_len: 100 }, 50), 2);
  assertEquals(lineDurationS({ dur_s: "3.5" }), 3.5); // TAB-format lines hold strings
  assertThrows(() => lineDurationS({ utt: "x" }), "no 'dur_s'");
  assertThrows(() => lineDurationS({ dur_s: -1 }), "'dur_s' must be a non-negative number");
  assertThrows(() => lineDurationS({ dur_s: "abc" }), "'dur_s'");
});

Deno.test("cutEvalChunks() keeps file order and names the file and line on errors", () => {
  const tracks = cutEvalChunks([{ utt: "a", dur_s: 300 }, { utt: "b", dur_ms: 100000 }, { utt: "c", feat_len: 10000 }]);
  assertEquals(tracks.map((t) => [t.track, t.utt, t.chunks.length]), [[0, "a", 2], [1, "b", 1], [2, "c", 2]]);
  assertThrows(() => cutEvalChunks([{ utt: "a", dur_s: 1 }, { dur_s: 1 }], {}, "query.txt"), "query.txt: line 2");
  assertThrows(() => cutEvalChunks([{ utt: "a" }], {}, "ref.txt"), "ref.txt: line 1: line has no 'dur_s'");
  assertThrows(() => cutEvalChunks([], { chunkS: 0 }), "'chunkS' must be a positive number");
  assertThrows(() => cutLineChunks({ utt: "a", dur_s: 1 }, { framesPerSecond: -25 }), "'framesPerSecond'");
  assertThrows(() => cutLineChunks({ utt: "a", dur_s: 1e9 }, { chunkS: 1e-3 }), "exceeds");
});

Deno.test("parseChunkId() inverts the chunk id", () => {
  assertEquals(parseChunkId("sp_0.9-abc-\u2581start-270"), { utt: "sp_0.9-abc", startS: 270 });
  assertThrows(() => parseChunkId("abc"), "not a chunk id");
  assertThrows(() => parseChunkId("abc-\u2581start-x"), "not a chunk id");
});
