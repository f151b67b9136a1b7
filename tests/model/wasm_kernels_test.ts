/**
 * The in-place data-movement kernels for tfjs-wasm (`lib/model/_wasm_kernels.ts`): each pure helper against an
 * index-by-index reference, and `tf.slice` / `tf.concat` / `tf.sum` on the wasm backend against the same references.
 */
import * as tf from "@tensorflow/tfjs";
import { createPrng } from "../../lib/data/prng.ts";
import {
  concatRows,
  copyBox,
  DEPTHWISE_FILTER_GRAD,
  depthwiseFilterGrad,
  depthwiseTime,
  heapAlloc,
  reluGrad,
  sumRows,
  type WasmBackendLike,
} from "../../lib/model/_wasm_kernels.ts";
import { createOps, nativeOps } from "../../lib/model/_ops.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { assertEquals, assertOk, assertThrows, relErr } from "../_assert.ts";

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

/** Concatenation along `axis` by coordinates: the reference for concatRows and the Concat kernel. */
function referenceConcat(parts: { vals: ArrayLike<number>; shape: number[] }[], axis: number): number[] {
  const outer = parts[0]!.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let r = 0; r < outer; r++) {
    for (const { vals, shape } of parts) {
      const inner = shape.slice(axis).reduce((a, b) => a * b, 1);
      for (let i = 0; i < inner; i++) out.push(vals[r * inner + i]!);
    }
  }
  return out;
}

/** Random shapes that agree except on `axis`. */
function randomConcat(rank: number, count: number) {
  const axis = randInt(rank);
  const base = Array.from({ length: rank }, () => 1 + randInt(rank <= 2 ? 40 : 6));
  const shapes = Array.from(
    { length: count },
    () => base.map((d, i) => (i === axis ? randInt(rank <= 2 ? 40 : 6) : d)),
  );
  shapes[0]![axis] = Math.max(1, shapes[0]![axis]!);
  return { axis, shapes };
}

Deno.test("sumRows and concatRows match the index-by-index references", () => {
  for (let trial = 0; trial < 100; trial++) {
    const rows = 1 + randInt(50), cols = 1 + randInt(70);
    const x = Float32Array.from({ length: rows * cols }, () => prng.normal());
    const got = new Float32Array(cols);
    sumRows(x, rows, cols, got);
    const want = Array.from({ length: cols }, (_, c) => {
      let s = 0;
      for (let r = 0; r < rows; r++) s += x[r * cols + c]!;
      return Math.fround(s);
    });
    assertEquals(Array.from(got), want);
    const { axis, shapes } = randomConcat(1 + (trial % 4), 1 + randInt(4));
    const parts = shapes.map((shape) => ({
      shape,
      vals: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => prng.normal()),
    }));
    const outer = shapes[0]!.slice(0, axis).reduce((a, b) => a * b, 1);
    const out = new Float32Array(parts.reduce((a, p) => a + p.vals.length, 0));
    concatRows(parts.map((p) => ({ vals: p.vals, inner: p.vals.length / outer })), outer, out);
    assertEquals(Array.from(out), referenceConcat(parts, axis), `concat ${JSON.stringify(shapes)} on ${axis}`);
  }
});

Deno.test("wasm Concat and Sum kernels: random shapes and axes match the references; other reductions unchanged", async () => {
  await initBackend("wasm");
  for (let trial = 0; trial < 60; trial++) {
    const rank = 1 + (trial % 4);
    const { axis, shapes } = randomConcat(rank, 1 + randInt(4));
    for (const dtype of ["float32", "int32", "bool"] as const) {
      const parts = shapes.map((shape) => ({
        shape,
        vals: Array.from(
          { length: shape.reduce((a, b) => a * b, 1) },
          () => dtype === "bool" ? randInt(2) : randInt(99),
        ),
      }));
      const y = tf.tidy(() => tf.concat(parts.map((p) => tf.tensor(p.vals, p.shape, dtype)), axis));
      assertEquals(y.dtype, dtype);
      assertEquals(Array.from(await y.data()), referenceConcat(parts, axis), `${dtype} ${JSON.stringify(shapes)}`);
      y.dispose();
    }
    // Sum over the leading k axes (the replaced case) and over the last axis (the stock kernel), with keepDims.
    const shape = Array.from({ length: rank + 1 }, () => 1 + randInt(7));
    const vals = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => prng.normal());
    const k = 1 + randInt(rank);
    for (const keepDims of [false, true]) {
      const [lead, last] = tf.tidy(() => {
        const x = tf.tensor(vals, shape);
        return [tf.sum(x, Array.from({ length: k }, (_, i) => i), keepDims), tf.sum(x, -1, keepDims)];
      });
      const rows = shape.slice(0, k).reduce((a, b) => a * b, 1), cols = vals.length / rows;
      assertEquals(lead!.shape, keepDims ? [...shape.slice(0, k).map(() => 1), ...shape.slice(k)] : shape.slice(k));
      const want = Array.from({ length: cols }, (_, c) => {
        let s = 0;
        for (let r = 0; r < rows; r++) s += vals[r * cols + c]!;
        return s;
      });
      const got = await lead!.data();
      assertOk(want.every((w, c) => Math.abs(got[c]! - w) <= 1e-5 * (1 + Math.abs(w))), `sum over ${k} of ${shape}`);
      assertEquals(last!.shape, keepDims ? [...shape.slice(0, -1), 1] : shape.slice(0, -1));
      const n = shape[rank]!;
      const lastWant = Array.from(
        { length: vals.length / n },
        (_, r) => vals.subarray(r * n, r * n + n).reduce((a, b) => a + b, 0),
      );
      const lastGot = await last!.data();
      assertOk(
        lastWant.every((w, r) => Math.abs(lastGot[r]! - w) <= 1e-5 * (1 + Math.abs(w))),
        `sum over the last axis of ${shape}`,
      );
      tf.dispose([lead!, last!]);
    }
  }
  await initBackend("cpu");
});

