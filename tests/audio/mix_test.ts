import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { mixToMono } from "../../lib/audio/mix.ts";

Deno.test("mixToMono() averages the channels", () => {
  const y = mixToMono([new Float32Array([1, 0.5, -1]), new Float32Array([0, 0.5, 1]), new Float32Array([0.5, 0.5, 0])]);
  assertEquals(y, new Float32Array([0.5, 0.5, 0]));
});

Deno.test("mixToMono() copies a single channel", () => {
  const x = new Float32Array([0.1, 0.2]);
  const y = mixToMono([x]);
  assertEquals(y, x);
  assertOk(y !== x);
});

Deno.test("mixToMono() rejects no channels and unequal lengths", () => {
  assertThrows(() => mixToMono([]), "no channels");
  assertThrows(() => mixToMono([new Float32Array(2), new Float32Array(3)]), "channel 1 has 3 samples");
});
