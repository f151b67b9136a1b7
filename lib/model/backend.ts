/**
 * Selects and initialises the tensorflow.js backend the model runs on. The wasm and webgpu backend packages
 * are imported only when asked for, so a process that never uses them does not register them; both register
 * into the tfjs-core instance of `@tensorflow/tfjs` (one npm copy, deduplicated by Deno).
 *
 * Permissions: `cpu` needs none; `wasm` needs `--allow-read` (it reads its `.wasm` binary from the npm cache,
 * or from the embedded file system of a compiled binary); `webgpu` needs the `webgpu` unstable flag (set in
 * deno.json) and no permission.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * console.log(await initBackend("wasm")); // "wasm (SIMD, single thread)"
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { resolveDevice } from "../gpu/select.ts";
import { quietSoftwareAdapterProbe } from "../gpu/device.ts";
import { registerDeviceGradients } from "./_grads.ts";
import { registerWasmKernels } from "./_wasm_kernels.ts";
import { useQueueWriteUploads } from "./_webgpu_upload.ts";

/** The backends the model supports. */
export type BackendKind = "cpu" | "wasm" | "webgpu";

/** All backend kinds, for argument parsing. */
export const BACKEND_KINDS: readonly BackendKind[] = ["cpu", "wasm", "webgpu"];

/**
 * The cpu backend prints a "you are running TensorFlow.js in Node.js" banner on its first tensor write.
 * tfjs only prints warnings while the PROD flag is off, so the first write happens with PROD on, and the
 * flag is then restored (later warnings still print).
 */
function writeFirstTensorQuietly(): void {
  const prod = tf.env().getBool("PROD");
  tf.env().set("PROD", true);
  try {
    tf.scalar(0).dispose();
  } finally {
    tf.env().set("PROD", prod);
  }
}

async function initWasm(): Promise<string> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  // The .wasm binaries sit beside the package's entry point (dist/).
  wasm.setWasmPaths(new URL("./", import.meta.resolve("@tensorflow/tfjs-backend-wasm")).href);
  if (!(await tf.setBackend("wasm"))) {
    throw new Error("tfjs wasm backend failed to initialise (is --allow-read granted for the npm cache?)");
  }
  registerWasmKernels();
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
  return `wasm (${simd ? "SIMD" : "no SIMD"}, ${threads ? "multi-threaded" : "single thread"})`;
}

async function initWebGpu(): Promise<string> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) throw new Error("WebGPU is not available in this runtime (run Deno with --unstable-webgpu)");
  quietSoftwareAdapterProbe();
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (adapter === null) throw new Error("WebGPU has no adapter on this machine");
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) throw new Error("tfjs webgpu backend failed to initialise");
  useQueueWriteUploads(tf.backend());
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const parts = [info.description || info.device || "unknown device", info.vendor && `vendor ${info.vendor}`];
  if (info.architecture) parts.push(`arch ${info.architecture}`);
  if (info.isFallbackAdapter === true) parts.push("software fallback");
  return `webgpu (${parts.filter(Boolean).join(", ")})`;
}

/**
 * Makes `kind` the active tfjs backend, initialising it on first use.
 *
 * @param kind `cpu` (pure JS, every kernel, slow), `wasm` (fast forward on CPU) or `webgpu`
 * @returns a one-line description of what was selected, e.g. `wasm (SIMD, single thread)`
 * @throws {Error} when the backend cannot start (no WebGPU adapter, wasm binary unreadable); never falls back
 */
export async function initBackend(kind: BackendKind): Promise<string> {
  let description: string;
  switch (kind) {
    case "cpu":
      if (!(await tf.setBackend("cpu"))) throw new Error("tfjs cpu backend failed to initialise");
      description = "cpu (tfjs pure JavaScript)";
      break;
    case "wasm":
      description = await initWasm();
      break;
    case "webgpu":
      description = await initWebGpu();
      break;
    default:
      throw new RangeError(`unknown backend '${kind as string}' (expected ${BACKEND_KINDS.join(", ")})`);
  }
  await tf.ready();
  registerDeviceGradients();
  if (kind === "cpu") writeFirstTensorQuietly();
  return description;
}

/**
 * Resolves a `--device` request and starts the matching tfjs backend: `auto` takes WebGPU on a hardware
 * adapter, else wasm (tfjs's fastest CPU backend here).
 *
 * @returns a one-line description, e.g. `wasm (SIMD, single thread) (CPU (wasm) (no WebGPU adapter found))`
 */
export async function initDeviceBackend(request: "auto" | "webgpu" | "cpu" | "wasm"): Promise<string> {
  const device = await resolveDevice(request, "wasm");
  try {
    return `${await initBackend(device.kind)} (${device.description})`;
  } catch (e) {
    // `auto` on the CPU: without the wasm binaries (a single-file bundle does not carry them) the plain-JS backend
    // still works, slower; an explicit request stays an error.
    if (request !== "auto" || device.kind !== "wasm") throw e;
    return `${await initBackend("cpu")} (wasm unavailable: ${(e as Error).message})`;
  }
}
