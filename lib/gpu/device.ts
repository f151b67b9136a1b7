/**
 * WebGPU device acquisition with loud failures (style §4.5, §6): a lost device or an uncaptured GPU error makes
 * every pending and later piece of tracked work reject with the reason, and pipeline creation runs inside a
 * validation error scope so WGSL mistakes throw instead of producing silent zeros.
 *
 * @example
 * ```ts
 * import { requestGpuDevice } from "./device.ts";
 * const gpu = await requestGpuDevice();
 * if (gpu !== null) {
 *   console.log(gpu.description);
 *   gpu.destroy();
 * }
 * ```
 *
 * @module
 */

/** Options for {@linkcode requestGpuDevice}. */
export interface RequestGpuDeviceOptions {
  /** Adapter preference passed to `navigator.gpu.requestAdapter`. @default "high-performance" */
  powerPreference?: GPUPowerPreference;
  /**
   * Limits to request, each capped at what the adapter supports (e.g. `maxStorageBufferBindingSize`).
   * @default {} (WebGPU defaults)
   */
  requiredLimits?: Record<string, number>;
}

/** A device plus the plumbing that turns device loss and uncaptured errors into rejections. */
export interface GpuDevice {
  /** The device. */
  readonly device: GPUDevice;
  /** One line describing the adapter (description, vendor, architecture; "fallback" for software adapters). */
  readonly description: string;
  /** True for a software (fallback) adapter such as llvmpipe. */
  readonly isFallbackAdapter: boolean;
  /**
   * Resolves `work` unless the device is lost or reports an uncaptured error first, in which case it rejects
   * with an Error carrying the reason. Work started after a loss rejects at once.
   */
  track<T>(work: Promise<T>): Promise<T>;
  /** Throws the recorded failure (device lost / uncaptured error), if any. */
  throwIfFailed(): void;
  /** Destroys the device; tracked work then rejects with "destroyed". */
  destroy(): void;
}

/**
 * On a machine without a GPU, Mesa's software adapter prints "error: XDG_RUNTIME_DIR is invalid or not set in the
 * environment." twice per adapter request when that variable is missing (headless servers, containers): alarming and
 * harmless (Mesa looks for a Wayland socket there; there is no display). Sets it for this process, before the first
 * request, to the system's temporary directory, only when it is unset and the process may set it
 * (`--allow-env=XDG_RUNTIME_DIR`, which the tasks grant; without it nothing happens and no permission is asked for).
 */
export function quietSoftwareAdapterProbe(): void {
  const name = "XDG_RUNTIME_DIR";
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return;
  if (Deno.env.get(name) === undefined) Deno.env.set(name, "/tmp");
}

/**
 * Requests an adapter and a device. Returns null when WebGPU is unavailable or no adapter is found (callers
 * decide what that means: tests mark themselves ignored, tasks say so and stop; never a silent CPU fallback).
 *
 * @param options adapter preference and limits
 * @returns the device wrapper, or null without an adapter
 * @throws {Error} when an adapter exists but the device request fails
 */
export async function requestGpuDevice(options: RequestGpuDeviceOptions = {}): Promise<GpuDevice | null> {
  const { powerPreference = "high-performance", requiredLimits = {} } = options;
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) return null;
  quietSoftwareAdapterProbe();
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (adapter === null) return null;
  const limits: Record<string, number> = {};
  const adapterLimits = adapter.limits as unknown as Record<string, number>;
  for (const [name, want] of Object.entries(requiredLimits)) {
    const have = adapterLimits[name];
    if (have === undefined) throw new RangeError(`requestGpuDevice: unknown limit '${name}'`);
    limits[name] = Math.min(want, have);
  }
  const device = await adapter.requestDevice({ requiredLimits: limits });
  const info = adapter.info;
  const isFallbackAdapter = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const parts = [info.description || info.device || "unknown device", info.vendor && `vendor ${info.vendor}`];
  if (info.architecture) parts.push(`arch ${info.architecture}`);
  if (isFallbackAdapter) parts.push("fallback adapter");
  return wrapGpuDevice(device, parts.filter(Boolean).join(", "), isFallbackAdapter);
}

