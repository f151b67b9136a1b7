import { join } from "node:path";
import { assertEquals, assertOk, assertRejects, assertThrows } from "../_assert.ts";
import { writeRandomModelDir } from "../_model_dir.ts";
import {
  type AlignTrack,
  alignTrackPairs,
  groupByLabel,
  isSpeedVariant,
  modeShift,
  selectAlignLines,
} from "../../lib/eval/align.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { formatLine, readLines } from "../../lib/io/lines.ts";
import { UsageError } from "../../lib/cli/args.ts";
import { main } from "../../tasks/align.ts";

// Unit vector e_k in `dim` dimensions, optionally scaled.
const e = (k: number, dim = 8, scale = 1) => Array.from({ length: dim }, (_, i) => (i === k ? scale : 0));
// Tracks of 15 s windows from per-chunk embeddings; returns what alignTrackPairs takes.
function build(spec: { utt: string; label: number | string; chunks: number[][] }[]) {
  const tracks: AlignTrack[] = spec.map((s) => ({
    utt: s.utt,
    label: s.label,
    startS: s.chunks.map((_, c) => 15 * c),
  }));
  const dim = spec[0]!.chunks[0]!.length;
  const data = Float32Array.from(spec.flatMap((s) => s.chunks.flat()));
  return { tracks, embeddings: { data, dim, chunkCounts: spec.map((s) => s.chunks.length) } };
}
const pairOf = (pairs: ReturnType<typeof alignTrackPairs>, i: string, j: string) =>
  pairs.find((p) => p.uttI === i && p.uttJ === j)!;

Deno.test("modeShift(): the most frequent offset; ties to the smallest |shift|, then the smallest shift", () => {
  assertEquals(modeShift([2, 2, 0, 5]), { shift: 2, votes: 2 });
  assertEquals(modeShift([3, -1, 1]), { shift: -1, votes: 1 }); // |−1| = |1| < 3: the negative one
  assertEquals(modeShift([2, -2, 2, -2, 0]), { shift: -2, votes: 2 });
  assertEquals(modeShift([4, 4, 0, 0]), { shift: 0, votes: 2 });
  assertEquals(modeShift([-3, -3, -3, 0, 0]), { shift: -3, votes: 3 });
  assertThrows(() => modeShift([]), "no offsets");
});

Deno.test("groupByLabel(): one pass, groups in first-appearance order, numbers and numeric strings merge", () => {
  assertEquals(groupByLabel([3, 1, 3, "1", 2]), [[0, 2], [1, 3], [4]]);
});

Deno.test("alignTrackPairs(): a delayed version gets the known shift in seconds and chunks, both directions", () => {
  const { tracks, embeddings } = build([
    { utt: "a", label: 0, chunks: [e(0), e(1), e(2), e(3)] },
    // b = an intro (e4), then a's first three chunks: b's chunk at t + 15 is a's chunk at t.
    { utt: "b", label: 0, chunks: [e(4), e(0), e(1), e(2)] },
  ]);
  const pairs = alignTrackPairs(tracks, embeddings, { chunkS: 15 });
  assertEquals(pairs.length, 2);
  // a's last chunk (e3) is equally far from all of b's: it votes 0 (smallest |offset|), the other three vote −1.
  assertEquals(pairOf(pairs, "a", "b"), {
    i: 0,
    j: 1,
    uttI: "a",
    uttJ: "b",
    label: 0,
    shiftS: -15,
    shiftChunks: -1,
    votes: 3,
    chunks: 4,
  });
  const ba = pairOf(pairs, "b", "a");
  assertEquals([ba.shiftS, ba.shiftChunks, ba.votes, ba.chunks], [15, 1, 3, 4]);
});

