/**
 * Which kernels the webgpu backend runs where this project has its own: `ours` (the WGSL kernels in `shaders/`:
 * matrix products, LayerNorm, the conv filter gradient, AdamW, the clip's norm) or `tfjs` (tfjs-webgpu's kernels and
 * op chains, as before they existed). A process-wide switch like `tf.setBackend`, so that `bench train --kernels tfjs`
 * can measure both on the same GPU in one run. Other backends are not affected.
 *
 * @example
 * ```ts
 * import { setWebGpuKernels, webGpuKernels } from "./kernels.ts";
 * setWebGpuKernels("tfjs");
 * if (webGpuKernels() !== "tfjs") throw new Error("not switched");
 * setWebGpuKernels("ours");
 * ```
 *
 * @module
 */

/** The two kernel sets. */
export type WebGpuKernels = "ours" | "tfjs";

let current: WebGpuKernels = "ours";

/** Selects the kernel set for forward passes, gradients and optimiser steps started from now on. */
export function setWebGpuKernels(kernels: WebGpuKernels): void {
  if (kernels !== "ours" && kernels !== "tfjs") {
    throw new RangeError(`setWebGpuKernels: expected 'ours' or 'tfjs', got '${kernels as string}'`);
  }
  current = kernels;
}

/** The kernel set in use. */
export function webGpuKernels(): WebGpuKernels {
  return current;
}

/** True when `backendName` is webgpu and our kernels are selected. */
export function ownWebGpuKernels(backendName: string): boolean {
  return backendName === "webgpu" && current === "ours";
}
