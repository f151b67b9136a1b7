/**
 * The reference CQT on WebGPU (twin of `shaders/cqt.wgsl`): the same framing, sparse kernel and dB step as
 * `cqt.ts`, with the 16384-point FFTs batched on the GPU in double-float (df64) arithmetic so that every cell
 * above −100 dB matches the float64 CPU path within 0.01 dB.
 *
 * One {@linkcode CqtPipeline} owns its buffers and pipelines (built once by {@linkcode createCqtPipeline});
 * `run(samples)` and `runMany(signals)` only upload, encode and read back. Frames are processed in chunks of up
 * to `maxPairsPerChunk` frame pairs (2 frames per complex FFT), and a chunk may mix frames of several signals.
 * The dB step (global max of the whole track) runs on the CPU over the read-back magnitudes.
 *
 * @example
 * ```ts ignore
 * import { requestGpuDevice } from "../gpu/device.ts";
 * import { createCqtKernel } from "./cqt_kernel.ts";
 * import { createCqtPipeline } from "./cqt_webgpu.ts";
 * const gpu = await requestGpuDevice();
 * if (gpu === null) throw new Error("no WebGPU adapter");
 * const pipe = await createCqtPipeline(gpu, createCqtKernel());
 * const { data, frames } = await pipe.run(new Float32Array(16000 * 10));
 * pipe.destroy();
 * ```
 *
 * @module
 */

import { createComputePipelineChecked, type GpuDevice, requestGpuDevice, wrapGpuDevice } from "../gpu/device.ts";
import { cqtFrameCount, cqtMagnitude, type CqtResult, magnitudeToDb } from "./cqt.ts";
import type { CqtKernel } from "./cqt_kernel.ts";
// A text import: the shader travels inside bundles and needs no read permission.
import CQT_WGSL from "../../shaders/cqt.wgsl" with { type: "text" };

/** Workgroup size of the FFT passes (WGSL override `FFT_WG`). */
export const FFT_WORKGROUP_SIZE = 64;
/** Workgroup size of the kernel-product pass (WGSL override `PRODUCT_WG`). */
export const PRODUCT_WORKGROUP_SIZE = 64;
/** Bytes per uniform slot (one per pass; `minUniformBufferOffsetAlignment` is at most 256). */
const PARAMS_SLOT_BYTES = 256;
/** Bytes of one complex df64 value (vec4<f32>). */
const COMPLEX_DF64_BYTES = 16;
/** Bytes of one PairInfo (4 × 32-bit). */
const PAIR_INFO_BYTES = 16;

/** Options for {@linkcode createCqtPipeline}. */
export interface CqtPipelineOptions {
  /**
   * Frame pairs per chunk (2 frames per FFT). Bounded by the device's `maxStorageBufferBindingSize` and
   * `maxComputeWorkgroupsPerDimension`. @default as many as {@linkcode CQT_SPECTRUM_BUDGET_BYTES} allows per spectrum
   *   buffer, within those limits
   */
  maxPairsPerChunk?: number;
  /** The WGSL source, to try a modified shader. @default the text of `shaders/cqt.wgsl` */
  shaderCode?: string;
  /**
   * Measure where the time goes (for `bench extract --profile`): every pass is submitted on its own and awaited, and
   * `CqtPipeline.timings` accumulates milliseconds per phase. Slower; for measurement only. @default false
   */
  timing?: boolean;
}

/** Magnitudes of one signal from {@linkcode CqtPipeline.runManyMagnitudes}. */
export interface CqtMagnitudes {
  /** `(frames, bins)` time-major linear magnitudes (f32 from the GPU). */
  data: Float32Array;
  /** T = floor(N / hop). */
  frames: number;
  /** K. */
  bins: number;
}

/** A built WebGPU CQT: buffers, layouts and pipelines for one kernel on one device. */
export interface CqtPipeline {
  /** The kernel it was built for. */
  readonly kernel: CqtKernel;
  /** The effective chunk size in frame pairs. */
  readonly maxPairsPerChunk: number;
  /** dB CQT of one signal, `(T, K)`, as `cqt()` returns. */
  run(samples: Float32Array | Float64Array): Promise<CqtResult>;
  /** dB CQTs of several signals, batched across chunks and files; each gets its own whole-track max. */
  runMany(signals: readonly (Float32Array | Float64Array)[]): Promise<CqtResult[]>;
  /** Linear magnitudes (before the dB step) of several signals. */
  runManyMagnitudes(signals: readonly (Float32Array | Float64Array)[]): Promise<CqtMagnitudes[]>;
  /** Releases every buffer (the device stays). */
  destroy(): void;
  /** With `timing`: accumulated milliseconds per phase (host packing, each pass, readback), in run order. */
  readonly timings: Map<string, number>;
}

