/**
 * The Winograd stride-2 conv (`lib/model/_winograd.ts`, `lib/model/_wasm_simd.ts`): the pure transforms around a
 * plain product against a direct convolution in float64, the SIMD loops against their definitions, and the wasm
 * kernels against the pure twins (bit for bit) and against `tf.conv2d`.
 */
import * as tf from "@tensorflow/tfjs";
import { createPrng } from "../../lib/data/prng.ts";
import { type Expr, LOOPS, simdModuleBytes, simdTransforms } from "../../lib/model/_wasm_simd.ts";
import {
  planesAt,
  winogradApplies,
  winogradConv2d,
  winogradConv2dBackward,
  winogradFilter,
  winogradFilterT,
  winogradInput,
  winogradInputT,
  winogradOutput,
  winogradOutputT,
  winogradShape,
  winogradTransforms,
} from "../../lib/model/_winograd.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { assertEquals, assertOk, assertThrows, relErr } from "../_assert.ts";

const prng = createPrng(41);
const randn = (n: number) => Float32Array.from({ length: n }, () => prng.normal());

/** Direct valid 3x3 stride-2 conv in float64: x (B,H,W,Cin), f (3,3,Cin,Cout) -> (B,ho,wo,Cout). */
function directConv(x: Float32Array, f: Float32Array, b: number, h: number, w: number, cin: number, cout: number) {
  const ho = Math.floor((h - 3) / 2) + 1, wo = Math.floor((w - 3) / 2) + 1;
  const y = new Float64Array(b * ho * wo * cout);
  for (let n = 0; n < b; n++) {
    for (let t = 0; t < ho; t++) {
      for (let u = 0; u < wo; u++) {
        for (let o = 0; o < cout; o++) {
          let acc = 0;
          for (let i = 0; i < 3; i++) {
            for (let j = 0; j < 3; j++) {
              for (let c = 0; c < cin; c++) {
                acc += x[((n * h + 2 * t + i) * w + 2 * u + j) * cin + c]! * f[((i * 3 + j) * cin + c) * cout + o]!;
              }
            }
          }
          y[((n * ho + t) * wo + u) * cout + o] = acc;
        }
      }
    }
  }
  return y;
}

/** The pure twin: transforms around a float64 (tiles, K)·(K, Cout) product per position. */
function twinConv(x: Float32Array, f: Float32Array, b: number, h: number, w: number, cin: number, cout: number) {
  const s = winogradShape(b, h, w, cin);
  const k = (p: number) => planesAt(p >> 2, p & 3) * cin;
  const v = Array.from({ length: 16 }, (_, p) => new Float32Array(s.tiles * k(p)));
  const u = Array.from({ length: 16 }, (_, p) => new Float32Array(k(p) * cout));
  winogradInput(x, s, v);
  winogradFilter(f, cin, cout, u);
  const m = v.map((vp, p) => {
    const out = new Float32Array(s.tiles * cout);
    for (let n = 0; n < s.tiles; n++) {
      for (let o = 0; o < cout; o++) {
        let acc = 0;
        for (let q = 0; q < k(p); q++) acc += vp[n * k(p) + q]! * u[p]![q * cout + o]!;
        out[n * cout + o] = acc;
      }
    }
    return out;
  });
  const y = new Float32Array(b * s.ho * s.wo * cout);
  winogradOutput(m, s, cout, y);
  return { y, v, u, m, s };
}

/** Random conv shapes: heights and widths from the 3x3 minimum up, so that ho and wo fall on every residue mod 3. */
function randomShapes(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    b: 1 + prng.int(0, 2),
    h: 3 + prng.int(0, 16),
    w: 3 + prng.int(0, 16),
    cin: 4 * (1 + prng.int(0, 3)) - (i % 3 === 2 ? 1 : 0), // some not a multiple of 4 (twin only)
    cout: 4 * (1 + prng.int(0, 2)),
  }));
}

Deno.test("winograd twin: transforms around a product equal a direct stride-2 conv (float64), all edge residues", () => {
  for (const { b, h, w, cin, cout } of randomShapes(40)) {
    const x = randn(b * h * w * cin), f = randn(9 * cin * cout);
    const want = directConv(x, f, b, h, w, cin, cout);
    const { y } = twinConv(x, f, b, h, w, cin, cout);
    assertEquals(y.length, want.length);
    const err = relErr(y, want);
    assertOk(err < 1e-5, `${[b, h, w, cin, cout]}: relative error ${err}`);
  }
});

