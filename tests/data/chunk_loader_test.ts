import { join } from "node:path";
import { assertAlmostEquals, assertEquals, assertOk, assertRejects, assertThrows } from "../_assert.ts";
import { createFeatureStore, loadFeatureStore, PAD_VALUE } from "../../lib/data/chunk_loader.ts";
import { createSpecAug } from "../../lib/data/spec_aug.ts";
import { createPrng, type Prng } from "../../lib/data/prng.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { formatLine, type Line } from "../../lib/io/lines.ts";

const BINS = 4;

/** (frames, 4) with value 100·t + f, so every cell says where it came from. */
function feat(frames: number): Float32Array {
  return Float32Array.from({ length: frames * BINS }, (_, k) => 100 * Math.floor(k / BINS) + (k % BINS));
}

/** Rows [t0, t1) of feat(), one frame per row, −100 beyond `frames`. */
function rows(frames: number, t0: number, t1: number): number[][] {
  const out: number[][] = [];
  for (let t = t0; t < t1; t++) out.push([0, 1, 2, 3].map((f) => (t < frames ? 100 * t + f : PAD_VALUE)));
  return out;
}

/** Mean of consecutive pairs of rows (meanSize 2), flattened. */
function mean2(r: number[][]): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < r.length; i += 2) out.push(...r[i]!.map((v, f) => (v + r[i + 1]![f]!) / 2));
  return out;
}

/** Replays fixed uniforms and counts the draws. */
function uniforms(values: number[]): Prng & { used(): number } {
  let used = 0;
  const base = createPrng(0);
  return {
    ...base,
    next() {
      if (used >= values.length) throw new Error("unexpected draw");
      return values[used++]!;
    },
    used: () => used,
  };
}

async function writeFixture(): Promise<{ dir: string; lines: Line[] }> {
  const dir = await Deno.makeTempDir({ prefix: "chunk_loader_test_" });
  await Deno.mkdir(join(dir, "cqt_feat"));
  const specs: [string, number, number, Record<string, unknown>][] = [
    ["long", 10, 3, {}], // feat_len 10 > chunk_len 4: random crop
    ["exact", 4, 5, {}], // feat_len == chunk_len: start 0, no draw
    ["short", 3, 3, { start: 1 }], // padded with −100
    ["stale_len", 12, 7, { feat_len: 6 }], // line's feat_len wins for the crop
  ];
  const lines: Line[] = [];
  for (const [utt, frames, songId, extra] of specs) {
    const rel = join("cqt_feat", `${utt}.cqt.npy`);
    await Deno.writeFile(join(dir, rel), encodeNpy({ data: feat(frames), shape: [frames, BINS] }));
    lines.push({ utt, song_id: songId, feat: rel, feat_len: frames, dur_s: frames * 0.04, ...extra });
  }
  return { dir, lines };
}

