import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { changeTempo } from "../../lib/audio/tempo.ts";
import { decodeAudio } from "../../lib/audio/decode.ts";
import { maxJump, peakFrequency, sine, toneAmplitude } from "./_tone.ts";
import { TEMPO_GOLDEN_RATE, tempoGoldenInput } from "./_tempo_signal.ts";

const RATE = 16000;
const FACTORS = [0.5, 0.8, 1.25, 2];

function rms(y: Float32Array, skip: number): number {
  let p = 0;
  for (let i = skip; i < y.length - skip; i++) p += y[i]! * y[i]!;
  return Math.sqrt(p / (y.length - 2 * skip));
}

Deno.test("changeTempo() keeps a 440 Hz tone's pitch, level and continuity", async (t) => {
  const amp = 0.5;
  const x = sine(RATE, 2 * RATE, 440, amp);
  const slope = amp * 2 * Math.PI * 440 / RATE; // largest step of the sampled sine
  for (const k of FACTORS) {
    const y = changeTempo(x, k, { sampleRateHz: RATE });
    const mid = y.subarray(1600, y.length - 1600); // leave out the zero-padded last segment
    const f = peakFrequency(mid, RATE, 300, 600);
    const jump = maxJump(y.subarray(0, y.length - 1600)) / slope;
    const level = rms(mid, 0) / (amp / Math.SQRT2);
    await t.step(
      `k = ${k}: ${y.length} samples (N/k = ${(x.length / k).toFixed(1)}), ${f.toFixed(2)} Hz, ` +
        `max step ${jump.toFixed(3)} x the sine's, RMS ${level.toFixed(4)} x`,
      () => {
        assertAlmostEquals(y.length, x.length / k, 0.01 * x.length / k, "length");
        assertAlmostEquals(f, 440, 440 * 0.01, "frequency");
        assertOk(jump <= 1.05, `max step ${jump} x the sine's largest step (a click)`);
        assertAlmostEquals(level, 1, 0.02, "level");
      },
    );
  }
});

Deno.test("changeTempo() keeps both partials of the 110 + 440 Hz fixture mix", async (t) => {
  const x = sine(RATE, 2 * RATE, 440, 0.4);
  const low = sine(RATE, 2 * RATE, 110, 0.3);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + low[i]!;
  for (const k of FACTORS) {
    const y = changeTempo(x, k, RATE);
    const mid = y.subarray(1600, y.length - 1600);
    const fHigh = peakFrequency(mid, RATE, 300, 600);
    const fLow = peakFrequency(mid, RATE, 60, 200);
    const aHigh = toneAmplitude(mid, RATE, 440);
    const aLow = toneAmplitude(mid, RATE, 110);
    await t.step(
      `k = ${k}: ${fLow.toFixed(2)} Hz (${aLow.toFixed(3)}), ${fHigh.toFixed(2)} Hz (${aHigh.toFixed(3)})`,
      () => {
        assertAlmostEquals(fHigh, 440, 4.4);
        assertAlmostEquals(fLow, 110, 1.1);
        assertAlmostEquals(aHigh, 0.4, 0.02);
        assertAlmostEquals(aLow, 0.3, 0.015);
      },
    );
  }
});

Deno.test("changeTempo() reproduces `sox tempo` (SoX 14.4.2 golden files)", async (t) => {
  const input = tempoGoldenInput();
  for (const k of [0.8, 1.25]) {
    const file = `tempo_sox_k${k}.wav`;
    const bytes = await Deno.readFile(new URL(`../testdata/audio/${file}`, import.meta.url));
    const sox = (await decodeAudio(bytes, file)).channels[0]!;
    const ours = changeTempo(input, k, { sampleRateHz: TEMPO_GOLDEN_RATE });
    let signal = 0;
    let error = 0;
    for (let i = 0; i < sox.length; i++) {
      signal += sox[i]! * sox[i]!;
      error += (ours[i]! - sox[i]!) ** 2;
    }
    const snrDb = 10 * Math.log10(signal / error);
    await t.step(
      `k = ${k}: ${ours.length} samples (sox ${sox.length}), SNR vs sox ${snrDb.toFixed(1)} dB (>= 100)`,
      () => {
        assertEquals(ours.length, sox.length);
        assertOk(snrDb >= 100, `SNR ${snrDb} dB`);
      },
    );
  }
});

Deno.test("changeTempo() is deterministic and leaves its input untouched", () => {
  const x = sine(RATE, RATE, 261.6, 0.3);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + 0.1 * Math.sin(i * i * 1e-6);
  const copy = x.slice();
  const a = changeTempo(x, 1.1);
  const b = changeTempo(x, 1.1, { sampleRateHz: 16000 });
  assertEquals(a, b);
  assertEquals(x, copy);
});

Deno.test("changeTempo() handles k = 1, empty and very short inputs", () => {
  const x = sine(RATE, 1000, 440, 0.5);
  const same = changeTempo(x, 1);
  assertEquals(same, x);
  assertOk(same !== x);
  assertEquals(changeTempo(new Float32Array(0), 1.2).length, 0);
  for (const k of [0.5, 0.8, 1.2, 2]) {
    for (const n of [1, 10, 500, 1311, 1313]) {
      assertEquals(changeTempo(new Float32Array(n).fill(0.1), k).length, Math.round(n / k), `n = ${n}, k = ${k}`);
    }
  }
});

Deno.test("changeTempo() leaves silence silent", () => {
  const y = changeTempo(new Float32Array(RATE), 0.9);
  assertEquals(y.length, Math.round(RATE / 0.9));
  assertOk(y.every((v) => v === 0));
});

Deno.test("changeTempo() validates its arguments", () => {
  const x = new Float32Array(100);
  assertThrows(() => changeTempo(x, 0), "'factor'");
  assertThrows(() => changeTempo(x, NaN), "'factor'");
  assertThrows(() => changeTempo(x, 11), "'factor'");
  assertThrows(() => changeTempo(x, 1.1, { sampleRateHz: 0 }), "'sampleRateHz'");
  assertThrows(() => changeTempo(x, 1.1, { segmentMs: 20, overlapMs: 12 }), "must exceed twice the overlap");
});
