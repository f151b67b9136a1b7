/** The shared WebAssembly encoding (`lib/wasm/asm.ts`): LEB128 against the specification's examples, and modules. */
import { body, forLoop, I32, moduleBytes, op, sleb, uleb } from "../../lib/wasm/asm.ts";
import { assertEquals, assertOk, assertThrows } from "../_assert.ts";

Deno.test("uleb/sleb: the LEB128 examples (DWARF spec), edges, and bad values", () => {
  assertEquals(uleb(0), [0x00]);
  assertEquals(uleb(127), [0x7f]);
  assertEquals(uleb(128), [0x80, 0x01]);
  assertEquals(uleb(624485), [0xe5, 0x8e, 0x26]);
  assertEquals(uleb(2 ** 32 - 1), [0xff, 0xff, 0xff, 0xff, 0x0f]); // past int32: no sign wrap
  assertEquals(sleb(0), [0x00]);
  assertEquals(sleb(63), [0x3f]);
  assertEquals(sleb(64), [0xc0, 0x00]);
  assertEquals(sleb(-1), [0x7f]);
  assertEquals(sleb(-64), [0x40]);
  assertEquals(sleb(-65), [0xbf, 0x7f]);
  assertEquals(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assertThrows(() => uleb(-1), "uleb: bad value -1");
  assertThrows(() => uleb(1.5), "uleb: bad value 1.5");
  assertThrows(() => sleb(0.5), "sleb: bad value 0.5");
});

Deno.test("moduleBytes: one function on an imported memory, and on its own exported memory", () => {
  // fill(ptr, n): stores i at ptr + 4i for i < n, by forLoop over byte offsets
  const [P, N, I] = [0, 1, 2];
  const code = forLoop(I, [...op.get(N), ...op.i32Const(4), ...op.i32Mul], 4, [
    ...op.get(P),
    ...op.get(I),
    ...op.i32Add,
    ...op.get(I),
    ...op.i32Const(4),
    0x6e, // i32.div_u
    0x36,
    0x02,
    0x00, // i32.store
  ]); // deno-fmt-ignore
  const fill = { name: "fill", params: [I32, I32], body: body([[1, I32]], code) };
  const imported = new WebAssembly.Memory({ initial: 1 });
  const a = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes([fill])), { env: { memory: imported } });
  (a.exports.fill as (p: number, n: number) => void)(64, 5);
  assertEquals(Array.from(new Int32Array(imported.buffer, 64, 6)), [0, 1, 2, 3, 4, 0]);
  const b = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes([{ ...fill, params: 2 }], { pages: 2 })));
  const own = b.exports.memory as WebAssembly.Memory;
  assertOk(own.buffer.byteLength === 2 * 65536, `pages: ${own.buffer.byteLength}`);
  (b.exports.fill as (p: number, n: number) => void)(0, 3);
  assertEquals(Array.from(new Int32Array(own.buffer, 0, 4)), [0, 1, 2, 0]);
});
