// deno-lint-ignore-file no-console -- the banner test stubs console.warn to observe tfjs output
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/model/backend.ts";
import { assertEquals, assertOk, assertRejects } from "../_assert.ts";

Deno.test("initBackend('cpu') selects cpu without the tfjs Node.js banner", async () => {
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args);
  try {
    assertEquals(await initBackend("cpu"), "cpu (tfjs pure JavaScript)");
    tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync());
  } finally {
    console.warn = warn;
  }
  assertEquals(tf.getBackend(), "cpu");
  assertEquals(warnings.filter((w) => String(w).includes("Node.js")), []);
  assertEquals(tf.env().getBool("PROD"), false, "later tfjs warnings still print");
});

Deno.test("initBackend('wasm') loads the wasm binary from the npm package (needs --allow-read)", async () => {
  const description = await initBackend("wasm");
  assertOk(description.startsWith("wasm ("), description);
  assertEquals(tf.getBackend(), "wasm");
  assertEquals(tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync()[0]), 3);
  await initBackend("cpu");
  assertEquals(tf.getBackend(), "cpu");
});

Deno.test("initBackend() rejects an unknown backend", async () => {
  await assertRejects(() => initBackend("webgl" as "cpu"), "unknown backend 'webgl'");
});
