import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { MPerClassSampler } from "../../lib/data/sampler.ts";

/** song_id per line: class k has sizes[k] lines; lines are interleaved to exercise file-order bookkeeping. */
function songIds(sizes: number[]): number[] {
  const out: number[] = [];
  const left = [...sizes];
  while (left.some((n) => n > 0)) {
    left.forEach((n, k) => {
      if (n > 0) {
        out.push(k * 10); // ids need not be dense
        left[k] = n - 1;
      }
    });
  }
  return out;
}

Deno.test("MPerClassSampler expands short classes by repetition and sizes the epoch from the expanded total", () => {
  // m = 4: sizes 2 → 4, 3 → 6 (whole list twice), 8 → 8, 1 → 4: Σ 22 → 16 with batch 8 → 2 batches.
  const s = new MPerClassSampler(songIds([2, 3, 8, 1]), { m: 4, batchSize: 8, seed: 1 });
  assertEquals(s.sampleLength, 16);
  assertEquals(s.numIters, 2);
  assertEquals(s.numClasses, 4);
  assertEquals(s.epoch().length, 2);
  // A single-item class fills its m slots with copies of that item.
  assertEquals(new MPerClassSampler([7], { m: 4, batchSize: 4, seed: 1 }).epoch(), [[0, 0, 0, 0]]);
  // m = 8, batch 16 (the original's covers80 loader): 164 items of 80 works, 77×2 + 2×3 + 1×4, all expanded to 8
  // or 9 (3 → 9), 4 → 8: Σ = 77·8 + 2·9 + 8 = 642 → 640 → 40 batches.
  const covers80 = [...Array(77).fill(2), 3, 3, 4];
  const c = new MPerClassSampler(songIds(covers80), { m: 8, batchSize: 16, seed: 1234 });
  assertEquals(c.numIters, 40);
});

Deno.test("MPerClassSampler batches hold batchSize/m distinct classes × m items of each", () => {
  const ids = songIds([2, 3, 8, 1, 5, 9]);
  const s = new MPerClassSampler(ids, { m: 4, batchSize: 12, seed: 7 });
  for (let epoch = 0; epoch < 20; epoch++) {
    for (const batch of s.epoch()) {
      assertEquals(batch.length, 12);
      for (let g = 0; g < 3; g++) {
        const group = batch.slice(g * 4, g * 4 + 4);
        const cls = ids[group[0]!]!;
        assertOk(group.every((i) => ids[i] === cls), `group ${group} mixes classes`);
        // Each index appears at most as often as in the expanded list (ceil(m / size) copies).
        const size = ids.filter((x) => x === cls).length;
        const copies = size >= 4 ? 1 : Math.ceil(4 / size);
        for (const i of group) assertOk(group.filter((j) => j === i).length <= copies);
        if (size >= 4) assertEquals(new Set(group).size, 4);
      }
      const classes = [0, 1, 2].map((g) => ids[batch[g * 4]!]);
      assertEquals(new Set(classes).size, 3, "classes are drawn without replacement within a batch");
    }
  }
});

Deno.test("MPerClassSampler is deterministic per seed, and resumes exactly from state()", () => {
  const ids = songIds([4, 6, 3, 8, 2, 5, 7]);
  const a = new MPerClassSampler(ids, { m: 2, batchSize: 6, seed: 42 });
  const b = new MPerClassSampler(ids, { m: 2, batchSize: 6, seed: 42 });
  const c = new MPerClassSampler(ids, { m: 2, batchSize: 6, seed: 43 });
  const e1 = a.epoch();
  assertEquals(b.epoch(), e1);
  assertOk(JSON.stringify(c.epoch()) !== JSON.stringify(e1));
  const saved = a.state();
  const next = [a.epoch(), a.epoch()];
  const restored = new MPerClassSampler(ids, {
    m: 2,
    batchSize: 6,
    seed: 42,
    state: JSON.parse(JSON.stringify(saved)),
  });
  assertEquals([restored.epoch(), restored.epoch()], next);
  // The class order carries over between epochs (in-place shuffle), so it is part of the state.
  assertEquals(saved.labels.length, 7);
  assertThrows(
    () => new MPerClassSampler(ids.slice(0, 3), { m: 2, batchSize: 6, seed: 42, state: saved }),
    "classes do not match",
  );
});

Deno.test("MPerClassSampler with fewer classes than batchSize/m fills the reference's flat list (index 0 tail)", () => {
  // m = 1 (validation), batch 4, 3 classes × 2 items: Σ 6 → 4 → 1 iteration that fills 3 slots; slot 3 stays 0.
  const ids = [0, 1, 2, 0, 1, 2];
  const s = new MPerClassSampler(ids, { m: 1, batchSize: 4, seed: 5 });
  assertEquals(s.numIters, 1);
  const [batch] = s.epoch();
  assertEquals(batch!.length, 4);
  assertEquals(new Set(batch!.slice(0, 3).map((i) => ids[i])).size, 3);
  assertEquals(batch![3], 0);
});

Deno.test("MPerClassSampler rejects batch sizes that m does not divide, and bad m", () => {
  assertThrows(
    () => new MPerClassSampler([0, 0, 1, 1], { m: 8, batchSize: 20, seed: 1 }),
    "m_per_class must divide batch_size without remainder: batch_size 20, m 8",
  );
  const err = assertThrows(() => new MPerClassSampler([0], { m: 0, batchSize: 4, seed: 1 }), "'m'");
  assertOk(err instanceof RangeError);
  assertThrows(() => new MPerClassSampler([0, 0.5], { m: 1, batchSize: 1, seed: 1 }), "line 1 has class id 0.5");
  // An epoch with nothing to sample is empty, not an error.
  assertEquals(new MPerClassSampler([], { m: 1, batchSize: 4, seed: 1 }).epoch(), []);
});
