import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { createSpecAug } from "../../lib/data/spec_aug.ts";
import { createPrng, type Prng } from "../../lib/data/prng.ts";

/** A Prng that replays scripted draws and fails on anything unexpected. */
function scripted(nexts: number[], ints: number[] = []): Prng & { left(): number } {
  const n = [...nexts];
  const i = [...ints];
  return {
    next() {
      if (n.length === 0) throw new Error("unexpected next()");
      return n.shift()!;
    },
    int(lo, hi) {
      const v = i.shift();
      if (v === undefined || v < lo || v > hi) throw new Error(`unexpected int(${lo}, ${hi})`);
      return v;
    },
    normal: () => {
      throw new Error("unexpected normal()");
    },
    pick: () => {
      throw new Error("unexpected pick()");
    },
    shuffle: () => {
      throw new Error("unexpected shuffle()");
    },
    state: () => 0,
    left: () => n.length + i.length,
  };
}

function ramp(frames: number, bins: number): Float32Array {
  return Float32Array.from({ length: frames * bins }, (_, k) => k % bins + 1000 * Math.floor(k / bins));
}

Deno.test("SpecAug roll_pitch rolls every frame circularly over frequency: out[(j + shift) mod F] = in[j]", () => {
  const aug = createSpecAug({ roll_pitch: { prob: 0.5, shift_num: 1 } });
  const up = aug.apply(ramp(2, 5), { frames: 2, bins: 5, prng: scripted([0.5], [1]) }); // U <= prob applies
  assertEquals(Array.from(up), [4, 0, 1, 2, 3, 1004, 1000, 1001, 1002, 1003]);
  const down = aug.apply(ramp(1, 5), { frames: 1, bins: 5, prng: scripted([0.1], [-1]) });
  assertEquals(Array.from(down), [1, 2, 3, 4, 0]);
  const none = aug.apply(ramp(1, 5), { frames: 1, bins: 5, prng: scripted([0.1], [0]) });
  assertEquals(Array.from(none), [0, 1, 2, 3, 4]);
  // U > prob: nothing happens and no shift is drawn.
  const p = scripted([0.51], []);
  assertEquals(Array.from(aug.apply(ramp(1, 5), { frames: 1, bins: 5, prng: p })), [0, 1, 2, 3, 4]);
  assertEquals(p.left(), 0);
  // 96 bins, shift −12 (covers80): bin 0 lands on 84, bin 12 on 0.
  const big = createSpecAug({ roll_pitch: { prob: 1, shift_num: 12 } });
  const out = big.apply(ramp(1, 96), { frames: 1, bins: 96, prng: scripted([0], [-1]) });
  assertEquals([out[84], out[0], out[95]], [0, 12, 11]);
});

Deno.test("SpecAug random_erase writes 2·(rw//2) × 2·(rh//2) rectangles of one value U·(−80)", () => {
  const aug = createSpecAug({ random_erase: { prob: 0.5, erase_num: 1 } });
  // (100, 96): rw = int(100·0.25) = 25, rh = int(96·0.1) = 9 → 24 frames × 8 bins.
  // Draws: prob test, value U = 0.5 → −40, cw = int(U·75) = 40, ch = int(U·87) = 50.
  const feat = new Float32Array(100 * 96);
  aug.apply(feat, { frames: 100, bins: 96, prng: scripted([0.2, 0.5, 40.5 / 75, 50.5 / 87]) });
  let count = 0;
  for (let t = 0; t < 100; t++) {
    for (let f = 0; f < 96; f++) {
      const inside = t >= 28 && t < 52 && f >= 46 && f < 54; // [cw − 12, cw + 12) × [ch − 4, ch + 4)
      assertEquals(feat[t * 96 + f], inside ? -40 : 0, `(${t}, ${f})`);
      if (inside) count++;
    }
  }
  assertEquals(count, 24 * 8);
});

Deno.test("SpecAug random_erase skips a region whose frame or bin start is negative (numpy quirk)", () => {
  const aug = createSpecAug({ random_erase: { prob: 1, erase_num: 3, region_size: [0.25, 0.1] } });
  const feat = new Float32Array(100 * 96);
  // Region 1: cw = 11 < 12 → skipped. Region 2: ch = 3 < 4 → skipped. Region 3: cw = 12, ch = 4 → [0, 24) × [0, 8).
  const prng = scripted([0, 0.25, 11.5 / 75, 50 / 87, 40 / 75, 3.5 / 87, 12.5 / 75, 4.5 / 87]);
  aug.apply(feat, { frames: 100, bins: 96, prng });
  assertEquals(prng.left(), 0); // skipped regions still consume their draws
  const erased: number[] = [];
  feat.forEach((v, k) => {
    if (v !== 0) erased.push(k);
  });
  assertEquals(erased.length, 24 * 8);
  assertEquals(erased[0], 0);
  assertEquals(erased.at(-1), 23 * 96 + 7);
  assertAlmostEquals(feat[0]!, -20, 1e-6);
});