Deno.test("winograd twin: H or W below 3 is an error", () => {
  assertThrows(() => winogradShape(1, 2, 9, 4), "at least 3x3");
});

Deno.test("SIMD module: valid, and every loop computes its expressions exactly (stored or accumulated)", () => {
  assertOk(WebAssembly.validate(simdModuleBytes() as BufferSource));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const simd = simdTransforms(memory) as unknown as Record<string, (...a: number[]) => void>;
  const lanes = 12, bytes = 4 * lanes;
  const f = new Float32Array(memory.buffer);
  const row = (i: number) => f.subarray(i * lanes, (i + 1) * lanes);
  const uniformAt = 14 * lanes; // uniforms: single floats after the 14 rows
  const fr = Math.fround;
  const evaluate = (e: Expr, ins: number[], us: number[]): number => {
    if (typeof e === "number") return ins[e]!;
    if (!Array.isArray(e)) return us[(e as { u: number }).u]!;
    const t = e as Exclude<Expr, number | { u: number }>;
    if (t[0] === "sqrt") return fr(Math.sqrt(evaluate(t[1], ins, us)));
    const [a, b] = [evaluate(t[1], ins, us), evaluate(t[2], ins, us)];
    if (t[0] === "mask") return b > 0 ? a : 0;
    return fr(t[0] === "+" ? a + b : t[0] === "-" ? a - b : t[0] === "*" ? a * b : a / b);
  };
  for (const loop of LOOPS) {
    const uniforms = loop.uniforms ?? 0;
    // Some exact zeros, for the mask; with uniforms (AdamW) positive values, so that the square roots are real.
    f.set(randn(14 * lanes).map((v, i) => (i % 5 === 0 ? 0 : uniforms > 0 ? Math.abs(v) : v)));
    const us = Array.from({ length: uniforms }, (_, i) => fr(0.05 + 0.1 * i));
    f.set(us, uniformAt);
    const before = Array.from({ length: 14 }, (_, i) => Float32Array.from(row(i)));
    const ptrs = [
      ...Array.from({ length: loop.inputs }, (_, i) => i * bytes),
      ...us.map((_, i) => 4 * (uniformAt + i)),
      ...loop.outputs.map((_, o) => (7 + o) * bytes),
    ];
    simd[loop.name]!(...ptrs, bytes);
    for (let j = 0; j < lanes; j++) {
      const ins = before.slice(0, loop.inputs).map((r) => r[j]!);
      loop.outputs.forEach((e, o) => {
        const want = loop.accumulate ? fr(before[7 + o]![j]! + evaluate(e, ins, us)) : evaluate(e, ins, us);
        assertEquals(row(7 + o)[j], want, `${loop.name} output ${o} lane ${j}`);
      });
    }
  }
  assertEquals([...LOOPS.map((l) => l.name), "rowsMulAcc"].sort(), Object.keys(simd).sort()); // rowsMulAcc: wasm_kernels_test
});

