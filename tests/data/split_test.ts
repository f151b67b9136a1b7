import { assertEquals, assertOk } from "../_assert.ts";
import { sourceUtt, splitByWork } from "../../lib/data/split.ts";
import { createPrng } from "../../lib/data/prng.ts";
import type { Line } from "../../lib/io/lines.ts";

function lines(works: number, recs: number, speeds: number[]): Line[] {
  const out: Line[] = [];
  for (let w = 0; w < works; w++) {
    for (let r = 0; r < recs; r++) {
      for (const k of speeds) {
        const src = `w${w}r${r}`;
        out.push(k === 1 ? { utt: src, song_id: w } : { utt: `sp_${k}-${src}`, source_utt: src, song_id: w });
      }
    }
  }
  return out;
}

Deno.test("splitByWork() keeps every speed variant of a recording in one split", () => {
  const all = lines(20, 5, [0.9, 1, 1.1]);
  const s = splitByWork(
    all,
    { valDataSplit: 0.2, valUnseen: 0.1, testDataSplit: 0.2, testDataUnseen: 0.1 },
    createPrng(1),
  );
  const where = new Map<string, string>();
  for (const [name, part] of [["train", s.train], ["val", s.val], ["test", s.test]] as const) {
    for (const l of part) {
      const prev = where.get(sourceUtt(l));
      assertOk(prev === undefined || prev === name, `${sourceUtt(l)} in ${prev} and ${name}`);
      where.set(sourceUtt(l), name);
    }
  }
  assertEquals(s.train.length + s.val.length + s.test.length, all.length);
  assertEquals(s.testOnlySongIds.length, 2);
  assertEquals(s.valOnlySongIds.length, 2);
  for (const id of s.testOnlySongIds) assertOk(s.test.filter((l) => l.song_id === id).length === 15);
  // Seen works: 1 recording (3 lines) in val, 1 in test, 3 in train.
  const seen = [...Array(20).keys()].filter((w) => !s.testOnlySongIds.includes(w) && !s.valOnlySongIds.includes(w));
  for (const w of seen) {
    assertEquals(s.val.filter((l) => l.song_id === w).length, 3);
    assertEquals(s.test.filter((l) => l.song_id === w).length, 3);
  }
});

Deno.test("splitByWork() is deterministic and always leaves a seen work one training recording", () => {
  const all = lines(6, 2, [1]);
  const opts = { valDataSplit: 0.1, valUnseen: 0, testDataSplit: 0.1, testDataUnseen: 0 };
  const a = splitByWork(all, opts, createPrng(7));
  const b = splitByWork(all, opts, createPrng(7));
  assertEquals(a, b);
  for (let w = 0; w < 6; w++) assertEquals(a.train.filter((l) => l.song_id === w).length, 1);
  assertEquals(a.test.length, 0); // two recordings: one for val, one for train, none left for test
});

Deno.test("splitByWork() with zero fractions puts everything in train", () => {
  const all = lines(3, 2, [1]);
  const s = splitByWork(all, { valDataSplit: 0, valUnseen: 0, testDataSplit: 0, testDataUnseen: 0 }, createPrng(1));
  assertEquals(s.train, all);
});
