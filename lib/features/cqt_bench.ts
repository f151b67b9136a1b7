/**
 * Speed of the CPU CQT on one thread, in seconds of audio per second of compute ("x real time"), for
 * `deno task bench`. Library code: it measures and returns, it does not print.
 *
 * @example
 * ```ts
 * import { benchCqtCpu } from "./cqt_bench.ts";
 * const r = benchCqtCpu(2, { repeats: 1 });
 * console.log(`${r.realTimeFactor.toFixed(0)}x real time, ${r.microsecondsPerFrame.toFixed(0)} µs/frame`);
 * ```
 *
 * @module
 */

import { cqtMagnitude, CqtPlan } from "./cqt.ts";
import { type CqtKernel, createCqtKernel } from "./cqt_kernel.ts";

/** Options for {@linkcode benchCqtCpu}. */
export interface BenchCqtCpuOptions {
  /** Kernel to use; built with the defaults when absent (its construction is not timed). */
  kernel?: CqtKernel;
  /** Timed repetitions; the fastest is reported (after one untimed warm-up run). @default 3 */
  repeats?: number;
  /** Seed of the white-noise test signal. @default 1 */
  seed?: number;
  /** CPU engine (see `CqtPlanOptions`). @default "wasm" */
  engine?: "wasm" | "js";
}

/** Result of {@linkcode benchCqtCpu}. */
export interface BenchCqtCpuResult {
  /** Seconds of audio per second of compute (fastest repetition). */
  realTimeFactor: number;
  /** Compute time per 40 ms frame in µs (fastest repetition). */
  microsecondsPerFrame: number;
  /** Frames per repetition. */
  frames: number;
  /** Wall time of every timed repetition, in seconds. */
  timesS: number[];
}

/**
 * Times the linear-magnitude CQT (FFT + sparse product; the dB step is a separate O(T·K) pass) of `seconds`
 * of white noise on the calling thread.
 *
 * @param seconds length of the test signal in seconds of audio
 * @param options kernel, repetitions and seed
 * @returns speed figures
 * @throws {RangeError} when `seconds` gives no frame or `repeats` < 1
 */
export function benchCqtCpu(seconds: number, options: BenchCqtCpuOptions = {}): BenchCqtCpuResult {
  const { repeats = 3, seed = 1, engine = "wasm" } = options;
  const kernel = options.kernel ?? createCqtKernel();
  const n = Math.floor(seconds * kernel.sampleRateHz);
  const plan = new CqtPlan(kernel, { engine });
  const frames = Math.floor(n / kernel.hopSamples);
  if (frames < 1) throw new RangeError(`benchCqtCpu: ${seconds} s gives no frame`);
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new RangeError(`benchCqtCpu: 'repeats' must be a positive integer: current value is ${repeats}`);
  }
  const x = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x[i] = (s >>> 0) / 4294967296 - 0.5;
  }
  const out = new Float64Array(frames * kernel.nBins);
  cqtMagnitude(x, plan, { out }); // warm-up (JIT)
  const timesS: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    cqtMagnitude(x, plan, { out });
    timesS.push((performance.now() - t0) / 1000);
  }
  const best = Math.min(...timesS);
  return {
    realTimeFactor: n / kernel.sampleRateHz / best,
    microsecondsPerFrame: (best / frames) * 1e6,
    frames,
    timesS,
  };
}
