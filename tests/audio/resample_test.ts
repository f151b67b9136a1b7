import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { createResampler, resample } from "../../lib/audio/resample.ts";
import { resamplerSnrVsAnalytic, resamplerVsSox } from "../../lib/audio/resample_bench.ts";
import { sine, toneAmplitude } from "./_tone.ts";

/** Mean power of `y` over `[skip, length - skip)`. */
function power(y: Float32Array, skip: number): number {
  let p = 0;
  for (let i = skip; i < y.length - skip; i++) p += y[i]! * y[i]!;
  return p / (y.length - 2 * skip);
}

Deno.test("resample() 44.1 kHz -> 16 kHz matches the analytic signal", async (t) => {
  const { snrDb, comparedSamples } = resamplerSnrVsAnalytic({ fromHz: 44100, toHz: 16000, seconds: 1 });
  await t.step(`SNR vs analytic sines (55 Hz - 7.4 kHz) = ${snrDb.toFixed(1)} dB >= 60 dB`, () => {
    assertOk(comparedSamples > 10000);
    assertOk(snrDb >= 60, `SNR ${snrDb} dB`);
  });
  await t.step(`and meets the 110 dB design to within 10 dB (>= 100 dB)`, () => {
    assertOk(snrDb >= 100, `SNR ${snrDb} dB`);
  });
});

Deno.test("resample() converts other rates with the same accuracy", async (t) => {
  // 48k, 32k: integer ratios; 22.05k: 320 phases; 8k, 11.025k, 16k -> 44.1k: upsampling; 16001 and 22050.5:
  // no exact polyphase table; 16.1k: rates so close that a single stage is cheaper.
  const pairs = [
    [48000, 16000],
    [32000, 16000],
    [22050, 16000],
    [8000, 16000],
    [11025, 16000],
    [16000, 44100],
    [44100, 16001],
    [22050.5, 16000],
    [16100, 16000],
  ] as const;
  for (const [fromHz, toHz] of pairs) {
    const { snrDb } = resamplerSnrVsAnalytic({ fromHz, toHz, seconds: 0.5 });
    await t.step(`${fromHz} -> ${toHz} Hz: SNR vs analytic sines = ${snrDb.toFixed(1)} dB >= 100 dB`, () => {
      assertOk(snrDb >= 100, `SNR ${snrDb} dB`);
    });
  }
});

Deno.test("resample() 8 kHz -> 16 kHz leaves no images", async (t) => {
  const x = sine(8000, 8000, 3000, 0.5);
  const y = resample(x, 8000).subarray(800, 15200);
  const imageDb = 20 * Math.log10(toneAmplitude(y, 16000, 5000) / toneAmplitude(y, 16000, 3000));
  await t.step(`image of 3 kHz at 5 kHz: ${imageDb.toFixed(1)} dB (<= -100 dB)`, () => {
    assertOk(imageDb <= -100, `${imageDb} dB`);
  });
});

Deno.test("resample() 44.1 kHz -> 16 kHz removes what would alias", async (t) => {
  const r = createResampler(44100, { toHz: 16000 });
  const skip = 800; // 50 ms of edge
  for (const f of [8100, 9000, 12000, 16000, 21000]) {
    const x = sine(44100, 22050, f, 0.5);
    const attenuationDb = -10 * Math.log10(power(r.run(x), skip) / power(x, 0));
    const needed = f === 12000 ? 80 : 95;
    await t.step(`${f} Hz tone attenuated by ${attenuationDb.toFixed(1)} dB (>= ${needed} dB)`, () => {
      assertOk(attenuationDb >= needed, `${attenuationDb} dB`);
    });
  }
});

Deno.test("resample() 44.1 kHz -> 16 kHz has a flat passband up to 0.95 x 8 kHz", async (t) => {
  const r = createResampler(44100, { toHz: 16000 });
  for (const f of [30, 440, 3000, 6000, 7000, 7600]) {
    const x = sine(44100, 22050, f, 0.5);
    const y = r.run(x);
    const gainDb = 10 * Math.log10(power(y, 800) / power(sine(16000, y.length, f, 0.5), 800));
    await t.step(`${f} Hz: gain ${gainDb.toFixed(5)} dB (within +-0.01 dB)`, () => {
      assertAlmostEquals(gainDb, 0, 0.01);
    });
  }
});

Deno.test("resample() output length is ceil(n * to / from) and the input is untouched", () => {
  for (
    const [fromHz, toHz] of [[44100, 16000], [48000, 16000], [8000, 16000], [44100, 16001], [22050.5, 16000], [
      16000,
      16000,
    ]] as [number, number][]
  ) {
    const r = createResampler(fromHz, { toHz });
    for (const n of [0, 1, 2, 3, 100, 44099, 44100, 44101]) {
      const x = new Float32Array(n).fill(0.25);
      const y = r.run(x);
      const expected = Math.max(0, Math.ceil((n * toHz) / fromHz - 1e-9));
      assertEquals(y.length, expected, `${fromHz} -> ${toHz}, n = ${n}`);
      assertEquals(r.outputLength(n), expected);
      assertOk(x.every((v) => v === 0.25));
    }
  }
});

Deno.test("resample() keeps DC and time alignment (output n is the input at n / toHz)", () => {
  const x = new Float32Array(44100).fill(0.5);
  const y = resample(x, 44100);
  // Away from the edges (where the signal steps from zero) a constant stays that constant.
  for (let i = 1000; i < y.length - 1000; i++) assertAlmostEquals(y[i]!, 0.5, 1e-5);
  // A slow ramp is reproduced at the same instants: no group delay.
  const ramp = Float32Array.from({ length: 48000 }, (_, i) => Math.sin((2 * Math.PI * 5 * i) / 48000));
  const z = resample(ramp, 48000);
  for (let n = 2000; n < 14000; n += 997) assertAlmostEquals(z[n]!, Math.sin((2 * Math.PI * 5 * n) / 16000), 1e-5);
});

Deno.test("resample() with equal rates returns a copy", () => {
  const x = Float32Array.from([1, 2, 3]);
  const y = resample(x, 16000, { toHz: 16000 });
  assertEquals(y, x);
  assertOk(y !== x);
});

Deno.test("createResampler() validates its arguments", () => {
  assertThrows(() => createResampler(0), "'fromHz' must be a positive finite rate");
  assertThrows(() => createResampler(NaN), "'fromHz'");
  assertThrows(() => createResampler(44100, { toHz: -1 }), "'toHz'");
  assertThrows(() => createResampler(44100, { passband: 1 }), "'passband'");
  assertThrows(() => createResampler(44100, { stopbandDb: 10 }), "'stopbandDb'");
});

Deno.test("resamplerVsSox() says so when sox is missing (it never runs sox in the tests)", async () => {
  const r = await resamplerVsSox({ seconds: 0.2, soxCommand: "sox-that-does-not-exist-7f3a" });
  assertEquals(r.available, false);
  assertOk(!r.available && r.reason.includes("was not found on PATH"), JSON.stringify(r));
});
