import { assertAlmostEquals, assertEquals, assertOk as assert, assertRejects } from "../_assert.ts";
import { decodeAudio } from "../../lib/audio/decode.ts";
import { encodeWav } from "../../lib/audio/wav.ts";
import { peakFrequency, toneAmplitude } from "./_tone.ts";

const DIR = new URL("../testdata/audio/", import.meta.url);

/** A fixture and what it must decode to (see tests/testdata/audio/README.md for how each was made). */
interface Fixture {
  file: string;
  rateHz: number;
  channels: number;
  seconds: number;
  /** Extra length allowance in samples for codecs with encoder delay/padding (on top of 1 %). */
  delaySamples: number;
  /**
   * Relative tolerance on the tone amplitudes. At 64 kbit/s, MP3 and AAC themselves move the amplitudes by
   * up to 5 %: ffmpeg decodes these very files to 0.380/0.190 @ 440 Hz and 0.285 @ 110 Hz (MP3) and
   * 0.390/0.204 and 0.284 (AAC), the same values as audio-decode.
   */
  ampTolerance: number;
}

const FIXTURES: Fixture[] = [
  { file: "wav_pcm8_22k05_stereo.wav", rateHz: 22050, channels: 2, seconds: 0.5, delaySamples: 0, ampTolerance: 0.02 },
  { file: "wav_pcm16_16k_mono.wav", rateHz: 16000, channels: 1, seconds: 0.8, delaySamples: 0, ampTolerance: 0.01 },
  { file: "wav_pcm24_16k_mono.wav", rateHz: 16000, channels: 1, seconds: 0.5, delaySamples: 0, ampTolerance: 0.01 },
  { file: "wav_pcm32_16k_mono.wav", rateHz: 16000, channels: 1, seconds: 0.45, delaySamples: 0, ampTolerance: 0.01 },
  { file: "wav_float32_16k_mono.wav", rateHz: 16000, channels: 1, seconds: 0.45, delaySamples: 0, ampTolerance: 0.01 },
  { file: "aiff_16k_mono.aiff", rateHz: 16000, channels: 1, seconds: 0.5, delaySamples: 0, ampTolerance: 0.01 },
  { file: "flac_48k_stereo.flac", rateHz: 48000, channels: 2, seconds: 0.5, delaySamples: 0, ampTolerance: 0.01 },
  { file: "flac_22k05_mono.flac", rateHz: 22050, channels: 1, seconds: 0.6, delaySamples: 0, ampTolerance: 0.01 },
  // MP3: encoder delay and frame padding, up to two 1152-sample frames if a decoder ignored the gapless header.
  { file: "mp3_44k1_stereo.mp3", rateHz: 44100, channels: 2, seconds: 1, delaySamples: 2304, ampTolerance: 0.07 },
  // AAC: 1024 (or 2112) priming samples plus padding to a 1024-sample frame (ffmpeg returns 45056 here).
  { file: "aac_44k1_stereo.m4a", rateHz: 44100, channels: 2, seconds: 1, delaySamples: 3136, ampTolerance: 0.07 },
  { file: "vorbis_44k1_stereo.ogg", rateHz: 44100, channels: 2, seconds: 1, delaySamples: 0, ampTolerance: 0.05 },
  { file: "opus_48k_stereo.opus", rateHz: 48000, channels: 2, seconds: 1, delaySamples: 0, ampTolerance: 0.05 },
];

/** Tone amplitudes the fixtures were made with: left 0.4 @ 440 Hz + 0.3 @ 110 Hz, right 0.2 @ 440 + 0.3 @ 110. */
const AMP_440 = [0.4, 0.2];
const AMP_110 = [0.3, 0.3];

