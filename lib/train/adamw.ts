/**
 * AdamW with decoupled weight decay, as PyTorch's `torch.optim.AdamW` (spec §4.6), for tfjs Variables. For each
 * parameter that received a gradient (`t` is that parameter's own step count):
 *
 * ```
 * p ← p·(1 − lr·wd)
 * m ← β1·m + (1 − β1)·g
 * v ← β2·v + (1 − β2)·g²
 * p ← p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
 * ```
 *
 * A parameter with no gradient is skipped entirely (no weight decay, no moment update, no step count), e.g. the
 * frozen BNNeck bias, or the centers while the center loss is off. The state (per-parameter step, m and v)
 * converts to and from plain typed arrays for checkpoints (`adamwState()`, `loadAdamwState()`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createAdamW } from "./adamw.ts";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor1d([1, -1]), true, "w");
 * const opt = createAdamW({ weightDecay: 0 });
 * const g = tf.tensor1d([0.5, -0.5]);
 * opt.step({ w }, { w: g }, 0.1);
 * // first step: m̂ = g, v̂ = g², so each weight moves by lr·sign(g) (up to eps)
 * const [a, b] = w.dataSync();
 * if (Math.abs(a! - 0.9) > 1e-6 || Math.abs(b! + 0.9) > 1e-6) throw new Error(`${a} ${b}`);
 * tf.dispose([w, g]);
 * opt.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { adamwUpdateWebGpu } from "./adamw_webgpu.ts";
import { adamwUpdateWasm } from "./adamw_wasm.ts";
import { ownWebGpuKernels } from "../model/kernels.ts";

/** Hyperparameters of {@linkcode createAdamW}. Defaults are the covers80 hparams with PyTorch's eps and decay. */
export interface AdamWOptions {
  /**
   * β1 (`adam_b1`).
   * @default {0.8}
   */
  beta1?: number;
  /**
   * β2 (`adam_b2`).
   * @default {0.99}
   */
  beta2?: number;
  /**
   * Added to `sqrt(v̂)`.
   * @default {1e-8}
   */
  eps?: number;
  /**
   * Decoupled weight decay (PyTorch's AdamW default; applies to every parameter with a gradient).
   * @default {0.01}
   */
  weightDecay?: number;
}

/** One parameter's optimiser state as plain data. */
export interface AdamWParamState {
  /** Number of updates this parameter has received. */
  step: number;
  /** Parameter shape. */
  shape: number[];
  /** First moment, row-major. */
  m: Float32Array;
  /** Second moment, row-major. */
  v: Float32Array;
}

/** The whole optimiser state as plain data, keyed by parameter name. */
export interface AdamWState {
  /** State of each parameter that has been updated at least once. */
  params: Record<string, AdamWParamState>;
}

interface Slot {
  step: number;
  m: tf.Tensor;
  v: tf.Tensor;
}

/** An AdamW optimiser: owns its moment tensors (free them with `dispose`). */
export interface AdamW {
  /** The resolved hyperparameters. */
  readonly options: Readonly<Required<AdamWOptions>>;
  /**
   * Applies one update to every parameter that has a gradient.
   *
   * @param params parameters by name
   * @param grads gradients by the same names; a missing, null or undefined entry means "no gradient"
   * @param lr the learning rate of this step (e.g. from `lrAt`)
   * @param options `gradScale`: a 1-element tensor every gradient is multiplied by first (the clip coefficient
   *   from `gradNormScale`; on webgpu the update kernels fold it in instead of a kernel per gradient)
   * @throws {RangeError} on a gradient with no parameter, a shape mismatch, or a bad `lr`
   */
  step(
    params: Readonly<Record<string, tf.Variable>>,
    grads: Readonly<Record<string, tf.Tensor | null | undefined>>,
    lr: number,
    options?: { gradScale?: tf.Tensor },
  ): void;
  /**
   * Copies the state (per-parameter step, m, v) into plain typed arrays, e.g. for a checkpoint. Reads the tensors
   * back synchronously; the snapshot shares no memory with the optimiser.
   */
  adamwState(): Promise<AdamWState>;
  /**
   * Replaces the state with a snapshot from `adamwState()` (the arrays are copied; the previous state is freed).
   *
   * @throws {RangeError} when a step is not a non-negative integer or an array does not match its shape
   */
  loadAdamwState(state: AdamWState): void;
  /** Frees the moment tensors. */
  dispose(): void;
}