Deno.test("winograd wasm kernels: V, U and y equal the twin bit for bit; winogradConv2d equals tf.conv2d", async () => {
  await initBackend("wasm");
  try {
    const shapes = [...randomShapes(24).filter((s) => s.cin % 4 === 0), { b: 1, h: 40, w: 47, cin: 32, cout: 16 }];
    for (const { b, h, w, cin, cout } of shapes) {
      const label = `${[b, h, w, cin, cout]}`;
      const xv = randn(b * h * w * cin), fv = randn(9 * cin * cout);
      const x = tf.tensor4d(xv, [b, h, w, cin]), f = tf.tensor4d(fv, [3, 3, cin, cout]);
      assertOk(winogradApplies(x, f), label);
      const twin = twinConv(xv, fv, b, h, w, cin, cout);
      const { v, u } = winogradTransforms(x, f);
      v.forEach((t, p) => assertOk(t.dataSync().every((a, i) => a === twin.v[p]![i]), `${label}: V_${p}`));
      u.forEach((t, p) => assertOk(t.dataSync().every((a, i) => a === twin.u[p]![i]), `${label}: U_${p}`));
      const y = winogradConv2d(x, f);
      const ref = tf.conv2d(x, f, 2, "valid");
      assertEquals(y.shape, ref.shape, label);
      const err = relErr(y.dataSync(), ref.dataSync());
      assertOk(err < 1e-5, `${label}: relative error ${err} against tf.conv2d`);
      tf.dispose([x, f, y, ref, ...v, ...u]);
    }
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("winograd wasm output kernel: equals the twin's output transform bit for bit on the same products", async () => {
  await initBackend("wasm");
  try {
    for (const { b, h, w, cin, cout } of randomShapes(12).filter((s) => s.cin % 4 === 0)) {
      const xv = randn(b * h * w * cin), fv = randn(9 * cin * cout);
      const twin = twinConv(xv, fv, b, h, w, cin, cout);
      const m: Record<string, tf.Tensor> = {};
      twin.m.forEach((mp, p) => m[`m${p}`] = tf.tensor2d(mp, [twin.s.tiles, cout]));
      const y = tf.engine().runKernel(
        "CoverHunterWinogradOutput",
        m,
        { batch: b, h, w, cin } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
      assertEquals(y.shape, [b, twin.s.ho, twin.s.wo, cout]);
      assertOk(y.dataSync().every((a, i) => a === twin.y[i]), `${[b, h, w, cin, cout]}`);
      tf.dispose([y, ...Object.values(m)]);
    }
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("winogradApplies: only on wasm, for 3x3 filters whose channel counts are multiples of 4", async () => {
  const x = tf.zeros([1, 9, 9, 8]) as tf.Tensor4D;
  assertEquals(winogradApplies(x, tf.zeros([3, 3, 8, 4]) as tf.Tensor4D), false); // cpu backend
  await initBackend("wasm");
  try {
    const xw = tf.zeros([1, 9, 9, 8]) as tf.Tensor4D;
    assertEquals(winogradApplies(xw, tf.zeros([3, 3, 8, 4]) as tf.Tensor4D), true);
    assertEquals(winogradApplies(xw, tf.zeros([3, 3, 8, 6]) as tf.Tensor4D), false);
    assertEquals(winogradApplies(tf.zeros([1, 9, 9, 1]) as tf.Tensor4D, tf.zeros([3, 3, 1, 4]) as tf.Tensor4D), false);
    assertEquals(winogradApplies(xw, tf.zeros([5, 5, 8, 4]) as tf.Tensor4D), false);
  } finally {
    await initBackend("cpu");
  }
});

/** Σ a·b in float64. */
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i]! * b[i]!;
  return acc;
};
const dots = (a: ArrayLike<number>[], b: ArrayLike<number>[]) => a.reduce((acc, ai, i) => acc + dot(ai, b[i]!), 0);

/** |lhs − rhs| relative to Σ|terms| of one side: the adjoint identity up to float32 rounding. */
function assertAdjoint(lhs: number, rhs: number, scale: number, label: string) {
  assertOk(Math.abs(lhs - rhs) <= 1e-5 * scale, `${label}: <Ax, y> = ${lhs}, <x, Aᵀy> = ${rhs}`);
}

Deno.test("winograd twins: the transposed transforms are the adjoints of the forward ones", () => {
  for (const { b, h, w, cin, cout } of randomShapes(30)) {
    const label = `${[b, h, w, cin, cout]}`;
    const s = winogradShape(b, h, w, cin);
    const k = (p: number) => planesAt(p >> 2, p & 3) * cin;
    // Data: <winogradInput(x), V> = <x, winogradInputT(V)>.
    const x = randn(b * h * w * cin);
    const vx = Array.from({ length: 16 }, (_, p) => new Float32Array(s.tiles * k(p)));
    winogradInput(x, s, vx);
    const dv = Array.from({ length: 16 }, (_, p) => randn(s.tiles * k(p)));
    const dx = new Float32Array(x.length);
    winogradInputT(dv, s, dx);
    assertAdjoint(
      dots(vx, dv),
      dot(x, dx),
      dots(vx.map((a) => a.map(Math.abs)), dv.map((a) => a.map(Math.abs))),
      `${label} data`,
    );
    // Output: <winogradOutput(M), Y> = <M, winogradOutputT(Y)>.
    const m = Array.from({ length: 16 }, () => randn(s.tiles * cout));
    const y = new Float32Array(b * s.ho * s.wo * cout);
    winogradOutput(m, s, cout, y);
    const dy = randn(y.length);
    const dm = Array.from({ length: 16 }, () => new Float32Array(s.tiles * cout));
    winogradOutputT(dy, s, cout, dm);
    assertAdjoint(dot(y, dy), dots(m, dm), dot(y.map(Math.abs), dy.map(Math.abs)) * 4, `${label} output`);
    // Filter: <winogradFilter(F), dU> = <F, winogradFilterT(dUᵀ)>.
    const f = randn(9 * cin * cout);
    const u = Array.from({ length: 16 }, (_, p) => new Float32Array(k(p) * cout));
    winogradFilter(f, cin, cout, u);
    const du = Array.from({ length: 16 }, (_, p) => randn(k(p) * cout)); // (K_p, Cout)
    const dut = du.map((g, p) => {
      const t = new Float32Array(g.length);
      for (let q = 0; q < k(p); q++) for (let o = 0; o < cout; o++) t[o * k(p) + q] = g[q * cout + o]!;
      return t;
    });
    const df = new Float32Array(f.length);
    winogradFilterT(dut, cin, cout, df);
    assertAdjoint(
      dots(u, du),
      dot(f, df),
      dots(u.map((a) => a.map(Math.abs)), du.map((a) => a.map(Math.abs))),
      `${label} filter`,
    );
  }
});

Deno.test("winograd wasm backward: transposed kernels equal their twins bit for bit; gradients equal tf.conv2d's", async () => {
  for (
    const { b, h, w, cin, cout } of [...randomShapes(15).filter((s) => s.cin % 4 === 0), {
      b: 1,
      h: 40,
      w: 47,
      cin: 32,
      cout: 16,
    }]
  ) {
    const label = `${[b, h, w, cin, cout]}`;
    const xv = randn(b * h * w * cin), fv = randn(9 * cin * cout);
    const s = winogradShape(b, h, w, cin);
    const dyv = randn(b * s.ho * s.wo * cout);
    // Reference gradients of Σ conv(x, f)·dy from tfjs-cpu's own conv2d gradients.
    await initBackend("cpu");
    const [gx, gf] = tf.tidy(() => {
      const dy = tf.tensor4d(dyv, [b, s.ho, s.wo, cout]);
      const loss = (a: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, c as tf.Tensor4D, 2, "valid"), dy));
      return tf.grads(loss)([tf.tensor4d(xv, [b, h, w, cin]), tf.tensor4d(fv, [3, 3, cin, cout])]).map((g) =>
        g.dataSync()
      );
    });
    await initBackend("wasm");
    try {
      const x = tf.tensor4d(xv, [b, h, w, cin]), f = tf.tensor4d(fv, [3, 3, cin, cout]);
      const dy = tf.tensor4d(dyv, [b, s.ho, s.wo, cout]);
      const attrs = { batch: b, h, w, cin } as unknown as tf.NamedAttrMap;
      // The transposed output transform against its twin.
      const dm = tf.engine().runKernel("CoverHunterWinogradOutputT", { dy }, attrs) as unknown as tf.Tensor[];
      const dmTwin = Array.from({ length: 16 }, () => new Float32Array(s.tiles * cout));
      winogradOutputT(dyv, s, cout, dmTwin);
      dm.forEach((t, p) => assertOk(t.dataSync().every((a, i) => a === dmTwin[p]![i]), `${label}: dM_${p}`));
      // The transposed data transform against its twin, on random dV.
      const dvv = Array.from({ length: 16 }, (_, p) => randn(s.tiles * planesAt(p >> 2, p & 3) * cin));
      const dv: Record<string, tf.Tensor> = {};
      dvv.forEach((d, p) => dv[`d${p}`] = tf.tensor2d(d, [s.tiles, d.length / s.tiles]));
      const dx = tf.engine().runKernel("CoverHunterWinogradInputT", dv, attrs) as tf.Tensor;
      const dxTwin = new Float32Array(xv.length);
      winogradInputT(dvv, s, dxTwin);
      assertOk(dx.dataSync().every((a, i) => a === dxTwin[i]), `${label}: dx`);
      // The whole backward pass.
      const [bx, bf] = winogradConv2dBackward(x, f, dy);
      const ex = relErr(bx.dataSync(), gx!), ef = relErr(bf.dataSync(), gf!);
      assertOk(ex < 1e-5 && ef < 1e-5, `${label}: relative error dx ${ex}, dFilter ${ef}`);
      tf.dispose([x, f, dy, dx, bx, bf, ...dm, ...Object.values(dv)]);
    } finally {
      await initBackend("cpu");
    }
  }
});
