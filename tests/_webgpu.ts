// The frame of a test that runs the model's backend on WebGPU: ignored (never passed) on a machine without an
// adapter, run on the webgpu backend, and back on cpu afterwards whatever happened.
import { initBackend } from "../lib/model/backend.ts";

const adapter = await navigator.gpu?.requestAdapter();

/** Registers `body` as a test on the webgpu backend; the name gets "(ignored without an adapter)". */
export function webgpuTest(name: string, body: () => Promise<void>): void {
  Deno.test({
    name: `${name} (ignored without an adapter)`,
    ignore: adapter === null || adapter === undefined,
    async fn() {
      await initBackend("webgpu");
      try {
        await body();
      } finally {
        await initBackend("cpu");
      }
    },
  });
}