Deno.test("SpecAug runs roll before erase, takes value and region_size from the config, and is seeded", () => {
  const aug = createSpecAug({
    roll_pitch: { prob: 1, shift_num: 2, method: "default" },
    random_erase: { prob: 1, erase_num: 1, region_size: [0.5, 0.5], value: -128 },
  });
  // (8, 8): rw = 4, rh = 4 → 4 × 4. value U = 0.25 → −32; cw = int(U·4) = 2, ch = int(U·4) = 3 → [0,4) × [1,5).
  const feat = ramp(8, 8);
  aug.apply(feat, { frames: 8, bins: 8, prng: scripted([0, 0, 0.25, 0.5, 0.8], [1]) });
  assertEquals(Array.from(feat.subarray(0, 8)), [6, -32, -32, -32, -32, 3, 4, 5]); // rolled by 2, then erased
  assertEquals(Array.from(feat.subarray(32, 40)), [4006, 4007, 4000, 4001, 4002, 4003, 4004, 4005]);
  // With a real generator: same seed, same output; values are either rolled originals or one erase value.
  const covers80 = createSpecAug({
    roll_pitch: { prob: 0.5, shift_num: 12 },
    random_erase: { prob: 0.5, erase_num: 4 },
  });
  const runs = [1, 1, 2].map((seed) => {
    const prng = createPrng(seed);
    const outs: Float32Array[] = [];
    for (let k = 0; k < 8; k++) outs.push(covers80.apply(ramp(40, 96), { frames: 40, bins: 96, prng }));
    return outs;
  });
  assertEquals(runs[0], runs[1]);
  assertOk(JSON.stringify(runs[0]) !== JSON.stringify(runs[2]));
  for (const out of runs[0]!) {
    const negatives = new Set(Array.from(out).filter((v) => v < 0));
    assertOk(negatives.size <= 1 && [...negatives].every((v) => v > -80));
  }
  assertOk(runs[0]!.some((out) => out.some((v) => v < 0)), "some of the 8 draws erase");
});

Deno.test("createSpecAug() rejects unsupported roll methods, unknown keys and out-of-range values", () => {
  const err = assertThrows(
    () => createSpecAug({ roll_pitch: { prob: 0.5, shift_num: 12, method: "low_melody" } }),
    'spec_augmentation.roll_pitch.method "low_melody" is not supported',
  );
  assertOk(err instanceof RangeError);
  assertThrows(
    () => createSpecAug({ roll_pitch: { prob: 0.5, shift_num: 12, method: "flex_melody" } }),
    "not supported",
  );
  assertThrows(() => createSpecAug({ random_erase: { prob: 0.5, erase_num: 4, size: 1 } }), "unknown key 'size'");
  assertThrows(() => createSpecAug({ mask_silence: {} }), "unknown key 'mask_silence'");
  assertThrows(() => createSpecAug({ random_erase: { prob: 2, erase_num: 4 } }), "prob must be in [0, 1]");
  assertThrows(() => createSpecAug({ random_erase: { prob: 0.5 } }), "erase_num must be an integer");
  assertThrows(
    () => createSpecAug({ random_erase: { prob: 0.5, erase_num: 1, region_size: [2, 0.1] } }),
    "region_size",
  );
  assertThrows(() => createSpecAug({ random_erase: { prob: 0.5, erase_num: 1, value: 5 } }), "value must be in");
  const ok = createSpecAug({});
  assertEquals(Array.from(ok.apply(ramp(1, 3), { frames: 1, bins: 3, prng: scripted([]) })), [0, 1, 2]);
  assertThrows(() => ok.apply(new Float32Array(2), { frames: 1, bins: 3, prng: scripted([]) }), "needs 3");
});

Deno.test("createSpecAug() roll_pitch method 'uniform' draws every shift in [-shift_num, shift_num]", () => {
  const aug = createSpecAug({ roll_pitch: { prob: 1, shift_num: 3, method: "uniform" } });
  const prng = createPrng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const feat = new Float32Array(12).fill(0);
    feat[0] = 1; // one frame of 12 bins, a marker in bin 0
    aug.apply(feat, { frames: 1, bins: 12, prng });
    const at = feat.indexOf(1);
    seen.add(at > 6 ? at - 12 : at);
  }
  assertEquals([...seen].sort((a, b) => a - b), [-3, -2, -1, 0, 1, 2, 3]);
});