Deno.test("alignTrackPairs(): shift 0 is allowed (aligned recordings), which the reference could never output", () => {
  const noisy = (k: number) => e(k).map((v, i) => v + 0.01 * ((i * 7 + k) % 3));
  const { tracks, embeddings } = build([
    { utt: "a", label: 5, chunks: [e(0), e(1), e(2)] },
    { utt: "c", label: 5, chunks: [noisy(0), noisy(1), noisy(2)] },
  ]);
  for (const metric of ["cosine", "euclidean"] as const) {
    const pairs = alignTrackPairs(tracks, embeddings, { chunkS: 15, metric });
    for (const p of pairs) assertEquals([p.shiftS, p.shiftChunks, p.votes, p.chunks], [0, 0, 3, 3], metric);
  }
});

Deno.test("alignTrackPairs(): a one-chunk track aligns both ways (the reference raised IndexError)", () => {
  const { tracks, embeddings } = build([
    { utt: "a", label: 0, chunks: [e(0), e(1), e(2), e(3)] },
    { utt: "d", label: 0, chunks: [e(2)] },
  ]);
  const pairs = alignTrackPairs(tracks, embeddings, { chunkS: 15 });
  // d's only chunk is a's chunk at 30 s.
  const da = pairOf(pairs, "d", "a");
  assertEquals([da.shiftS, da.shiftChunks, da.votes, da.chunks], [-30, -2, 1, 1]);
  // Each of a's chunks has only d's chunk to go to: offsets 0, 1, 2, 3, one vote each, so the tie rule gives 0.
  const ad = pairOf(pairs, "a", "d");
  assertEquals([ad.shiftS, ad.votes, ad.chunks], [0, 1, 4]);
});

Deno.test("alignTrackPairs(): tracks are matched by position, so a speed variant's chunks never join its source", () => {
  // The reference gathered i's chunks with `utt_i in key`: "x" is in "sp_0.9-x-▁start-0", so x got 5 chunks.
  const { tracks, embeddings } = build([
    { utt: "x", label: 1, chunks: [e(0), e(1)] },
    { utt: "sp_0.9-x", label: 1, chunks: [e(5), e(6), e(7)] },
    { utt: "y", label: 1, chunks: [e(5), e(0), e(1)] },
  ]);
  const pairs = alignTrackPairs(tracks, embeddings, { chunkS: 15 });
  assertEquals(pairs.length, 6);
  const xy = pairOf(pairs, "x", "y");
  assertEquals([xy.shiftChunks, xy.votes, xy.chunks], [-1, 2, 2]);
  assertEquals(pairOf(pairs, "sp_0.9-x", "y").chunks, 3);
});

Deno.test("alignTrackPairs(): ties between equally near chunks go to the smallest |offset|, then the negative one", () => {
  // j holds e0 at 0 s and at 30 s. i's chunk 1 (e0, at 15 s) is at offset +1 of the first and −1 of the second: it
  // votes −1, and so does i's chunk 0 (e1, j's chunk 1): 2 votes. Had it voted +1, the result would be −1 with 1 vote.
  const { tracks, embeddings } = build([
    { utt: "i", label: 0, chunks: [e(1), e(0)] },
    { utt: "j", label: 0, chunks: [e(0), e(1), e(0)] },
  ]);
  const ij = pairOf(alignTrackPairs(tracks, embeddings, { chunkS: 15 }), "i", "j");
  assertEquals([ij.shiftChunks, ij.votes], [-1, 2]);
  // One chunk at 0 s against copies at offsets 0 and −2: 0 wins.
  const single = build([
    { utt: "i", label: 0, chunks: [e(0)] },
    { utt: "j", label: 0, chunks: [e(0), e(4), e(0)] },
  ]);
  assertEquals(pairOf(alignTrackPairs(single.tracks, single.embeddings, { chunkS: 15 }), "i", "j").shiftChunks, 0);
  // Equally voted shifts: chunk 0 (e3, orthogonal to all of j) votes 0, chunk 1 (e2 = j's chunk 0) votes +1 → 0.
  const split = build([
    { utt: "i", label: 0, chunks: [e(3), e(2)] },
    { utt: "j", label: 0, chunks: [e(2), e(4)] },
  ]);
  const p = pairOf(alignTrackPairs(split.tracks, split.embeddings, { chunkS: 15 }), "i", "j");
  assertEquals([p.shiftChunks, p.votes], [0, 1]);
});