/** One frame pair of one signal: frames `frame` and `frame + 1` (the second only when `hasB`). */
export interface PairRef {
  /** Index of the signal in the batch. */
  signal: number;
  /** First frame of the pair (even). */
  frame: number;
  /** Whether frame + 1 exists (false for the last frame of an odd count). */
  hasB: boolean;
}

/**
 * Plans the pairs of a batch: signal s with T_s frames contributes ceil(T_s / 2) pairs (frames 2p, 2p+1).
 *
 * @param frameCounts T_s per signal
 * @returns the pairs, in signal then frame order
 */
export function planCqtPairs(frameCounts: readonly number[]): PairRef[] {
  const out: PairRef[] = [];
  frameCounts.forEach((t, signal) => {
    for (let f = 0; f < t; f += 2) out.push({ signal, frame: f, hasB: f + 1 < t });
  });
  return out;
}

/**
 * Workgroup counts of the passes for `pairs` pairs of an L-point FFT with K bins.
 *
 * @param pairs pairs in the chunk
 * @param fftLength L
 * @param nBins K
 * @returns workgroups of a radix-4 pass, a radix-2 pass and the product pass
 */
export function cqtDispatchSizes(
  pairs: number,
  fftLength: number,
  nBins: number,
): { radix4: number; radix2: number; product: number } {
  return {
    radix4: Math.ceil((pairs * (fftLength / 4)) / FFT_WORKGROUP_SIZE),
    radix2: Math.ceil((pairs * (fftLength / 2)) / FFT_WORKGROUP_SIZE),
    product: Math.ceil((pairs * nBins) / PRODUCT_WORKGROUP_SIZE),
  };
}

/**
 * The Stockham pass sequence for an L-point FFT: a first radix-4 pass that loads the samples (span 1), radix-4
 * passes with spans 4, 16, ..., and a final radix-2 pass when log2 L is odd.
 *
 * @param fftLength L, a power of two >= 8
 * @returns one entry per pass: radix and span `ns`
 * @throws {RangeError} when L is not a power of two >= 8
 */
export function stockhamPasses(fftLength: number): { radix: 2 | 4; ns: number }[] {
  if (!Number.isInteger(fftLength) || fftLength < 8 || (fftLength & (fftLength - 1)) !== 0) {
    throw new RangeError(`stockhamPasses: L must be a power of two >= 8, got ${fftLength}`);
  }
  const passes: { radix: 2 | 4; ns: number }[] = [];
  let ns = 1;
  while (ns * 4 <= fftLength) {
    passes.push({ radix: 4, ns });
    ns *= 4;
  }
  if (ns < fftLength) passes.push({ radix: 2, ns });
  return passes;
}

/** Splits float64 values into df64 (hi, lo) f32 pairs. */
function toDf64(values: ArrayLike<number>, out: Float32Array, outOffset = 0, stride = 2): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const hi = Math.fround(v);
    out[outOffset + i * stride] = hi;
    out[outOffset + i * stride + 1] = Math.fround(v - hi);
  }
}

/**
 * Default bytes of one of the two spectrum buffers (1024 frame pairs at the default kernel, 512 MB for both): each
 * chunk waits for its own readback, so fewer, larger chunks pay that round trip less often (256 pairs per chunk made a
 * 600 s track 30 round trips on the H100, at 1,147x real time for ~0.5 ms of GPU work per chunk by count).
 */
export const CQT_SPECTRUM_BUDGET_BYTES = 256 * 2 ** 20;

/**
 * A device for the CQT pipeline: buffer limits raised to `bytes` (or what the adapter has, if less), so that the
 * default chunk fits. Null without an adapter, as `requestGpuDevice`.
 *
 * @param bytes wanted `maxStorageBufferBindingSize` and `maxBufferSize`
 */
export function requestCqtGpuDevice(bytes = CQT_SPECTRUM_BUDGET_BYTES): Promise<GpuDevice | null> {
  return requestGpuDevice({ requiredLimits: { maxStorageBufferBindingSize: bytes, maxBufferSize: bytes } });
}

/**
 * The largest chunk (frame pairs) `device` can hold for `kernel`: one df64 spectrum per pair must fit a storage
 * binding, and an FFT pass's workgroups one dispatch dimension.
 */
