import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { encodeWav } from "../../lib/audio/wav.ts";
import { decodeAudio } from "../../lib/audio/decode.ts";
import { createPrng } from "../../lib/data/prng.ts";

function noise(seed: number, length: number, amp: number): Float32Array {
  const prng = createPrng(seed);
  return Float32Array.from({ length }, () => amp * (2 * prng.next() - 1));
}

Deno.test("encodeWav() float32 round-trips exactly through decodeAudio(), mono and stereo", async () => {
  for (const channelCount of [1, 2, 3]) {
    const channels = Array.from({ length: channelCount }, (_, c) => noise(10 + c, 1001, 1.5));
    const { channels: back, sampleRateHz } = await decodeAudio(
      encodeWav(channels, 44100, { format: "float32" }),
      "float.wav",
    );
    assertEquals(sampleRateHz, 44100);
    assertEquals(back.length, channelCount);
    for (let c = 0; c < channelCount; c++) assertEquals(back[c], channels[c]);
  }
});

Deno.test("encodeWav() pcm16 round-trips through decodeAudio() within half a quantisation step", async () => {
  for (const [rate, channelCount] of [[16000, 1], [22050, 2], [48000, 2]] as const) {
    const channels = Array.from({ length: channelCount }, (_, c) => noise(20 + c, 2000, 0.99));
    const { channels: back, sampleRateHz } = await decodeAudio(encodeWav(channels, rate), "pcm16.wav");
    assertEquals(sampleRateHz, rate);
    assertEquals(back.length, channelCount);
    for (let c = 0; c < channelCount; c++) {
      assertEquals(back[c]!.length, 2000);
      let worst = 0;
      for (let i = 0; i < 2000; i++) worst = Math.max(worst, Math.abs(back[c]![i]! - channels[c]![i]!));
      // Writer scales by 32767 (positive) / 32768 (negative); a reader dividing by 32768 adds up to 1/32768.
      assertAlmostEquals(worst, 0, 1.5 / 32768, `worst error ${worst} at ${rate} Hz, channel ${c}`);
    }
  }
});

Deno.test("encodeWav() pcm16 clips out-of-range samples to full scale", async () => {
  const { channels } = await decodeAudio(encodeWav([new Float32Array([2, -2, 1, -1])], 8000), "clip.wav");
  const y = channels[0]!;
  assertAlmostEquals(y[0]!, 1, 1 / 32768);
  assertAlmostEquals(y[1]!, -1, 1e-9);
  assertAlmostEquals(y[2]!, 1, 1 / 32768);
  assertAlmostEquals(y[3]!, -1, 1e-9);
});

Deno.test("encodeWav() rejects no channels and channels of different lengths", () => {
  assertThrows(() => encodeWav([], 16000), "no channels");
  assertThrows(() => encodeWav([new Float32Array(2), new Float32Array(3)], 16000), "differ in length");
});
