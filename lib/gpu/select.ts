/**
 * `--device auto|webgpu|cpu|wasm`: `auto` takes WebGPU when a hardware adapter exists, else the
 * CPU (a software adapter such as llvmpipe is slower than the CPU path); an explicit `webgpu`
 * takes any adapter and is an error without one (never a silent fallback).
 *
 * @module
 */
import { requestGpuDevice } from "./device.ts";

/** The device a task runs on. */
export interface ResolvedDevice {
  /** Backend. */
  kind: "webgpu" | "cpu" | "wasm";
  /** What to print, e.g. `WebGPU (NVIDIA H100 80GB HBM3, vendor 4318)`. */
  description: string;
}

/** Resolves a device request; prints nothing (tasks print `description`). */
export async function resolveDevice(request: "auto" | "webgpu" | "cpu" | "wasm"): Promise<ResolvedDevice> {
  if (request === "cpu") return { kind: "cpu", description: "CPU" };
  if (request === "wasm") return { kind: "wasm", description: "CPU (wasm)" };
  const gpu = await requestGpuDevice();
  if (gpu === null) {
    if (request === "webgpu") {
      throw new Error("--device webgpu: no WebGPU adapter found (navigator.gpu has none); use --device cpu");
    }
    return { kind: "cpu", description: "CPU (no WebGPU adapter found)" };
  }
  const description = gpu.description;
  const fallback = gpu.isFallbackAdapter;
  gpu.destroy();
  if (fallback && request === "auto") {
    return {
      kind: "cpu",
      description: `CPU (only a software WebGPU adapter: ${description}; --device webgpu uses it)`,
    };
  }
  return { kind: "webgpu", description: `WebGPU (${description})` };
}