export function maxCqtPairsPerChunk(device: GPUDevice, kernel: CqtKernel): number {
  const L = kernel.fftLength;
  return Math.min(
    Math.floor(device.limits.maxStorageBufferBindingSize / (L * COMPLEX_DF64_BYTES)),
    Math.floor((device.limits.maxComputeWorkgroupsPerDimension * FFT_WORKGROUP_SIZE) / (L / 2)),
  );
}

/**
 * Builds the buffers and pipelines for `kernel` on `gpu`. Pipelines are created inside error scopes, so a WGSL or
 * validation problem throws here with the compiler's message.
 *
 * @param gpuOrDevice a wrapper from `requestGpuDevice` (preferred: device loss rejects pending runs), or a bare
 *   `GPUDevice` (e.g. tfjs's), which gets the same loss and error plumbing
 * @param kernel a kernel from `createCqtKernel` (its imaginary parts are rounding residue and are not used)
 * @param options chunk size
 * @returns the pipeline object
 * @throws {RangeError} on a chunk size the device cannot hold
 */
export async function createCqtPipeline(
  gpuOrDevice: GpuDevice | GPUDevice,
  kernel: CqtKernel,
  options: CqtPipelineOptions = {},
): Promise<CqtPipeline> {
  const gpu = "track" in gpuOrDevice ? gpuOrDevice : wrapGpuDevice(gpuOrDevice, gpuOrDevice.label || "GPUDevice");
  const device = gpu.device;
  const L = kernel.fftLength, K = kernel.nBins, H = kernel.hopSamples;
  const padLeft = Math.ceil((L - H) / 2);
  const passes = stockhamPasses(L);
  const limitPairs = maxCqtPairsPerChunk(device, kernel);
  const maxPairsPerChunk = options.maxPairsPerChunk ??
    Math.max(1, Math.min(limitPairs, Math.floor(CQT_SPECTRUM_BUDGET_BYTES / (L * COMPLEX_DF64_BYTES))));
  if (!Number.isInteger(maxPairsPerChunk) || maxPairsPerChunk < 1 || maxPairsPerChunk > limitPairs) {
    throw new RangeError(
      `createCqtPipeline: 'maxPairsPerChunk' must be an integer in [1, ${limitPairs}] on this device: ` +
        `current value is ${maxPairsPerChunk}`,
    );
  }
  const code = options.shaderCode ?? CQT_WGSL;
  const timing = options.timing === true;
  const timings = new Map<string, number>();

  // ---- constant buffers: twiddles and kernel ----
  const twiddleData = new Float32Array(L * 4);
  for (let m = 0; m < L; m++) {
    const a = (-2 * Math.PI * m) / L;
    toDf64([Math.cos(a)], twiddleData, 4 * m);
    toDf64([Math.sin(a)], twiddleData, 4 * m + 2);
  }
  const twiddles = device.createBuffer({
    label: "CqtPipeline.twiddles",
    size: twiddleData.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(twiddles, 0, twiddleData);

  const kernelWords = new Uint32Array(K + 1 + 3 * kernel.nnz);
  const kernelF32 = new Float32Array(kernelWords.buffer);
  kernelWords.set(kernel.rowOffsets, 0);
  for (let i = 0; i < kernel.nnz; i++) {
    const e = K + 1 + 3 * i;
    kernelWords[e] = kernel.columns[i]!;
    const w = kernel.re[i]!;
    const hi = Math.fround(w);
    kernelF32[e + 1] = hi;
    kernelF32[e + 2] = Math.fround(w - hi);
  }
  const kernelBuffer = device.createBuffer({
    label: "CqtPipeline.kernel",
    size: kernelWords.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(kernelBuffer, 0, kernelWords);

  // ---- per-chunk buffers ----
  const spectraBytes = maxPairsPerChunk * L * COMPLEX_DF64_BYTES;
  const spectraA = device.createBuffer({
    label: "CqtPipeline.spectraA",
    size: spectraBytes,
    usage: GPUBufferUsage.STORAGE,
  });
  const spectraB = device.createBuffer({
    label: "CqtPipeline.spectraB",
    size: spectraBytes,
    usage: GPUBufferUsage.STORAGE,
  });
  const pairsBuffer = device.createBuffer({
    label: "CqtPipeline.pairs",
    size: maxPairsPerChunk * PAIR_INFO_BYTES,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  const magnitudeBytes = 2 * maxPairsPerChunk * K * 4;
  const magnitudes = device.createBuffer({
    label: "CqtPipeline.magnitudes",
    size: magnitudeBytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const readback = device.createBuffer({
    label: "CqtPipeline.readback",
    size: magnitudeBytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const slots = passes.length + 1; // one per FFT pass + the product
  const params = device.createBuffer({
    label: "CqtPipeline.params",
    size: slots * PARAMS_SLOT_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  // The samples buffer grows with the largest chunk seen.
  let samplesBuffer: GPUBuffer | null = null;

  // ---- layout and pipelines (binding order = shaders/cqt.wgsl header) ----
  const storage = (type: GPUBufferBindingType): GPUBufferBindingLayout => ({ type });
  const layout = device.createBindGroupLayout({
    label: "CqtPipeline.bindGroupLayout",
    entries: [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform", hasDynamicOffset: true } },
      { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: storage("read-only-storage") },
      { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: storage("read-only-storage") },
      { binding: 3, visibility: GPUShaderStage.COMPUTE, buffer: storage("read-only-storage") },
      { binding: 4, visibility: GPUShaderStage.COMPUTE, buffer: storage("read-only-storage") },
      { binding: 5, visibility: GPUShaderStage.COMPUTE, buffer: storage("storage") },
      { binding: 6, visibility: GPUShaderStage.COMPUTE, buffer: storage("read-only-storage") },
      { binding: 7, visibility: GPUShaderStage.COMPUTE, buffer: storage("storage") },
    ],
  });
  const pipelineLayout = device.createPipelineLayout({
    label: "CqtPipeline.pipelineLayout",
    bindGroupLayouts: [layout],
  });
  const constants = { FFT_WG: FFT_WORKGROUP_SIZE, PRODUCT_WG: PRODUCT_WORKGROUP_SIZE };
  const first = await createComputePipelineChecked(device, {
    label: "CqtPipeline.load_r4",
    code,
    entryPoint: "load_r4",
    layout: pipelineLayout,
    constants,
  });
  const build = (entryPoint: string) =>
    createComputePipelineChecked(device, {
      label: `CqtPipeline.${entryPoint}`,
      code,
      module: first.module,
      entryPoint,
      layout: pipelineLayout,
      constants,
    }).then((r) => r.pipeline);
  const [radix4, radix2, product] = await Promise.all([build("fft_r4"), build("fft_r2"), build("product")]);
  const loadR4 = first.pipeline;

  function bindGroup(role: string, src: GPUBuffer, dst: GPUBuffer, samples: GPUBuffer): GPUBindGroup {
    return device.createBindGroup({
      label: `CqtPipeline.bindGroup.${role}`,
      layout,
      entries: [
        { binding: 0, resource: { buffer: params, size: 32 } },
        { binding: 1, resource: { buffer: twiddles } },
        { binding: 2, resource: { buffer: samples } },
        { binding: 3, resource: { buffer: pairsBuffer } },
        { binding: 4, resource: { buffer: src } },
        { binding: 5, resource: { buffer: dst } },
        { binding: 6, resource: { buffer: kernelBuffer } },
        { binding: 7, resource: { buffer: magnitudes } },
      ],
    });
  }
  let bindAB: GPUBindGroup | null = null; // src A -> dst B
  let bindBA: GPUBindGroup | null = null; // src B -> dst A

  function ensureSamplesBuffer(count: number): GPUBuffer {
    const bytes = Math.max(16, count * 8);
    if (samplesBuffer === null || samplesBuffer.size < bytes) {
      samplesBuffer?.destroy();
      samplesBuffer = device.createBuffer({
        label: "CqtPipeline.samples",
        size: Math.ceil(bytes / 16) * 16,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      bindAB = bindGroup("AtoB", spectraA, spectraB, samplesBuffer);
      bindBA = bindGroup("BtoA", spectraB, spectraA, samplesBuffer);
    }
    return samplesBuffer;
  }

  /** Runs one chunk of pairs; writes magnitudes into the per-signal outputs. */
  async function runChunk(
    signals: readonly (Float32Array | Float64Array)[],
    chunk: readonly PairRef[],
    outputs: Float32Array[],
  ): Promise<void> {
    // Sample ranges per signal in this chunk: frames [f0, f1] need samples [f0·H − pad, f1·H − pad + L).
    const ranges = new Map<number, { s0: number; s1: number; offset: number }>();
    for (const p of chunk) {
      const n = signals[p.signal]!.length;
      const lastFrame = p.hasB ? p.frame + 1 : p.frame;
      const s0 = Math.max(0, p.frame * H - padLeft);
      const s1 = Math.min(n, lastFrame * H - padLeft + L);
      const r = ranges.get(p.signal);
      if (r === undefined) ranges.set(p.signal, { s0, s1, offset: 0 });
      else {
        r.s0 = Math.min(r.s0, s0);
        r.s1 = Math.max(r.s1, s1);
      }
    }
    let t0 = performance.now();
    const lap = (phase: string) => {
      if (!timing) return;
      const t = performance.now();
      timings.set(phase, (timings.get(phase) ?? 0) + t - t0);
      t0 = t;
    };
    let total = 0;
    for (const r of ranges.values()) {
      r.offset = total;
      total += Math.max(0, r.s1 - r.s0);
    }
    const sampleData = new Float32Array(Math.max(2, 2 * total));
    for (const [s, r] of ranges) {
      const x = signals[s]!;
      if (x instanceof Float32Array) {
        for (let i = r.s0; i < r.s1; i++) sampleData[2 * (r.offset + i - r.s0)] = x[i]!;
      } else {
        toDf64(x.subarray(r.s0, r.s1), sampleData, 2 * r.offset);
      }
    }
    const pairInfo = new Int32Array(chunk.length * 4);
    chunk.forEach((p, i) => {
      const r = ranges.get(p.signal)!;
      pairInfo[4 * i] = r.offset + (p.frame * H - padLeft - r.s0);
      pairInfo[4 * i + 1] = r.offset;
      pairInfo[4 * i + 2] = r.offset + Math.max(0, r.s1 - r.s0);
      pairInfo[4 * i + 3] = p.hasB ? 1 : 0;
    });
    const samples = ensureSamplesBuffer(total);
    device.queue.writeBuffer(samples, 0, sampleData);
    device.queue.writeBuffer(pairsBuffer, 0, pairInfo);
    const paramWords = new Uint32Array((slots * PARAMS_SLOT_BYTES) / 4);
    const paramFloats = new Float32Array(paramWords.buffer);
    for (let s = 0; s < slots; s++) {
      const o = (s * PARAMS_SLOT_BYTES) / 4;
      paramWords[o] = L;
      paramWords[o + 1] = s < passes.length ? passes[s]!.ns : 0;
      paramWords[o + 2] = K;
      paramWords[o + 3] = chunk.length;
      paramWords[o + 4] = H;
      paramFloats[o + 5] = 1; // `one`
      paramWords[o + 6] = 0; // `zero` (see `hide` in the shader)
    }
    device.queue.writeBuffer(params, 0, paramWords);

    lap("host: pack samples and parameters");
    const sizes = cqtDispatchSizes(chunk.length, L, K);
    let encoder = device.createCommandEncoder({ label: "CqtPipeline.encoder" });
    let pass = encoder.beginComputePass({ label: "CqtPipeline.computePass" });
    /** Timing mode: ends the pass, runs it alone and books its time (the first also carries the uploads). */
    const flush = async (phase: string) => {
      if (!timing) return;
      pass.end();
      device.queue.submit([encoder.finish()]);
      await gpu.track(device.queue.onSubmittedWorkDone());
      lap(phase);
      encoder = device.createCommandEncoder({ label: "CqtPipeline.encoder" });
      pass = encoder.beginComputePass({ label: "CqtPipeline.computePass" });
    };
    // Pass s writes A when s is even, B when odd; the first pass reads the samples.
    let inA = false;
    for (const [s, p] of passes.entries()) {
      const group = s % 2 === 0 ? bindBA! : bindAB!;
      pass.setPipeline(s === 0 ? loadR4 : p.radix === 4 ? radix4 : radix2);
      pass.setBindGroup(0, group, [s * PARAMS_SLOT_BYTES]);
      pass.dispatchWorkgroups(p.radix === 4 ? sizes.radix4 : sizes.radix2);
      inA = s % 2 === 0;
      await flush(`GPU: FFT pass ${s} (radix ${p.radix}, span ${p.ns})${s === 0 ? " + uploads" : ""}`);
    }
    pass.setPipeline(product);
    pass.setBindGroup(0, inA ? bindAB! : bindBA!, [passes.length * PARAMS_SLOT_BYTES]);
    pass.dispatchWorkgroups(sizes.product);
    await flush("GPU: kernel product");
    pass.end();
    const bytes = 2 * chunk.length * K * 4;
    encoder.copyBufferToBuffer(magnitudes, 0, readback, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await gpu.track(readback.mapAsync(GPUMapMode.READ, 0, bytes));
    lap("GPU: copy + map for readback");
    try {
      const mags = new Float32Array(readback.getMappedRange(0, bytes));
      chunk.forEach((p, i) => {
        const out = outputs[p.signal]!;
        out.set(mags.subarray(2 * i * K, (2 * i + 1) * K), p.frame * K);
        if (p.hasB) out.set(mags.subarray((2 * i + 1) * K, (2 * i + 2) * K), (p.frame + 1) * K);
      });
    } finally {
      readback.unmap();
    }
    lap("host: scatter magnitudes");
  }

  async function runManyMagnitudes(signals: readonly (Float32Array | Float64Array)[]): Promise<CqtMagnitudes[]> {
    gpu.throwIfFailed();
    const frameCounts = signals.map((x) => cqtFrameCount(x.length, kernel));
    const outputs = frameCounts.map((t) => new Float32Array(t * K));
    const all = planCqtPairs(frameCounts);
    for (let i = 0; i < all.length; i += maxPairsPerChunk) {
      await runChunk(signals, all.slice(i, i + maxPairsPerChunk), outputs);
    }
    return outputs.map((data, i) => ({ data, frames: frameCounts[i]!, bins: K }));
  }

  async function runMany(signals: readonly (Float32Array | Float64Array)[]): Promise<CqtResult[]> {
    const mags = await runManyMagnitudes(signals);
    const t0 = performance.now();
    const out = mags.map((m) => ({ data: magnitudeToDb(m.data), frames: m.frames, bins: m.bins }));
    if (timing) timings.set("host: dB", (timings.get("host: dB") ?? 0) + performance.now() - t0);
    return out;
  }

  const pipeline: CqtPipeline = {
    kernel,
    maxPairsPerChunk,
    run: async (samples) => (await runMany([samples]))[0]!,
    runMany,
    runManyMagnitudes,
    timings,
    destroy() {
      for (const b of [twiddles, kernelBuffer, spectraA, spectraB, pairsBuffer, magnitudes, readback, params]) {
        b.destroy();
      }
      samplesBuffer?.destroy();
    },
  };
  try {
    await checkPrecision(pipeline);
  } catch (e) {
    pipeline.destroy();
    throw e;
  }
  timings.clear(); // the probe's run is not the caller's
  return pipeline;
}

/**
 * A two-tone probe 110 dB apart, for {@linkcode checkPrecision}: a loud tone a quarter of the way up the bins
 * and a weak one three quarters up, 4 frames long.
 *
 * @param kernel the kernel (rates and sizes)
 * @returns the probe signal (float32)
 */
export function cqtPrecisionProbe(kernel: CqtKernel): Float32Array {
  const B = kernel.binsPerOctave;
  const fLoud = kernel.fmin * 2 ** (Math.floor(kernel.nBins / 4) / B);
  const fWeak = kernel.fmin * 2 ** (Math.floor((3 * kernel.nBins) / 4) / B);
  const n = 4 * kernel.hopSamples;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / kernel.sampleRateHz;
    x[i] = 0.9 * Math.cos(2 * Math.PI * fLoud * t) + 3e-6 * Math.cos(2 * Math.PI * fWeak * t);
  }
  return x;
}

/**
 * Runs the precision probe through the GPU pipeline and the float64 CPU path and throws when a cell above
 * −120 dB differs by more than 1e-3 relative (~0.009 dB): that happens when the device's shader compiler breaks
 * the df64 arithmetic (plain f32 is off by about 1e-2 there). Refusing to run beats silently wrong features.
 *
 * @param pipeline a freshly built pipeline
 * @throws {Error} when the GPU result is not float64-accurate
 */
export async function checkPrecision(pipeline: CqtPipeline): Promise<void> {
  const x = cqtPrecisionProbe(pipeline.kernel);
  const [gpu] = await pipeline.runManyMagnitudes([x]);
  const cpu = cqtMagnitude(x, pipeline.kernel);
  let max = 0;
  for (const v of cpu) max = Math.max(max, v);
  let worst = 0;
  for (let i = 0; i < cpu.length; i++) {
    if (cpu[i]! > max * 1e-6) worst = Math.max(worst, Math.abs(gpu!.data[i]! / cpu[i]! - 1));
  }
  if (!(worst <= 1e-3)) {
    throw new Error(
      `CqtPipeline: the GPU result is not float64-accurate on the precision probe (worst relative error ` +
        `${worst.toExponential(2)} > 1e-3); this device's shader compiler probably breaks double-float arithmetic`,
    );
  }
}