Deno.test("alignTrackPairs(): cosine ignores the embedding norm; euclidean (the reference's) does not", () => {
  const { tracks, embeddings } = build([
    { utt: "i", label: 0, chunks: [[1, 0]] },
    // j's chunk 0 points the same way but is 10× longer; chunk 1 is closer in Euclidean distance.
    { utt: "j", label: 0, chunks: [[10, 0.5], [0.5, 0.5]] },
  ]);
  assertEquals(pairOf(alignTrackPairs(tracks, embeddings, { chunkS: 15 }), "i", "j").shiftChunks, 0);
  assertEquals(
    pairOf(alignTrackPairs(tracks, embeddings, { chunkS: 15, metric: "euclidean" }), "i", "j").shiftChunks,
    -1,
  );
});

Deno.test("alignTrackPairs(): every ordered pair within each work, none across works, sorted by i then j", () => {
  const { tracks, embeddings } = build([
    { utt: "a", label: 0, chunks: [e(0)] },
    { utt: "p", label: 1, chunks: [e(1)] },
    { utt: "b", label: 0, chunks: [e(0)] },
    { utt: "q", label: "1", chunks: [e(1)] },
    { utt: "c", label: 0, chunks: [e(0)] },
    { utt: "alone", label: 2, chunks: [e(2)] },
  ]);
  const pairs = alignTrackPairs(tracks, embeddings, { chunkS: 15 });
  assertEquals(
    pairs.map((p) => `${p.uttI}>${p.uttJ}`),
    ["a>b", "a>c", "p>q", "b>a", "b>c", "q>p", "c>a", "c>b"],
  );
  assertEquals(pairOf(pairs, "q", "p").label, "1");
});

Deno.test("alignTrackPairs(): rejects inconsistent input with a message naming the track", () => {
  const ok = build([{ utt: "a", label: 0, chunks: [e(0), e(1)] }, { utt: "b", label: 0, chunks: [e(0)] }]);
  assertThrows(
    () => alignTrackPairs([{ ...ok.tracks[0]!, startS: [0, 10] }, ok.tracks[1]!], ok.embeddings, { chunkS: 15 }),
    "not a multiple of 15 s",
  );
  assertThrows(
    () => alignTrackPairs([{ ...ok.tracks[0]!, startS: [0] }, ok.tracks[1]!], ok.embeddings, { chunkS: 15 }),
    "track 0 (a)",
  );
  const zero = build([{ utt: "a", label: 0, chunks: [[0, 0]] }, { utt: "b", label: 0, chunks: [[1, 0]] }]);
  assertThrows(() => alignTrackPairs(zero.tracks, zero.embeddings, { chunkS: 15 }), "zero embedding");
  // Euclidean distances are defined for a zero vector.
  assertEquals(alignTrackPairs(zero.tracks, zero.embeddings, { chunkS: 15, metric: "euclidean" }).length, 2);
  assertThrows(
    () => alignTrackPairs(ok.tracks, ok.embeddings, { chunkS: 15, metric: "manhattan" as "cosine" }),
    "'metric'",
  );
  // Starts accumulated by += chunkS (float noise) are accepted.
  const t = build([{ utt: "a", label: 0, chunks: [e(0), e(1), e(2), e(3)] }, { utt: "b", label: 0, chunks: [e(0)] }]);
  const acc = [0, 0.1, 0.2, 0.30000000000000004]; // 0.1 + 0.1 + 0.1
  const shifted = alignTrackPairs([{ ...t.tracks[0]!, startS: acc }, t.tracks[1]!], t.embeddings, { chunkS: 0.1 });
  assertEquals(shifted.map((p) => p.shiftChunks), [0, 0]);
});

