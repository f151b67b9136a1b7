import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertOk } from "../_assert.ts";
import { webgpuTest } from "../_webgpu.ts";
import { initBackend } from "../../lib/model/backend.ts";
import { dropoutMask, dropoutMaskValues, pcgHash } from "../../lib/model/dropout_mask.ts";

Deno.test("dropoutMaskValues(): keep rate, scale, seeds, and the hash's 32-bit arithmetic", () => {
  const p = 0.1, n = 200000;
  const a = dropoutMaskValues(n, 1234, p);
  const kept = a.filter((v) => v > 0);
  assertOk(Math.abs(kept.length / n - (1 - p)) < 0.005, `keep rate ${kept.length / n}`);
  assertOk(kept.every((v) => v === Math.fround(1 / (1 - p))));
  assertEquals(dropoutMaskValues(n, 1234, p), a);
  const b = dropoutMaskValues(n, 1235, p);
  const same = a.reduce((s, v, i) => s + (v === b[i] ? 1 : 0), 0);
  assertOk(same / n < 0.85, `masks of neighbouring seeds agree on ${same / n}`); // ~0.82 for independent masks
  // Neighbouring elements are not correlated.
  let both = 0;
  for (let i = 1; i < n; i++) if (a[i] === 0 && a[i - 1] === 0) both++;
  assertOk(Math.abs(both / n - p * p) < 0.004, `adjacent drops ${both / n}`);
  assertEquals(dropoutMaskValues(10, 7, 0).every((v) => v === 1), true);
  // Reference values of the hash, from exact integer arithmetic mod 2^32 (Python).
  assertEquals([pcgHash(0), pcgHash(1), pcgHash(0xffffffff)], [129708002, 2831084092, 3861530882]);
});

webgpuTest("dropoutMask() on webgpu (WGSL kernel) equals the TS twin; on cpu it is the twin", async () => {
  const seed = Date.now() % 2 ** 32; // fresh each run
  for (const shape of [[3, 5, 7], [2, 281, 128]]) {
    const m = dropoutMask(shape, seed, 0.1);
    const got = await m.data();
    m.dispose();
    assertEquals(Array.from(got), Array.from(dropoutMaskValues(m.size, seed, 0.1)), `seed ${seed}`);
  }
  await initBackend("cpu");
  const c = dropoutMask([4, 4], 9, 0.5);
  assertEquals(Array.from(await c.data()), Array.from(dropoutMaskValues(16, 9, 0.5)));
  c.dispose();
  assertEquals(tf.getBackend(), "cpu");
});
