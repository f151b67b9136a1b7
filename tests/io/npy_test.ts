import { assertEquals, assertThrows } from "../_assert.ts";
import { encodeNpy, parseNpy, readNpy, statNpy } from "../../lib/io/npy.ts";
import { GOLDEN } from "../_golden.ts";

Deno.test("encodeNpy() and parseNpy() round-trip float32, float64 and int32", () => {
  for (
    const data of [
      new Float32Array([1.5, -2, 3, 4, 5, 6]),
      new Float64Array([1e-300, 2, 3, 4, 5, 6]),
      new Int32Array([1, 2, 3, 4, 5, -6]),
    ]
  ) {
    const bytes = encodeNpy({ data, shape: [2, 3] });
    assertEquals((bytes.length - data.byteLength) % 64, 0); // header aligned to 64 bytes
    const back = parseNpy(bytes, "x", true);
    assertEquals(back.shape, [2, 3]);
    assertEquals(Array.from(back.data as ArrayLike<number>), Array.from(data));
  }
});

Deno.test("parseNpy() reads the reference's float64 features as float32", async () => {
  const arr = await readNpy(GOLDEN("cqt_two_tone_expected.npy"));
  assertEquals(arr.shape, [100, 96]);
  assertEquals(arr.data instanceof Float32Array, true);
  assertEquals(Math.max(...arr.data), 0);
});

Deno.test("parseNpy() transposes Fortran-order arrays", () => {
  const bytes = encodeNpy({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
  const header = new TextDecoder("latin1").decode(bytes.subarray(10, 64));
  const patched = new Uint8Array(bytes);
  const at = 10 + header.indexOf("False");
  patched.set(new TextEncoder().encode("True "), at);
  // Stored column-major [1,2,3,4,5,6] for shape (2,3) means rows [1,3,5] and [2,4,6].
  assertEquals(Array.from(parseNpy(patched).data as Float32Array), [1, 3, 5, 2, 4, 6]);
});

Deno.test("parseNpy() rejects truncated files and bad magic with the file name", () => {
  const bytes = encodeNpy({ data: new Float32Array(10), shape: [10] });
  assertThrows(() => parseNpy(bytes.subarray(0, bytes.length - 4), "feat.npy"), "feat.npy: truncated");
  assertThrows(() => parseNpy(new Uint8Array(20), "x.npy"), "x.npy: not a .npy file");
});

Deno.test("statNpy() accepts complete files only", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = encodeNpy({ data: new Float32Array(96 * 5), shape: [5, 96] });
  await Deno.writeFile(`${dir}/a.npy`, bytes);
  await Deno.writeFile(`${dir}/b.npy`, bytes.subarray(0, bytes.length - 1));
  assertEquals((await statNpy(`${dir}/a.npy`))?.shape, [5, 96]);
  assertEquals(await statNpy(`${dir}/b.npy`), null);
  assertEquals(await statNpy(`${dir}/missing.npy`), null);
  await Deno.remove(dir, { recursive: true });
});
