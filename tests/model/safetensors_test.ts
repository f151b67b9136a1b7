import { encodeSafetensors, readSafetensors, type TensorMap } from "../../lib/model/safetensors.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_golden.ts";

Deno.test("encodeSafetensors() / readSafetensors() round-trip F32, F64, I32, I64 and scalars", () => {
  const tensors: TensorMap = new Map([
    ["a.weight", { dtype: "F32", shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-30, -7]) }],
    ["b", { dtype: "F64", shape: [3], data: Float64Array.from([Math.PI, -1e300, 0]) }],
    ["c", { dtype: "I32", shape: [1, 2], data: Int32Array.from([-5, 2 ** 31 - 1]) }],
    ["d.num_batches_tracked", { dtype: "I64", shape: [], data: BigInt64Array.of(123456789012345n) }],
    ["empty", { dtype: "F32", shape: [0, 4], data: new Float32Array(0) }],
  ]);
  const bytes = encodeSafetensors(tensors, { format: "pt" });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(headerLen % 8, 0, "header padded to 8 bytes");
  const back = readSafetensors(bytes);
  assertEquals([...back.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) assertEquals(back.get(name), t, name);
});

Deno.test("readSafetensors() reads the golden model_tiny.safetensors (101 float32 tensors)", async () => {
  const t = readSafetensors(await Deno.readFile(GOLDEN("model_tiny.safetensors")));
  assertEquals(t.size, 101);
  assertEquals(t.get("_encoder.embed.out.0.weight")!.shape, [128, 2944]);
  assertEquals([...t.values()].every((x) => x.dtype === "F32" && x.data instanceof Float32Array), true);
});

Deno.test("readSafetensors() rejects truncated and inconsistent files", () => {
  const good = encodeSafetensors(new Map([["w", { dtype: "F32", shape: [4], data: new Float32Array(4) }]]));
  assertThrows(() => readSafetensors(good.subarray(0, 5)), "too short");
  assertThrows(() => readSafetensors(good.subarray(0, good.length - 4)), "needs 16 bytes");
  const header = (h: unknown) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + 16);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  assertThrows(() => readSafetensors(header({ w: { dtype: "BF16", shape: [2], data_offsets: [0, 4] } })), "BF16");
  assertThrows(() => readSafetensors(header({ w: { dtype: "F32", shape: [3], data_offsets: [0, 16] } })), "needs 12");
  assertThrows(() => readSafetensors(header({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } })), "shape");
  const bad = new Uint8Array(16);
  new DataView(bad.buffer).setBigUint64(0, 1000n, true);
  assertThrows(() => readSafetensors(bad), "exceeds the file");
});

Deno.test("encodeSafetensors() rejects data that does not match dtype or shape", () => {
  assertThrows(
    () => encodeSafetensors(new Map([["w", { dtype: "F64", shape: [1], data: new Float32Array(1) }]])),
    "declared F64",
  );
  assertThrows(
    () => encodeSafetensors(new Map([["w", { dtype: "F32", shape: [2], data: new Float32Array(3) }]])),
    "3 values",
  );
});