Deno.test("wasm Identity kernel: a clone shares the data and outlives its source", async () => {
  await initBackend("wasm");
  const x = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const y = tf.clone(x);
  assertOk(y.dataId === x.dataId, "the clone copied the data");
  x.dispose();
  assertEquals(Array.from(await y.data()), [1, 2, 3, 4, 5, 6]);
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, a)))(y); // saves clones of its inputs
  assertEquals(Array.from(await g.data()), [2, 4, 6, 8, 10, 12]);
  tf.dispose([y, g]);
  await initBackend("cpu");
});

Deno.test("Relu's gradient under wasm: one pass, the values of tfjs's dy·step(x) on cpu (zeros of either sign)", async () => {
  const x = Float32Array.from({ length: 3 * 5 * 7 }, (_, i) => (i % 4 === 0 ? 0 : prng.normal()));
  const r = Float32Array.from({ length: x.length }, () => prng.normal());
  const grad = async () => {
    const [xt, rt] = [tf.tensor(x, [3, 5, 7]), tf.tensor(r, [3, 5, 7])];
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), rt)))(xt);
    const out = Array.from(await g.data(), (v) => v === 0 ? 0 : v); // +0 for tfjs's −0 = (dy < 0)·0
    tf.dispose([xt, rt, g]);
    return out;
  };
  await initBackend("cpu");
  const want = await grad();
  await initBackend("wasm");
  const info = await tf.profile(async () => assertEquals(await grad(), want));
  const names = info.kernels.map((k) => k.name);
  assertOk(names.includes("CoverHunterReluGrad") && !names.includes("Step"), `kernels run: ${names.join(", ")}`);
  const dx = new Float32Array(x.length);
  reluGrad(r, x, dx);
  assertEquals(Array.from(dx), want); // the gradient of sum(relu(x)·r) is r where x > 0, else 0
  assertEquals(x.length % 4, 1, "the kernel's JavaScript tail is exercised too");
  assertOk(want.some((v) => v === 0) && want.some((v) => v !== 0));
  await initBackend("cpu");
});

