import { assertEquals, assertThrows } from "../_assert.ts";
import { peakNormalize } from "../../lib/audio/normalize.ts";

/** Float32 values from their IEEE-754 bit patterns. */
function fromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

Deno.test("peakNormalize() matches NumPy's y / max(0.001, max(abs(y))) * 0.999 bit for bit", () => {
  // Expected bits from NumPy 2.4.6 on float32 arrays:
  //   y = np.array([...], dtype=np.float32); (y / max(0.001, max(abs(y))) * 0.999).view(np.uint32)
  const y = new Float32Array([0.5, -0.7, 0.123456789, 1e-3, -0.333333]);
  assertEquals(peakNormalize(y), fromBits([0x3f36ac9e, 0xbf7fbe77, 0x3e346b47, 0x3abb0ef9, 0xbef390c3]));
  // Peak below 0.001: divided by 0.001 instead.
  const quiet = new Float32Array([1e-4, -2e-4, 5e-5]);
  assertEquals(peakNormalize(quiet), fromBits([0x3dcc985e, 0xbe4c985e, 0x3d4c985e]));
});

Deno.test("peakNormalize() returns a new array, keeps silence and empty input", () => {
  const y = new Float32Array([0.25, -0.5]);
  const z = peakNormalize(y);
  assertEquals(y, new Float32Array([0.25, -0.5]));
  assertEquals(z[1], -Math.fround(0.999));
  assertEquals(peakNormalize(new Float32Array(3)), new Float32Array(3));
  assertEquals(peakNormalize(new Float32Array(0)).length, 0);
});

Deno.test("peakNormalize() rejects non-finite samples", () => {
  assertThrows(() => peakNormalize(new Float32Array([0, NaN])), "sample 1 is NaN");
  assertThrows(() => peakNormalize(new Float32Array([Infinity])), "sample 0 is Infinity");
});