Deno.test("selectAlignLines(): skips speed variants (unless asked) and lines alone in their work", () => {
  const lines = [
    { utt: "x", song_id: 0 },
    { utt: "sp_0.9-x", song_id: 0, speed: 0.9, source_utt: "x" },
    { utt: "y", song_id: 0 },
    { utt: "solo", song_id: 1 },
    { utt: "sp_1.1-solo", song_id: 1, speed: 1.1 },
    { perf: "z", work_id: 2 },
    { perf: "w", work_id: 2 },
  ];
  assertEquals(selectAlignLines(lines), { keep: [0, 2, 5, 6], labels: [0, 0, 2, 2], speedVariants: 2, alone: 1 });
  assertEquals(selectAlignLines(lines, { withSpeedVariants: true }), {
    keep: [0, 1, 2, 3, 4, 5, 6],
    labels: [0, 0, 0, 1, 1, 2, 2],
    speedVariants: 0,
    alone: 0,
  });
  assertOk(isSpeedVariant({ utt: "a", speed: 0.8 }) && !isSpeedVariant({ utt: "a", speed: 1 }));
  assertOk(!isSpeedVariant({ utt: "x_sp_0.9" }) && isSpeedVariant({ perf: "sp_0.9-x" }));
  assertThrows(
    () => selectAlignLines([{ utt: "a", song_id: 0 }, { utt: "a", song_id: 0 }], { name: "f" }),
    "lines 1 and 2",
  );
  assertThrows(() => selectAlignLines([{ utt: "a" }], { name: "f" }), "f: line 1");
});

// ---- the task, end to end on a tiny random model and hand-made features ----

const BINS = 16;
const HPARAMS = {
  input_dim: BINS,
  embed_dim: 16,
  encoder: { output_dims: 16, num_blocks: 1, attention_dim: 32 },
  ce: { output_dims: 4 },
  mean_size: 3,
  chunk_frame: [1125],
  chunk_s: 135,
};

// 75 frames (3 s at 25 fps) of a distinct pattern per block id: a few loud bins, noise elsewhere.
function block(id: number): Float32Array {
  const prng = createPrng(100 + id);
  const out = new Float32Array(75 * BINS);
  for (let t = 0; t < 75; t++) {
    for (let f = 0; f < BINS; f++) {
      const loud = (f + id * 5) % BINS < 3 || (f * (id + 2)) % 7 === 0;
      out[t * BINS + f] = (loud ? -10 : -70) + 5 * prng.normal() + 10 * Math.sin((t * (id + 1)) / 9);
    }
  }
  return out;
}

function track(blocks: number[], extraFrames: number): Float32Array {
  const out = new Float32Array((blocks.length * 75 + extraFrames) * BINS).fill(-60);
  blocks.forEach((b, k) => out.set(block(b), k * 75 * BINS));
  return out;
}

async function writeFixture(dir: string, withPairs = true): Promise<string> {
  await writeRandomModelDir(dir, HPARAMS, 7);
  const feats: [string, number, Float32Array, Record<string, unknown>?][] = withPairs
    ? [
      ["A", 0, track([0, 1, 2, 3], 10)], // 12.4 s: chunks at 0, 3, 6, 9 s
      ["B", 0, track([9, 0, 1, 2], 10)], // B = an intro, then A: A at t = B at t + 3 s
      ["C", 0, track([0, 1, 2, 3], 10)], // a copy of A: shift 0
      ["sp_0.9-A", 0, track([5, 6, 7, 8], 30), { speed: 0.9, source_utt: "A" }],
      ["D", 1, track([4], 0).slice(0, 50 * BINS)], // 2 s: one chunk, padded
      ["E", 1, track([5, 4, 6], 10)], // 9.4 s: 3 chunks (the tail after the last whole window is dropped)
      ["F", 2, track([7], 0)], // alone in its work
    ]
    : [["F", 2, track([7], 0)], ["G", 3, track([8], 0)]];
  const lines = [];
  for (const [utt, songId, data, extra] of feats) {
    const feat = join(dir, `${utt}.npy`);
    await Deno.writeFile(feat, encodeNpy({ data, shape: [data.length / BINS, BINS] }));
    lines.push({ utt, song_id: songId, feat, feat_len: data.length / BINS, ...extra });
  }
  const full = join(dir, "full.txt");
  await Deno.writeTextFile(full, lines.map(formatLine).join("\n") + "\n");
  return full;
}