/**
 * Wraps an existing device (e.g. the one owned by the tfjs WebGPU backend) with the same loss and error
 * plumbing as {@linkcode requestGpuDevice}.
 *
 * @param device the device
 * @param description a description for logs
 * @param isFallbackAdapter whether it is a software adapter
 * @returns the wrapper
 */
export function wrapGpuDevice(device: GPUDevice, description: string, isFallbackAdapter = false): GpuDevice {
  let failure: Error | null = null;
  const pending = new Set<(e: Error) => void>();
  let destroyed = false;
  const fail = (e: Error) => {
    if (failure === null) failure = e;
    for (const reject of pending) reject(failure);
    pending.clear();
  };
  device.lost.then((info) => {
    fail(new Error(`GPU device lost (${info.reason}): ${info.message || "no message"} [${description}]`));
  });
  device.addEventListener("uncapturederror", (ev) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    fail(new Error(`uncaptured GPU error: ${err.message} [${description}]`));
  });
  return {
    device,
    description,
    isFallbackAdapter,
    track<T>(work: Promise<T>): Promise<T> {
      if (failure !== null) return Promise.reject(failure);
      return new Promise<T>((resolve, reject) => {
        const onFail = (e: Error) => reject(e);
        pending.add(onFail);
        work.then(
          (v) => {
            pending.delete(onFail);
            if (failure !== null) reject(failure);
            else resolve(v);
          },
          (e) => {
            pending.delete(onFail);
            reject(e);
          },
        );
      });
    },
    throwIfFailed(): void {
      if (failure !== null) throw failure;
    },
    destroy(): void {
      if (destroyed) return;
      destroyed = true;
      fail(new Error(`GPU device destroyed [${description}]`));
      device.destroy();
    },
  };
}

/** What {@linkcode createComputePipelineChecked} needs. */
export interface CheckedComputePipelineDescriptor {
  /** Label of the pipeline, `"<Owner>.<role>"`; the module gets `"<label>.module"`. */
  label: string;
  /** WGSL source. */
  code: string;
  /** Entry point name. */
  entryPoint: string;
  /** Explicit pipeline layout. */
  layout: GPUPipelineLayout;
  /** Values for WGSL `override` constants. */
  constants?: Record<string, number>;
  /** Reuse an already compiled module (same code) instead of compiling `code` again. */
  module?: GPUShaderModule;
}

/**
 * Compiles (unless given a module) and creates a compute pipeline inside `validation` and `internal` error
 * scopes, and throws with the compiler's messages when anything fails. Use it for every pipeline: WGSL errors are
 * asynchronous and otherwise only show up as zeros.
 *
 * @param device the device
 * @param desc label, code, entry point, layout and override constants
 * @returns the pipeline and its module
 * @throws {Error} with the validation message and `getCompilationInfo()` messages
 */
export async function createComputePipelineChecked(
  device: GPUDevice,
  desc: CheckedComputePipelineDescriptor,
): Promise<{ pipeline: GPUComputePipeline; module: GPUShaderModule }> {
  device.pushErrorScope("internal");
  device.pushErrorScope("validation");
  const module = desc.module ?? device.createShaderModule({ label: `${desc.label}.module`, code: desc.code });
  const pipeline = device.createComputePipeline({
    label: desc.label,
    layout: desc.layout,
    compute: { module, entryPoint: desc.entryPoint, constants: desc.constants ?? {} },
  });
  const validation = await device.popErrorScope();
  const internal = await device.popErrorScope();
  const error = validation ?? internal;
  if (error !== null) {
    let details = "";
    const getInfo = (module as GPUShaderModule & { getCompilationInfo?: () => Promise<GPUCompilationInfo> })
      .getCompilationInfo;
    if (typeof getInfo === "function") {
      const info = await getInfo.call(module);
      details = (info.messages ?? [])
        .map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`)
        .join("\n");
    }
    throw new Error(`${desc.label}: pipeline creation failed: ${error.message}${details ? `\n${details}` : ""}`);
  }
  return { pipeline, module };
}
