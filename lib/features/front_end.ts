/**
 * The CQT front end as one object: which transform (`pycqt`, the original's, or `nnaudio`, the
 * fork's), with which bins, on which device. A model pins its front end; extraction builds the
 * kernel (and, on WebGPU, the pipeline) once per worker.
 *
 * @module
 */
import { createCqtKernel } from "./cqt_kernel.ts";
import { cqt, CqtPlan } from "./cqt.ts";
import { createNnaudioKernel, nnaudioCqt } from "./nnaudio_cqt.ts";
import { createCqtPipeline, requestCqtGpuDevice } from "./cqt_webgpu.ts";

/** Front-end settings (the data hparams `front_end`, `fmin`, `n_bins`, `bins_per_octave`). */
export interface FrontEndOptions {
  /** Which transform. */
  kind: "pycqt" | "nnaudio";
  /** Lowest bin centre in Hz. */
  fmin: number;
  /** Number of bins. */
  nBins: number;
  /** Bins per octave. */
  binsPerOctave: number;
  /** Where the CQT runs: the CPU (WebAssembly engine) or WebGPU (pycqt only). @default "cpu" */
  device?: "cpu" | "webgpu";
}

/** A feature matrix `(frames, bins)`, time-major, dB re the track's max. */
export interface Feature {
  data: Float32Array;
  frames: number;
  bins: number;
}

/** A built front end. */
export interface FrontEnd {
  /** Options it was built with. */
  readonly options: FrontEndOptions;
  /** Number of bins per frame. */
  readonly bins: number;
  /** Features of several whole tracks (16 kHz mono), batched where the device allows. */
  computeMany(signals: readonly Float32Array[]): Promise<Feature[]>;
  /** Releases GPU resources. */
  close(): void;
}

/** Builds a front end (kernel and, on WebGPU, device and pipeline are made here, once). */
export async function createFrontEnd(options: FrontEndOptions): Promise<FrontEnd> {
  const { kind, fmin, nBins, binsPerOctave, device = "cpu" } = options;
  if (kind === "nnaudio") {
    if (device === "webgpu") throw new Error("front_end 'nnaudio' runs on the CPU only; use --device cpu");
    const kernel = createNnaudioKernel({ fmin, nBins, binsPerOctave });
    return {
      options,
      bins: nBins,
      computeMany: (ys) => Promise.resolve(ys.map((y) => nnaudioCqt(y, kernel))),
      close() {},
    };
  }
  const kernel = createCqtKernel({ fmin, nBins, binsPerOctave });
  if (device === "cpu") {
    const plan = new CqtPlan(kernel);
    return { options, bins: nBins, computeMany: (ys) => Promise.resolve(ys.map((y) => cqt(y, plan))), close() {} };
  }
  const gpu = await requestCqtGpuDevice();
  if (gpu === null) throw new Error("WebGPU front end: no WebGPU adapter found");
  const pipe = await createCqtPipeline(gpu, kernel);
  return {
    options,
    bins: nBins,
    computeMany: (ys) => pipe.runMany(ys),
    close() {
      pipe.destroy();
      gpu.destroy();
    },
  };
}