Deno.test("align task: known shifts from a tiny random model, JSON lines out, speed variants skipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "align_" });
  try {
    const full = await writeFixture(dir);
    const out = join(dir, "out", "alignment.txt");
    assertEquals(await main([dir, full, out, "--chunk-s", "3", "--device", "cpu", "--batch", "5"]), 0);
    const rows = await readLines(out);
    // work 0: A, B, C (3·2 ordered pairs); work 1: D, E (2); F alone, sp_0.9-A skipped.
    assertEquals(rows.map((r) => `${r.utt_i}>${r.utt_j}`), ["A>B", "A>C", "B>A", "B>C", "C>A", "C>B", "D>E", "E>D"]);
    assertEquals(Object.keys(rows[0]!), ["utt_i", "utt_j", "song_id", "shift_s", "shift_chunks", "votes", "chunks"]);
    const row = (i: string, j: string) => rows.find((r) => r.utt_i === i && r.utt_j === j)!;
    // A's chunk at t is B's chunk at t + 3 s: shift_s = s_A − s_B = −3, and the three shared chunks agree.
    assertEquals([row("A", "B").shift_s, row("A", "B").shift_chunks, row("A", "B").chunks], [-3, -1, 4]);
    assertOk((row("A", "B").votes as number) >= 3, JSON.stringify(row("A", "B")));
    assertEquals([row("B", "A").shift_s, row("B", "A").shift_chunks], [3, 1]);
    assertEquals([row("A", "C").shift_s, row("A", "C").votes, row("C", "A").shift_s], [0, 4, 0]);
    assertEquals([row("D", "E").chunks, row("E", "D").chunks, row("D", "E").song_id], [1, 3, 1]);

    // With the speed variants: one more line in work 0, so 4·3 + 2 pairs.
    assertEquals(await main([dir, full, out, "--chunk-s", "3", "--device", "cpu", "--with-speed-variants"]), 0);
    const all = await readLines(out);
    assertEquals(all.length, 14);
    assertEquals(all.filter((r) => r.utt_i === "sp_0.9-A").length, 3);
    assertEquals(all.find((r) => r.utt_i === "A" && r.utt_j === "B")!.shift_s, -3);

    // The reference's Euclidean distance finds the same shifts on these clear-cut tracks.
    assertEquals(await main([dir, full, out, "--chunk-s", "3", "--device", "cpu", "--metric", "euclidean"]), 0);
    const euclid = await readLines(out);
    assertEquals(euclid.find((r) => r.utt_i === "A" && r.utt_j === "B")!.shift_s, -3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("align task: usage errors, and nothing to align writes an empty file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "align_" });
  try {
    const full = await writeFixture(dir);
    const out = join(dir, "alignment.txt");
    await assertRejects(() => main([dir, full]), "expected <model_dir> <full.txt> <alignment.txt>");
    await assertRejects(() => main([dir, full, out, "--metric", "manhattan"]), "--metric must be one of");
    await assertRejects(() => main([dir, full, out, "--chunk-s", "0"]), "--chunk-s must be a positive number");
    await assertRejects(() => main([dir, full, out, "--bogus"]), "bogus");
    // 1 s · 25 / mean_size 3 is not a whole number of model frames.
    const err = await assertRejects(() => main([dir, full, out, "--chunk-s", "1", "--device", "cpu"]), "0.12 s");
    assertOk(err instanceof UsageError);
    assertEquals(await main(["--help"]), 0);

    const lonely = await writeFixture(dir, false);
    assertEquals(await main([dir, lonely, out, "--device", "cpu"]), 0);
    assertEquals(await Deno.readTextFile(out), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
