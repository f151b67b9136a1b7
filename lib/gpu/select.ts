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

/**
 * Resolves a device request; prints nothing (tasks print `description`).
 *
 * @param cpuKind what `auto` takes without a hardware adapter: `cpu`, or `wasm` for tfjs work (its
 *   WebAssembly backend trains ~40x faster than tfjs's plain-JavaScript `cpu` backend here)
 */
export async function resolveDevice(
  request: "auto" | "webgpu" | "cpu" | "wasm",
  cpuKind: "cpu" | "wasm" = "cpu",
): Promise<ResolvedDevice> {
  if (request === "cpu") return { kind: "cpu", description: "CPU" };
  if (request === "wasm") return { kind: "wasm", description: "CPU (wasm)" };
  const fallback = (why: string): ResolvedDevice => ({
    kind: cpuKind,
    description: `CPU${cpuKind === "wasm" ? " (wasm)" : ""} (${why})`,
  });
  const gpu = await requestGpuDevice();
  if (gpu === null) {
    if (request === "webgpu") {
      throw new Error("--device webgpu: no WebGPU adapter found (navigator.gpu has none); use --device cpu");
    }
    return fallback("no WebGPU adapter found");
  }
  const description = gpu.description;
  const isSoftware = gpu.isFallbackAdapter;
  gpu.destroy();
  if (isSoftware && request === "auto") {
    return fallback(`only a software WebGPU adapter: ${description}; --device webgpu uses it`);
  }
  return { kind: "webgpu", description: `WebGPU (${description})` };
}
