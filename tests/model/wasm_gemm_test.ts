/**
 * The relaxed-SIMD GEMM (`lib/model/_wasm_gemm.ts`) against its float64 twin on random shapes (fresh each run: the
 * seed is in the failure messages), its packers against one another, and tfjs-wasm's `BatchMatMul` (which runs on it) against the
 * cpu backend.
 */
import * as tf from "@tensorflow/tfjs";
import { createPrng } from "../../lib/data/prng.ts";
import {
  gemm,
  GEMM_KC,
  GEMM_MC,
  GEMM_NC,
  gemmApplies,
  type GemmModule,
  gemmModuleBytes,
  gemmScratchBytes,
  gemmTwin,
} from "../../lib/model/_wasm_gemm.ts";
import { wasmGemmApplies } from "../../lib/model/_wasm_kernels.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { assertEquals, assertOk, relErr } from "../_assert.ts";

const seed = Date.now() % 1_000_000; // named in every failure message
const prng = createPrng(seed);
const randInt = (lo: number, hi: number) => lo + Math.floor(prng.next() * (hi - lo + 1));
const randArray = (n: number) => Float32Array.from({ length: n }, () => prng.next() * 2 - 1);

/** A module on its own memory, with a bump allocator (16-byte aligned). */
function standalone(fused: boolean) {
  const memory = new WebAssembly.Memory({ initial: 1600 }); // 100 MiB
  const instance = new WebAssembly.Instance(new WebAssembly.Module(gemmModuleBytes(fused) as BufferSource), {
    env: { memory },
  });
  const e = instance.exports as Record<string, (...args: number[]) => void>;
  const g: GemmModule = { kernels: e, pack: e.pack!, packRows: e.packRows!, packCols: e.packCols! };
  let top = 64;
  const alloc = (bytes: number) => {
    const p = top;
    top += Math.ceil(bytes / 16) * 16 + 16;
    return p;
  };
  const put = (x: Float32Array) => {
    const p = alloc(4 * x.length);
    new Float32Array(memory.buffer, p, x.length).set(x);
    return p;
  };
  return { memory, g, alloc, put, reset: () => top = 64 };
}

/** Shapes that cover every remainder: rows mod 4, columns mod 12 in {0, 4, 8}, depth mod 8, and more than one block. */
function shapes(): [number, number, number][] {
  const out: [number, number, number][] = [[1, 1, 4], [4, 8, 12], [5, 3, 8], [3, 9, 16], [7, 17, 20]];
  for (let i = 0; i < 6; i++) out.push([randInt(1, 70), randInt(1, 90), 4 * randInt(1, 40)]);
  out.push([randInt(GEMM_MC + 1, GEMM_MC + 40), randInt(GEMM_KC + 1, 2 * GEMM_KC + 9), 4 * randInt(1, 30)]);
  out.push([randInt(1, 9), randInt(1, 20), GEMM_NC + 4 * randInt(1, 40)]);
  return out;
}

for (const fused of [true, false]) {
  Deno.test(`wasm gemm (${fused ? "relaxed madd" : "mul + add"}): equals the float64 twin within 1e-5, every shape and transpose`, () => {
    const s = standalone(fused);
    for (const [m, k, n] of shapes()) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          s.reset();
          const a = randArray(m * k), b = randArray(k * n);
          const p = { a: s.put(a), b: s.put(b), c: s.alloc(4 * m * n), m, k, n, transposeA, transposeB };
          new Float32Array(s.memory.buffer, p.c, m * n).fill(Number.NaN); // every element must be written
          gemm(s.g, p, s.alloc(gemmScratchBytes(m, n)));
          const got = new Float32Array(s.memory.buffer, p.c, m * n);
          const err = relErr(got, gemmTwin(a, b, m, k, n, transposeA, transposeB));
          assertOk(
            err < 1e-5,
            `seed ${seed}, (${m}, ${k}, ${n}) ta=${transposeA} tb=${transposeB}: relative error ${err}`,
          );
        }
      }
    }
  });
}

