/**
 * The in-place `Slice` kernel for tfjs-wasm (`lib/model/_wasm_slice.ts`): `copyBox` against an index-by-index
 * reference, and `tf.slice` on the wasm backend against the same reference for each dtype and rank.
 */
import * as tf from "@tensorflow/tfjs";
import { createPrng } from "../../lib/data/prng.ts";
import { copyBox } from "../../lib/model/_wasm_slice.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { assertEquals } from "../_assert.ts";

const prng = createPrng(17);
const randInt = (n: number) => Math.floor(prng.next() * n);

/** Element by element: dst[flat(i)] = src[flat(begin + i)]. */
function referenceBox(src: ArrayLike<number>, shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const total = size.reduce((a, b) => a * b, 1);
  for (let o = 0; o < total; o++) {
    let rest = o, s = 0, stride = 1;
    for (let a = shape.length - 1; a >= 0; a--) {
      const i = rest % size[a]!;
      rest = Math.floor(rest / size[a]!);
      s += (begin[a]! + i) * stride;
      stride *= shape[a]!;
    }
    out.push(src[s]!);
  }
  return out;
}

/** A random shape of `rank` and a random box inside it; some axes whole, some of extent 1. */
function randomBox(rank: number, maxDim: number) {
  const shape = Array.from({ length: rank }, () => 1 + randInt(maxDim));
  const begin: number[] = [], size: number[] = [];
  for (const n of shape) {
    const whole = prng.next() < 0.4;
    const b = whole ? 0 : randInt(n);
    begin.push(b);
    size.push(whole ? n : 1 + randInt(n - b));
  }
  return { shape, begin, size };
}

Deno.test("copyBox: random boxes of rank 1-5 match the index-by-index copy", () => {
  for (let trial = 0; trial < 300; trial++) {
    const rank = 1 + (trial % 5);
    const { shape, begin, size } = randomBox(rank, rank <= 2 ? 90 : 9);
    const src = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => prng.normal());
    const dst = new Float32Array(size.reduce((a, b) => a * b, 1));
    copyBox(src, shape, begin, size, dst);
    assertEquals(Array.from(dst), referenceBox(src, shape, begin, size), `shape ${shape} begin ${begin} size ${size}`);
  }
});

Deno.test("wasm Slice kernel: float32, int32 and bool slices match the reference; a large slice grows memory", async () => {
  await initBackend("wasm");
  for (let trial = 0; trial < 60; trial++) {
    const rank = 1 + (trial % 4);
    const { shape, begin, size } = randomBox(rank, rank <= 2 ? 70 : 8);
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, () => randInt(1000) - 500);
    for (const dtype of ["float32", "int32", "bool"] as const) {
      const src = dtype === "bool" ? values.map((v) => (v > 0 ? 1 : 0)) : values;
      const y = tf.tidy(() => tf.slice(tf.tensor(src, shape, dtype), begin, size));
      assertEquals(y.dtype, dtype);
      assertEquals(y.shape, size);
      assertEquals(Array.from(await y.data()), referenceBox(src, shape, begin, size), `${dtype} ${shape} ${begin}`);
      y.dispose();
    }
  }
  // 24 MB in, 16 MB out: the output's allocation may grow the heap, which must not leave a stale view behind.
  const big = tf.range(0, 6_000_000, 1, "float32").reshape([6000, 1000]);
  const cut = tf.slice(big, [1000, 0], [4000, 1000]);
  const got = await cut.data();
  assertEquals([got[0], got[got.length - 1]], [1_000_000, 4_999_999]);
  tf.dispose([big, cut]);
  await initBackend("cpu");
});