function checkOptions(o: Required<AdamWOptions>): void {
  for (const k of ["beta1", "beta2"] as const) {
    if (!(o[k] >= 0 && o[k] < 1)) throw new RangeError(`AdamW: '${k}' must be in [0, 1): current value is ${o[k]}`);
  }
  if (!(o.eps >= 0 && Number.isFinite(o.eps))) {
    throw new RangeError(`AdamW: 'eps' must be a finite number >= 0: current value is ${o.eps}`);
  }
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) {
    throw new RangeError(`AdamW: 'weightDecay' must be a finite number >= 0: current value is ${o.weightDecay}`);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Creates an AdamW optimiser with empty state.
 *
 * @param options β1, β2, eps, weight decay
 * @returns the optimiser
 * @throws {RangeError} on an out-of-range hyperparameter
 */
export function createAdamW(options: AdamWOptions = {}): AdamW {
  const { beta1 = 0.8, beta2 = 0.99, eps = 1e-8, weightDecay = 0.01 } = options;
  const resolved = Object.freeze({ beta1, beta2, eps, weightDecay });
  checkOptions(resolved);
  const slots = new Map<string, Slot>();
  const clear = (): void => {
    for (const s of slots.values()) tf.dispose([s.m, s.v]);
    slots.clear();
  };
  return {
    options: resolved,
    step(params, grads, lr, stepOptions = {}) {
      if (!(lr >= 0 && Number.isFinite(lr))) throw new RangeError(`AdamW: 'lr' must be finite and >= 0, got ${lr}`);
      // Validate everything before touching any parameter.
      const work: [string, tf.Variable, tf.Tensor][] = [];
      for (const [name, g] of Object.entries(grads)) {
        if (g === null || g === undefined) continue;
        const p = params[name];
        if (p === undefined) throw new RangeError(`AdamW: gradient '${name}' has no parameter`);
        if (!sameShape(p.shape, g.shape)) {
          throw new RangeError(`AdamW: '${name}' has shape [${p.shape}] but its gradient [${g.shape}]`);
        }
        const slot = slots.get(name);
        if (slot !== undefined && !sameShape(slot.m.shape, p.shape)) {
          throw new RangeError(`AdamW: '${name}' has shape [${p.shape}] but its state [${slot.m.shape}]`);
        }
        work.push([name, p, g]);
      }
      const { gradScale } = stepOptions;
      if (gradScale !== undefined && gradScale.size !== 1) {
        throw new RangeError(`AdamW: 'gradScale' must have one element, got shape [${gradScale.shape}]`);
      }
      // webgpu: three WGSL kernels per parameter (adamw_webgpu.ts); wasm: one SIMD pass (adamw_wasm.ts); elsewhere the
      // same arithmetic as tfjs ops.
      const fused = ownWebGpuKernels(tf.getBackend());
      const simd = tf.getBackend() === "wasm";
      const one = fused && gradScale === undefined ? tf.scalar(1) : undefined;
      for (const [name, p, g] of work) {
        let slot = slots.get(name);
        if (slot === undefined) {
          slot = { step: 0, m: tf.keep(tf.zerosLike(p)), v: tf.keep(tf.zerosLike(p)) };
          slots.set(name, slot);
        }
        const t = slot.step + 1;
        const stepSize = lr / (1 - beta1 ** t);
        const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
        const s = slot;
        const update = (): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor } => {
          const decay = 1 - lr * weightDecay;
          if (simd) return adamwUpdateWasm(p, g, s.m, s.v, gradScale, { beta1, beta2, decay, stepSize, bc2Sqrt, eps });
          if (fused) {
            return adamwUpdateWebGpu(p, g, s.m, s.v, gradScale ?? one!, {
              beta1,
              beta2,
              decay,
              stepSize,
              bc2Sqrt,
              eps,
            });
          }
          return tf.tidy(() => {
            const gs = gradScale === undefined ? g : tf.mul(g, gradScale);
            const decayed = tf.mul(p, decay);
            const m = tf.add(tf.mul(s.m, beta1), tf.mul(gs, 1 - beta1));
            const v = tf.add(tf.mul(s.v, beta2), tf.mul(tf.mul(gs, gs), 1 - beta2));
            const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
            return { p: tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)), m, v };
          });
        };
        const { p: newP, m: newM, v: newV } = update();
        p.assign(newP);
        newP.dispose();
        s.m.dispose();
        s.v.dispose();
        s.m = tf.keep(newM); // kept: the optimiser may be stepped inside a caller's tf.tidy
        s.v = tf.keep(newV);
        s.step = t;
      }
      one?.dispose();
    },
    async adamwState() {
      // Asynchronous reads: the webgpu backend cannot read synchronously under Deno (no OffscreenCanvas).
      const params: Record<string, AdamWParamState> = {};
      for (const [name, s] of slots) {
        params[name] = {
          step: s.step,
          shape: [...s.m.shape],
          m: Float32Array.from(await s.m.data()),
          v: Float32Array.from(await s.v.data()),
        };
      }
      return { params };
    },
    loadAdamwState(state) {
      const entries = Object.entries(state.params);
      for (const [name, s] of entries) {
        const size = s.shape.reduce((a, b) => a * b, 1);
        if (!Number.isInteger(s.step) || s.step < 0) {
          throw new RangeError(`AdamW: state of '${name}' has step ${s.step}; expected an integer >= 0`);
        }
        if (s.m.length !== size || s.v.length !== size) {
          throw new RangeError(
            `AdamW: state of '${name}' has shape [${s.shape}] (${size} values) but m has ${s.m.length}, v ${s.v.length}`,
          );
        }
      }
      clear();
      for (const [name, s] of entries) {
        slots.set(name, {
          step: s.step,
          m: tf.keep(tf.tensor(Float32Array.from(s.m), s.shape)),
          v: tf.keep(tf.tensor(Float32Array.from(s.v), s.shape)),
        });
      }
    },
    dispose: clear,
  };
}
