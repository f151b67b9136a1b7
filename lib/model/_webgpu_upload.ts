/**
 * Host-to-GPU tensor uploads through `GPUQueue.writeBuffer` instead of tfjs-webgpu 4.22's per-upload staging
 * buffer (created mapped, filled, unmapped, copied, destroyed after the next submit). Deno's WebGPU makes the
 * staging route slow: one 4.6 MB upload took 222 ms on the H100, and a training step made ~1000 small ones
 * (optimizer scalars). `writeBuffer` is the route tfjs already takes for every kernel's uniforms.
 *
 * Ordering stays correct: the destination comes from tfjs's buffer pool, which takes a buffer back only after the
 * command buffer that used it was submitted, and a queue write lands after everything submitted before it and
 * before the commands tfjs has recorded but not yet submitted.
 *
 * @module
 */

/** The parts of tfjs-webgpu's backend (4.22) the replacement touches. */
interface WebGpuBackendInternals {
  uploadToGPU(dataId: object): void;
  tensorMap: { get(dataId: object): TensorData | undefined };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  queue: GPUQueue;
}

interface TensorData {
  dtype: string;
  shape: number[];
  values: ArrayLike<number> | null;
  resource: unknown;
}

const PATCHED = Symbol("coverhunter.queueWriteUploads");

/**
 * Makes `backend` (a tfjs-webgpu backend instance) upload tensor values with `queue.writeBuffer`. Tensors of other
 * dtypes than float32/int32/bool, and a backend without the expected internals, keep tfjs's own route.
 *
 * @returns whether the backend was patched (false when its internals do not match tfjs-webgpu 4.22)
 */
export function useQueueWriteUploads(backend: unknown): boolean {
  const b = backend as Partial<WebGpuBackendInternals> & { [PATCHED]?: boolean };
  if (b[PATCHED]) return true;
  if (
    typeof b.uploadToGPU !== "function" || b.tensorMap === undefined || b.bufferManager === undefined ||
    b.queue === undefined
  ) return false;
  const original = b.uploadToGPU.bind(b);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  b.uploadToGPU = (dataId: object) => {
    const data = b.tensorMap!.get(dataId);
    if (
      data === undefined || data.resource != null || data.values == null ||
      !(data.dtype === "float32" || data.dtype === "int32" || data.dtype === "bool")
    ) return original(dataId);
    const size = 4 * data.shape.reduce((a, s) => a * s, 1);
    const buffer = b.bufferManager!.acquireBuffer(size, usage);
    // float32 values go as they are; int32 and bool (tfjs keeps bool as Uint8Array) as 32-bit integers, as tfjs does.
    const values = data.values;
    const host = data.dtype === "float32"
      ? (values instanceof Float32Array ? values : Float32Array.from(values))
      : (values instanceof Int32Array ? values : Int32Array.from(values));
    // Offsets in bytes on the ArrayBuffer (a typed-array argument would take them in elements).
    b.queue!.writeBuffer(buffer, 0, host.buffer as ArrayBuffer, host.byteOffset, size);
    data.values = null; // as tfjs: once on the GPU, the host copy is dropped
    data.resource = buffer;
  };
  b[PATCHED] = true;
  return true;
}
