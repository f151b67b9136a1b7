import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { lrAt } from "../../lib/train/lr_schedule.ts";

const ORIG = { learningRate: 1e-3, lrDecay: 0.9975, minLr: 1e-4 };

Deno.test("lrAt() decays once per 1000 steps, from the step that is a multiple of 1000 (reference order)", () => {
  assertEquals(lrAt(1, ORIG), 1e-3);
  assertEquals(lrAt(999, ORIG), 1e-3);
  // scheduler.step() runs at step 1000 before its update.
  assertEquals(lrAt(1000, ORIG), 1e-3 * 0.9975);
  assertEquals(lrAt(1999, ORIG), 1e-3 * 0.9975);
  assertEquals(lrAt(2000, ORIG), 1e-3 * 0.9975 * 0.9975);
  // Python: lr = 1e-3; 10 × lr = max(lr·0.9975, 1e-4) → 0.0009752793831785673 (steps 10000..10999).
  assertEquals(lrAt(10999, ORIG), 0.0009752793831785673);
});

Deno.test("lrAt() is max(lr0 · decay^floor(s/1000), min_lr), repeated in float64 like Python", () => {
  let lr = 1e-3;
  for (let s = 1; s <= 40000; s++) {
    if (s % 1000 === 0) lr = Math.max(lr * 0.9, 1e-4);
    if (s % 997 === 0 || s % 1000 < 2) assertEquals(lrAt(s, { ...ORIG, lrDecay: 0.9 }), lr, `step ${s}`);
  }
  // Floor: 1e-3 · 0.9^22 = 9.85e-5 < 1e-4 → 1e-4 from step 22000 on; 0.9^21 = 1.094e-4 is above it.
  assertAlmostEquals(lrAt(21999, { ...ORIG, lrDecay: 0.9 }), 1e-3 * 0.9 ** 21, 1e-16);
  assertEquals(lrAt(22000, { ...ORIG, lrDecay: 0.9 }), 1e-4);
  assertEquals(lrAt(10_000_000, ORIG), 1e-4);
  // Defaults are the covers80 hparams.
  assertEquals(lrAt(1000), 1e-3 * 0.9975);
});

Deno.test("lrAt() honours a custom decay interval", () => {
  const o = { ...ORIG, lrDecay: 0.5, decayInterval: 10 };
  assertEquals([9, 10, 19, 20, 30].map((s) => lrAt(s, o)), [1e-3, 5e-4, 5e-4, 2.5e-4, 1.25e-4]);
  assertEquals(lrAt(40, o), 1e-4);
});

Deno.test("lrAt() hold_steps: a decay due at step t is skipped while t − 1 <= hold_steps", () => {
  const o = { ...ORIG, lrDecay: 0.5, minLr: 0 };
  assertEquals(lrAt(1000, { ...o, holdSteps: 998 }), 5e-4); // 999 updates done > 998
  assertEquals(lrAt(1000, { ...o, holdSteps: 999 }), 1e-3); // 999 <= 999: held
  assertEquals(lrAt(1999, { ...o, holdSteps: 999 }), 1e-3);
  assertEquals(lrAt(2000, { ...o, holdSteps: 999 }), 5e-4); // skipped decays are not made up
  assertEquals(lrAt(5000, { ...o, holdSteps: 2500 }), 1.25e-4); // decays at 3000, 4000 and 5000 only
});

Deno.test("lrAt() warmup: linear from 0 over warmup_steps, then the decay starts from lr0", () => {
  const o = { ...ORIG, lrDecay: 0.5, minLr: 0, warmup: true, warmupSteps: 2500 };
  assertEquals(lrAt(1, o), 1e-3 / 2500);
  assertEquals(lrAt(1250, o), 5e-4);
  assertEquals(lrAt(2500, o), 1e-3);
  assertEquals(lrAt(2501, o), 1e-3); // decays at 1000 and 2000 fell inside the warmup
  assertEquals(lrAt(3000, o), 5e-4);
  assertEquals(lrAt(2500, { ...o, warmup: false }), 2.5e-4);
});

Deno.test("lrAt() rejects steps below 1 and out-of-range options", () => {
  assertThrows(() => lrAt(0, ORIG), "'step' must be an integer >= 1");
  assertThrows(() => lrAt(1.5, ORIG), "'step'");
  assertThrows(() => lrAt(1, { ...ORIG, lrDecay: 0 }), "'lrDecay'");
  assertThrows(() => lrAt(1, { ...ORIG, decayInterval: 0 }), "'decayInterval'");
  assertThrows(() => lrAt(1, { ...ORIG, holdSteps: -1 }), "'holdSteps'");
  assertThrows(() => lrAt(1, { ...ORIG, warmup: true, warmupSteps: 0 }), "'warmupSteps'");
});