Deno.test("makeBatch() random mode crops at int(U·(feat_len − chunk_len)), pads with −100 at the end, then shorter", async () => {
  const { dir, lines } = await writeFixture();
  try {
    const store = await loadFeatureStore(lines, { baseDir: dir });
    assertEquals(store.bins, BINS);
    assertEquals(store.items.map((i) => i.featLen), [10, 4, 3, 6]);
    // chunkFrame 2 × meanSize 2 = chunk_len 4 raw frames.
    const prng = uniforms([0.99, 0.5]);
    const batch = store.makeBatch([0, 1, 2, 3], { chunkFrame: 2, meanSize: 2, mode: "random", prng });
    assertEquals(batch.shape, [4, 2, BINS]);
    assertEquals(batch.utts, ["long", "exact", "short", "stale_len"]);
    assertEquals(Array.from(batch.labels), [3, 5, 3, 7]);
    assertEquals(prng.used(), 2); // only "long" and "stale_len" draw
    const per = 2 * BINS;
    const item = (b: number) => Array.from(batch.x.subarray(b * per, (b + 1) * per));
    assertEquals(item(0), mean2(rows(10, 5, 9))); // int(0.99 · 6) = 5
    assertEquals(item(1), mean2(rows(4, 0, 4)));
    assertEquals(item(2), mean2(rows(3, 0, 4))); // rows 0..2, then −100: second frame = (row 2 + −100) / 2
    assertAlmostEquals(item(2)[BINS]!, (200 + PAD_VALUE) / 2, 0);
    assertEquals(item(3), mean2(rows(12, 1, 5))); // int(0.5 · (6 − 4)) = 1, not int(0.5 · 8)
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("makeBatch() defined mode uses options.start, else the line's start, else 0; past the end is all −100", async () => {
  const { dir, lines } = await writeFixture();
  try {
    const txt = join(dir, "full.txt");
    await Deno.writeTextFile(txt, lines.map(formatLine).join("\n") + "\n");
    const store = await loadFeatureStore(txt, { baseDir: dir });
    const opts = { chunkFrame: 2, meanSize: 2, mode: "defined" as const };
    const a = store.makeBatch([0, 2], opts); // line starts: none → 0, "short" → 1
    assertEquals(Array.from(a.x.subarray(0, 8)), mean2(rows(10, 0, 4)));
    assertEquals(Array.from(a.x.subarray(8, 16)), mean2(rows(3, 1, 5)));
    const b = store.makeBatch([0, 0, 0], { ...opts, start: [6, 8, 50] });
    assertEquals(Array.from(b.x.subarray(0, 8)), mean2(rows(10, 6, 10)));
    assertEquals(Array.from(b.x.subarray(8, 16)), mean2(rows(10, 8, 12)));
    assertEquals(Array.from(b.x.subarray(16, 24)), new Array(8).fill(PAD_VALUE));
    const c = store.makeBatch([2], { ...opts, start: 0 });
    assertEquals(Array.from(c.x), mean2(rows(3, 0, 4)));
    // meanSize 1 is the identity on the crop.
    const d = store.makeBatch([0], { chunkFrame: 3, meanSize: 1, mode: "defined", start: 2 });
    assertEquals(Array.from(d.x), rows(10, 2, 5).flat());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("makeBatch() applies SpecAug after shorter, drawing from the same prng after the crop", () => {
  const store = createFeatureStore([{ utt: "a", label: 0, featLen: 6, frames: 6, feat: feat(6) }], BINS);
  const aug = createSpecAug({ roll_pitch: { prob: 1, shift_num: 1 } });
  const prng = { ...uniforms([0.5, 0.0]), int: () => 1 };
  // Crop: int(0.5 · (6 − 4)) = 1 → rows 1..4; shorter → 2 frames; roll by +1 bin.
  const batch = store.makeBatch([0], { chunkFrame: 2, meanSize: 2, mode: "random", prng, specAug: aug });
  const plain = mean2(rows(6, 1, 5));
  const rolled = [plain[3], plain[0], plain[1], plain[2], plain[7], plain[4], plain[5], plain[6]];
  assertEquals(Array.from(batch.x), rolled);
});

Deno.test("makeBatch() and loadFeatureStore() reject bad input with clear errors", async () => {
  const store = createFeatureStore([{ utt: "a", label: 0, featLen: 6, frames: 6, feat: feat(6) }], BINS);
  const opts = { chunkFrame: 2, meanSize: 2 };
  assertThrows(() => store.makeBatch([0], { ...opts, mode: "random" }), "'prng' is required");
  assertThrows(() => store.makeBatch([1], { ...opts, mode: "defined" }), "index 1 is outside [0, 1)");
  assertThrows(() => store.makeBatch([0], { ...opts, mode: "random", start: 1, prng: createPrng(1) }), "needs mode");
  assertThrows(() => store.makeBatch([0, 0], { ...opts, mode: "defined", start: [1] }), "1 starts for 2 items");
  assertThrows(() => store.makeBatch([0], { ...opts, mode: "defined", start: -1 }), "start -1");
  assertThrows(() => store.makeBatch([0], { ...opts, meanSize: 0, mode: "defined" }), "'meanSize'");
  assertThrows(
    () => createFeatureStore([{ utt: "a", label: 0, featLen: 2, frames: 2, feat: feat(3) }], BINS),
    "needs 8",
  );
  const { dir, lines } = await writeFixture();
  try {
    await Deno.writeFile(join(dir, "cqt_feat", "wide.npy"), encodeNpy({ data: new Float32Array(10), shape: [2, 5] }));
    await assertRejects(
      () => loadFeatureStore([...lines, { utt: "w", song_id: 1, feat: "cqt_feat/wide.npy" }], { baseDir: dir }),
      "5 bins, but earlier features have 4",
    );
    await assertRejects(() => loadFeatureStore([{ utt: "x", feat: "a.npy" }], { baseDir: dir }), "missing 'song_id'");
    // The fork's keys work too (perf, work_id), and feat_len defaults to the array's rows.
    const fork = await loadFeatureStore([{ perf: "p", work_id: 2, feat: lines[0]!.feat }], { baseDir: dir });
    assertEquals([fork.items[0]!.utt, fork.items[0]!.label, fork.items[0]!.featLen], ["p", 2, 10]);
    assertOk(fork.items[0]!.start === undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