Deno.test("depthwise filter gradient: the twin equals a float64 sum; the wasm kernel equals the twin bit for bit", async () => {
  await initBackend("wasm");
  try {
    for (const [b, t, c, k] of [[1, 1, 4, 3], [2, 9, 8, 3], [3, 17, 12, 7], [2, 5, 4, 9], [4, 40, 32, 15]] as const) {
      const x = Float32Array.from({ length: b * t * c }, () => prng.normal());
      const dy = Float32Array.from({ length: b * t * c }, () => prng.normal());
      const pad = (k - 1) / 2;
      const want = new Float64Array(c * k);
      for (let bi = 0; bi < b; bi++) {
        for (let ti = 0; ti < t; ti++) {
          for (let j = 0; j < k; j++) {
            const s = ti + j - pad;
            if (s < 0 || s >= t) continue;
            for (let ch = 0; ch < c; ch++) want[ch * k + j]! += x[(bi * t + s) * c + ch]! * dy[(bi * t + ti) * c + ch]!;
          }
        }
      }
      const twin = new Float32Array(c * k);
      depthwiseFilterGrad(x, dy, [b, t, c, k], twin);
      const err = relErr(twin, want);
      assertOk(err < 1e-5, `${[b, t, c, k]}: twin relative error ${err}`);
      const attrs = { k } as unknown as tf.NamedAttrMap;
      const out = tf.engine().runKernel(DEPTHWISE_FILTER_GRAD, {
        x: tf.tensor3d(x, [b, t, c]),
        dy: tf.tensor3d(dy, [b, t, c]),
      }, attrs) as tf.Tensor;
      assertEquals(out.shape, [c, 1, k]);
      assertOk(out.dataSync().every((v, i) => v === twin[i]), `${[b, t, c, k]}: kernel differs from the twin`);
    }
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("depthwise conv on wasm (customGrad, SIMD filter gradient): value and gradients equal tfjs-cpu's own", async () => {
  const [b, t, c, k] = [2, 23, 16, 7];
  const xv = Float32Array.from({ length: b * t * c }, () => prng.normal());
  const wv = Float32Array.from({ length: c * k }, () => prng.normal());
  const rv = Float32Array.from({ length: b * t * c }, () => prng.normal());
  const run = (ops: ReturnType<typeof nativeOps>) =>
    tf.tidy(() => {
      const r = tf.tensor3d(rv, [b, t, c]);
      const f = (x: tf.Tensor, w: tf.Tensor) =>
        tf.sum(tf.mul(ops.depthwiseConv1d(x as tf.Tensor3D, w as tf.Tensor3D), r));
      const [x, w] = [tf.tensor3d(xv, [b, t, c]), tf.tensor3d(wv, [c, 1, k])];
      return [f(x, w), ...tf.grads(f)([x, w])].map((g) => g.dataSync());
    });
  await initBackend("cpu");
  const want = run(nativeOps());
  await initBackend("wasm");
  try {
    const info = await tf.profile(() => {
      const got = run(createOps("wasm"));
      got.forEach((g, i) => assertOk(relErr(g, want[i]!) < 1e-5, `output ${i}: ${relErr(g, want[i]!)}`));
    });
    assertOk(info.kernels.some((kk) => kk.name === DEPTHWISE_FILTER_GRAD), "the SIMD filter gradient ran");
  } finally {
    await initBackend("cpu");
  }
});

/** Explicit padding along time only, for a (B, 1, T, C) depthwise conv. */
const timePad = (l: number, r: number) =>
  [[0, 0], [0, 0], [l, r], [0, 0]] as [[0, 0], [0, 0], [number, number], [0, 0]];

Deno.test("depthwise conv over time on wasm: twin = float64 sum; the kernel = twin bit for bit; other shapes stock", async () => {
  // (b, t, c, k, padLeft, padRight): the model's symmetric padding, an uneven one, a filter longer than the input
  const cases: [number, number, number, number, number, number][] = [
    [2, 37, 12, 15, 7, 7],
    [1, 9, 8, 5, 1, 3],
    [3, 4, 4, 7, 3, 3],
  ];
  await initBackend("wasm");
  try {
    for (const [b, t, c, k, pl, pr] of cases) {
      const x = Float32Array.from({ length: b * t * c }, () => prng.normal());
      const w = Float32Array.from({ length: k * c }, () => prng.normal());
      const tOut = t + pl + pr - k + 1;
      const twin = depthwiseTime(x, w, [b, t, c], k, pl, tOut);
      for (let i = 0; i < twin.length; i++) {
        const [bi, to, ch] = [Math.floor(i / (tOut * c)), Math.floor(i / c) % tOut, i % c];
        let sum = 0;
        for (let j = 0; j < k; j++) {
          const ti = to + j - pl;
          if (ti >= 0 && ti < t) sum += x[(bi * t + ti) * c + ch]! * w[j * c + ch]!;
        }
        assertOk(Math.abs(twin[i]! - sum) <= 1e-5 * (1 + Math.abs(sum)), `twin ${i}: ${twin[i]} vs ${sum}`);
      }
      const y = tf.tidy(() =>
        tf.depthwiseConv2d(tf.tensor4d(x, [b, 1, t, c]), tf.tensor4d(w, [1, k, c, 1]), 1, timePad(pl, pr)).dataSync()
      );
      assertEquals(Array.from(y), Array.from(twin), `(${b}, ${t}, ${c}) * ${k}, pad ${pl}/${pr}`);
    }
    // C = 6 (not a multiple of 4) and a stride of 2 go to the stock kernel, which still gives the right values
    const x = Float32Array.from({ length: 2 * 10 * 6 }, () => prng.normal());
    const w = Float32Array.from({ length: 3 * 6 }, () => prng.normal());
    const got = tf.tidy(() =>
      tf.depthwiseConv2d(tf.tensor4d(x, [2, 1, 10, 6]), tf.tensor4d(w, [1, 3, 6, 1]), 1, timePad(1, 1)).dataSync()
    );
    const err = relErr(got, depthwiseTime(x, w, [2, 10, 6], 3, 1, 10));
    assertOk(err < 1e-6, `C = 6 through the stock kernel: ${err}`);
    const x4 = Float32Array.from({ length: 10 * 8 }, () => prng.normal());
    const w4 = Float32Array.from({ length: 3 * 8 }, () => prng.normal());
    const strided = tf.tidy(() =>
      tf.depthwiseConv2d(tf.tensor4d(x4, [1, 1, 10, 8]), tf.tensor4d(w4, [1, 3, 8, 1]), 2, "valid").dataSync()
    );
    const full = depthwiseTime(x4, w4, [1, 10, 8], 3, 0, 8);
    const every2 = Array.from({ length: 4 * 8 }, (_, i) => full[Math.floor(i / 8) * 16 + (i % 8)]!);
    assertOk(relErr(strided, every2) < 1e-6, "stride 2 through the stock kernel");
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("heapAlloc: malloc's 0 (the heap cannot grow) is an error, not an address to write to", () => {
  const fake = (ptr: number) => ({ wasm: { _malloc: () => ptr } }) as unknown as WasmBackendLike;
  assertEquals(heapAlloc(fake(4096), 512), 4096);
  assertThrows(() => heapAlloc(fake(0), 512), "cannot allocate 512 bytes");
});
