import { assertAlmostEquals, assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { loadAudio } from "../../lib/audio/load.ts";
import { mixToMono } from "../../lib/audio/mix.ts";
import { peakNormalize } from "../../lib/audio/normalize.ts";
import { encodeWav } from "../../lib/audio/wav.ts";
import { peakFrequency, toneAmplitude } from "./_tone.ts";

const DIR = new URL("../testdata/audio/", import.meta.url);
const path = (file: string) => new URL(file, DIR).pathname;

function peak(y: Float32Array): number {
  let m = 0;
  for (const v of y) m = Math.max(m, Math.abs(v));
  return m;
}

// Stereo fixtures mix to 0.3 @ 440 Hz + 0.3 @ 110 Hz; mono ones hold 0.4 @ 440 Hz + 0.3 @ 110 Hz.
const CASES = [
  { file: "mp3_44k1_stereo.mp3", seconds: 1, ratio: 1 },
  { file: "opus_48k_stereo.opus", seconds: 1, ratio: 1 },
  { file: "flac_48k_stereo.flac", seconds: 0.5, ratio: 1 },
  { file: "wav_pcm8_22k05_stereo.wav", seconds: 0.5, ratio: 1 },
  { file: "flac_22k05_mono.flac", seconds: 0.6, ratio: 4 / 3 },
  { file: "wav_pcm16_16k_mono.wav", seconds: 0.8, ratio: 4 / 3 },
];

for (const c of CASES) {
  Deno.test(`loadAudio() reads ${c.file} as 16 kHz mono peak-normalised audio`, async (t) => {
    const y = await loadAudio(path(c.file));
    const f = peakFrequency(y, 16000, 300, 600);
    const ratio = toneAmplitude(y, 16000, 440) / toneAmplitude(y, 16000, 110);
    await t.step(
      `${y.length} samples, peak ${peak(y).toFixed(6)}, ${f.toFixed(2)} Hz, 440/110 Hz amplitude ratio ${
        ratio.toFixed(3)
      } (expected ${c.ratio.toFixed(3)})`,
      () => {
        assertAlmostEquals(y.length, c.seconds * 16000, 0.01 * c.seconds * 16000);
        assertEquals(peak(y), Math.fround(0.999));
        assertAlmostEquals(f, 440, 1);
        assertAlmostEquals(ratio, c.ratio, 0.08 * c.ratio);
      },
    );
  });
}

Deno.test("loadAudio() resamples to the requested rate", async () => {
  const y = await loadAudio(path("flac_48k_stereo.flac"), { sampleRateHz: 22050 });
  assertEquals(y.length, 11025);
  assertAlmostEquals(peakFrequency(y, 22050, 300, 600), 440, 1);
});

Deno.test("loadAudio() is decode + mixToMono + peakNormalize when no resampling is needed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const left = Float32Array.from({ length: 1600 }, (_, i) => 0.25 * Math.sin(i / 7));
    const right = Float32Array.from({ length: 1600 }, (_, i) => 0.125 * Math.cos(i / 5));
    const file = `${dir}/stereo.wav`;
    await Deno.writeFile(file, encodeWav([left, right], 16000, { format: "float32" }));
    assertEquals(await loadAudio(file), peakNormalize(mixToMono([left, right])));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadAudio() returns a silent file as zeros (the caller decides)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/silence.wav`;
    await Deno.writeFile(file, encodeWav([new Float32Array(4410), new Float32Array(4410)], 44100));
    const y = await loadAudio(file);
    assertEquals(y.length, 1600);
    assertOk(y.every((v) => v === 0));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadAudio() errors name the path", async () => {
  for (const file of ["empty.wav", "corrupt.wav", "truncated.flac", "not_audio.bin", "does_not_exist.wav"]) {
    const p = path(file);
    const e = await assertRejects(() => loadAudio(p));
    assertOk(e.message.startsWith(`${p}: `), e.message);
  }
  await assertRejects(() => loadAudio(path("empty.wav")), "the file is empty");
  await assertRejects(() => loadAudio(path("does_not_exist.wav")), "file not found");
});