Deno.test("wasm gemm packers: packRows and packCols write what the scalar pack writes (zero padding included)", () => {
  const s = standalone(true);
  for (let trial = 0; trial < 20; trial++) {
    s.reset();
    const w = 4 * randInt(1, 3), panels = randInt(1, 4), k = randInt(1, 40), kpad = Math.ceil(k / 8) * 8;
    const rows = panels * w, ld = rows + 4 * randInt(0, 3); // X (rows, k) stored with a leading dimension
    const kMajor = s.put(randArray(ld * k)); // X(r, kk) at r·4 + kk·4·ld (rows contiguous)
    const rowMajor = s.put(randArray(rows * (k + 4))); // X(r, kk) at r·4·(k+4) + kk·4 (depth contiguous)
    const bytes = 4 * rows * kpad;
    const [d1, d2] = [s.alloc(bytes), s.alloc(bytes)];
    const view = (p: number) => new Float32Array(s.memory.buffer, p, bytes / 4);
    view(d1).fill(Number.NaN);
    view(d2).fill(Number.NaN);
    s.g.packRows(kMajor, d1, panels, k, kpad, 4 * ld, w);
    s.g.pack(kMajor, d2, rows, k, 0, kpad, 4, 4 * ld, w);
    assertEquals(Array.from(view(d1)), Array.from(view(d2)), `seed ${seed}, packRows w=${w} k=${k}`);
    const k4 = k - (k % 4);
    view(d1).fill(Number.NaN);
    s.g.packCols(rowMajor, d1, panels, k4, kpad, 4 * (k + 4), w);
    s.g.pack(rowMajor, d1, rows, k, k4, kpad, 4 * (k + 4), 4, w); // the depth past k4, as `gemm` does
    s.g.pack(rowMajor, d2, rows, k, 0, kpad, 4 * (k + 4), 4, w);
    assertEquals(Array.from(view(d1)), Array.from(view(d2)), `seed ${seed}, packCols w=${w} k=${k}`);
  }
});

Deno.test("wasmGemmApplies: float32, n a multiple of 4, matching depth, batch dims equal or one side single", () => {
  const f = (shape: number[]) => ({ shape, dtype: "float32" });
  assertOk(wasmGemmApplies(f([3, 5]), f([5, 8])));
  assertOk(wasmGemmApplies(f([5, 3]), f([8, 5]), true, true));
  assertOk(wasmGemmApplies(f([2, 4, 3, 5]), f([2, 4, 5, 8])));
  assertOk(wasmGemmApplies(f([2, 4, 3, 5]), f([1, 5, 8])));
  assertOk(!wasmGemmApplies(f([3, 5]), f([5, 6])), "n = 6");
  assertOk(!wasmGemmApplies(f([3, 5]), f([4, 8])), "depth 5 vs 4");
  assertOk(!wasmGemmApplies(f([2, 3, 5]), f([3, 5, 8])), "batch 2 vs 3");
  assertOk(!wasmGemmApplies({ shape: [3, 5], dtype: "int32" }, f([5, 8])), "int32");
  assertOk(!gemmApplies(0, 5, 8) && !gemmApplies(3, 0, 8) && gemmApplies(3, 5, 8));
});

Deno.test("tfjs-wasm BatchMatMul on the GEMM: equals the cpu backend (batched, broadcast, transposed, stock fallback)", async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[37, 53], [53, 44], false, false],
    [[53, 37], [44, 53], true, true],
    [[3, 2, 29, 31], [3, 2, 31, 20], false, false],
    [[3, 31, 29], [3, 20, 31], true, true],
    [[4, 29, 31], [31, 24], false, false], // b broadcast over the batch
    [[29, 31], [2, 31, 12], false, false], // a broadcast
    [[29, 31], [31, 15], false, false], // n = 15: the stock kernel
  ];
  const data = cases.map(([sa, sb]) => [randArray(tf.util.sizeFromShape(sa)), randArray(tf.util.sizeFromShape(sb))]);
  const run = () =>
    cases.map(([sa, sb, ta, tb], i) =>
      tf.tidy(() => tf.matMul(tf.tensor(data[i]![0]!, sa), tf.tensor(data[i]![1]!, sb), ta, tb).dataSync())
    );
  await initBackend("cpu");
  const want = run();
  await initBackend("wasm");
  try {
    const got = run();
    cases.forEach((c, i) => {
      const err = relErr(got[i]!, want[i]!);
      assertOk(err < 1e-5, `seed ${seed}, ${JSON.stringify(c)}: relative error ${err}`);
    });
  } finally {
    await initBackend("cpu");
  }
});