for (const fx of FIXTURES) {
  Deno.test(`decodeAudio() decodes ${fx.file} (${fx.rateHz} Hz, ${fx.channels} ch, ${fx.seconds} s)`, async (t) => {
    const bytes = await Deno.readFile(new URL(fx.file, DIR));
    const { channels, sampleRateHz } = await decodeAudio(bytes, fx.file);
    assertEquals(sampleRateHz, fx.rateHz, "sampling rate");
    assertEquals(channels.length, fx.channels, "channel count");
    const expected = Math.round(fx.seconds * fx.rateHz);
    const n = channels[0]!.length;
    await t.step(`length ${n} vs ${expected} (allowed +-1% + ${fx.delaySamples} delay samples)`, () => {
      assert(Math.abs(n - expected) <= 0.01 * expected + fx.delaySamples, `length ${n}, expected ${expected}`);
      for (const ch of channels) assertEquals(ch.length, n);
    });
    for (let c = 0; c < channels.length; c++) {
      const y = channels[c]!;
      const f = peakFrequency(y, fx.rateHz, 300, 600);
      const a440 = toneAmplitude(y, fx.rateHz, 440);
      const a110 = toneAmplitude(y, fx.rateHz, 110);
      await t.step(
        `channel ${c}: peak ${f.toFixed(2)} Hz, amplitude ${a440.toFixed(4)} @ 440 Hz, ${a110.toFixed(4)} @ 110 Hz`,
        () => {
          assertAlmostEquals(f, 440, 440 * 0.002, "440 Hz peak");
          assertAlmostEquals(a440, AMP_440[c]!, AMP_440[c]! * fx.ampTolerance, "amplitude at 440 Hz");
          assertAlmostEquals(a110, AMP_110[c]!, AMP_110[c]! * fx.ampTolerance, "amplitude at 110 Hz");
        },
      );
    }
  });
}

Deno.test("decodeAudio() rejects an empty file, naming it", async () => {
  const bytes = await Deno.readFile(new URL("empty.wav", DIR));
  const e = await assertRejects(() => decodeAudio(bytes, "some/dir/empty.wav"));
  assert(e.message.startsWith("some/dir/empty.wav: "), e.message);
  assert(e.message.includes("empty (0 bytes)"), e.message);
});

Deno.test("decodeAudio() rejects a corrupt WAV (RIFF header, garbage body), naming it", async () => {
  const bytes = await Deno.readFile(new URL("corrupt.wav", DIR));
  const e = await assertRejects(() => decodeAudio(bytes, "corrupt.wav"));
  assert(e.message.startsWith("corrupt.wav: cannot decode audio"), e.message);
});

Deno.test("decodeAudio() rejects a FLAC cut before its first frame, naming it", async () => {
  const bytes = await Deno.readFile(new URL("truncated.flac", DIR));
  const e = await assertRejects(() => decodeAudio(bytes, "truncated.flac"));
  assert(e.message.startsWith("truncated.flac: cannot decode audio"), e.message);
  assert(e.message.includes("no samples decoded"), e.message);
});

Deno.test("decodeAudio() rejects bytes that are no audio format, naming the file", async () => {
  const bytes = await Deno.readFile(new URL("not_audio.bin", DIR));
  const e = await assertRejects(() => decodeAudio(bytes, "not_audio.bin"));
  assert(e.message.startsWith("not_audio.bin: "), e.message);
  assert(e.message.includes("not a recognised audio format"), e.message);
});

Deno.test("decodeAudio() rejects a valid WAV with zero samples", async () => {
  const bytes = encodeWav([new Float32Array(0)], 16000);
  const e = await assertRejects(() => decodeAudio(bytes, "zero.wav"));
  assert(e.message.startsWith("zero.wav: "), e.message);
  assert(e.message.includes("no samples decoded"), e.message);
});

Deno.test("decodeAudio() rejects non-finite samples", async () => {
  const bytes = encodeWav([new Float32Array([0, NaN, 0.5])], 16000, { format: "float32" });
  const e = await assertRejects(() => decodeAudio(bytes, "nan.wav"));
  assert(e.message.startsWith("nan.wav: ") && e.message.includes("non-finite"), e.message);
});

Deno.test("decodeAudio() accepts a silent file", async () => {
  const { channels, sampleRateHz } = await decodeAudio(encodeWav([new Float32Array(800)], 8000), "silence.wav");
  assertEquals(sampleRateHz, 8000);
  assertEquals(channels.length, 1);
  assertEquals(channels[0]!.length, 800);
  assert(channels[0]!.every((v) => v === 0));
});

Deno.test("decodeAudio() returns compact arrays that the caller owns", async () => {
  const bytes = await Deno.readFile(new URL("flac_48k_stereo.flac", DIR));
  const { channels } = await decodeAudio(bytes, "flac_48k_stereo.flac");
  for (const ch of channels) {
    assertEquals(ch.byteOffset, 0);
    assertEquals(ch.byteLength, ch.buffer.byteLength);
  }
});
