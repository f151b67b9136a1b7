/**
 * The learning rate of each training step (spec §4.6), as a pure function of the global step.
 *
 * The reference (`UserDefineExponentialLR`) multiplies the LR by `lr_decay` (floored at `min_lr`) whenever
 * `step % 1000 == 0`, before that step's update, with the global step starting at 1. Step `s` therefore trains with
 * `max(lr0 · decay^⌊s/1000⌋, min_lr)`: steps 1–999 use `lr0`, step 1000 is the first to use `lr0·decay`. The
 * decays are applied one by one in float64 (`lr ← max(lr·decay, min_lr)`), so the values are bit-identical to
 * Python's.
 *
 * Additions, off by default:
 * - `holdSteps` (CoverHunterMPS): a decay due at step `t` is skipped while the number of updates already done,
 *   `t − 1`, is `<= holdSteps`; skipped decays are not made up later.
 * - `warmup`: linear from 0, `lr0 · s / warmupSteps` for `s <= warmupSteps` (the reference's warmup is never
 *   reached); decays due during warmup are skipped, so the exponential decay starts from `lr0` after it.
 *
 * Not modelled: the reference's extra decay on resume and CoverHunterMPS's LR reset on every start (a caller that
 * wants either can restart the step count it passes in).
 *
 * @example
 * ```ts
 * import { lrAt } from "./lr_schedule.ts";
 * const opts = { learningRate: 1e-3, lrDecay: 0.9975, minLr: 1e-4 };
 * lrAt(999, opts); // 0.001
 * lrAt(1000, opts); // 0.0009975
 * ```
 *
 * @module
 */

/** Schedule settings (hparams `learning_rate`, `lr_decay`, `min_lr`, `warmup`, `warmup_steps`, `hold_steps`). */
export interface LrScheduleOptions {
  /**
   * Initial learning rate (`learning_rate`).
   * @default {0.001}
   */
  learningRate?: number;
  /**
   * Factor applied at each decay (`lr_decay`).
   * @default {0.9975}
   */
  lrDecay?: number;
  /**
   * Floor of the decayed learning rate (`min_lr`); warmup may go below it.
   * @default {0.0001}
   */
  minLr?: number;
  /**
   * Steps between decays (the reference hard-codes 1000).
   * @default {1000}
   */
  decayInterval?: number;
  /**
   * Linear warmup from 0 over `warmupSteps` steps.
   * @default {false}
   */
  warmup?: boolean;
  /**
   * Length of the warmup (`warmup_steps`).
   * @default {20000}
   */
  warmupSteps?: number;
  /**
   * Updates before decay may start (`hold_steps`, CoverHunterMPS).
   * @default {0}
   */
  holdSteps?: number;
}

/**
 * The learning rate used by the update of global step `step` (1-based).
 *
 * @param step the global step, an integer >= 1
 * @param options the schedule
 * @returns the learning rate
 * @throws {RangeError} on a step < 1 or an out-of-range option
 */
export function lrAt(step: number, options: LrScheduleOptions = {}): number {
  const {
    learningRate = 1e-3,
    lrDecay = 0.9975,
    minLr = 1e-4,
    decayInterval = 1000,
    warmup = false,
    warmupSteps = 20000,
    holdSteps = 0,
  } = options;
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`lrAt: 'step' must be an integer >= 1, got ${step}`);
  if (!(learningRate >= 0 && Number.isFinite(learningRate))) {
    throw new RangeError(`lrAt: 'learningRate' must be finite and >= 0: current value is ${learningRate}`);
  }
  if (!(lrDecay > 0 && lrDecay <= 1)) {
    throw new RangeError(`lrAt: 'lrDecay' must be in (0, 1]: current value is ${lrDecay}`);
  }
  if (!(minLr >= 0 && Number.isFinite(minLr))) {
    throw new RangeError(`lrAt: 'minLr' must be finite and >= 0: current value is ${minLr}`);
  }
  if (!Number.isInteger(decayInterval) || decayInterval < 1) {
    throw new RangeError(`lrAt: 'decayInterval' must be an integer >= 1: current value is ${decayInterval}`);
  }
  if (!Number.isInteger(holdSteps) || holdSteps < 0) {
    throw new RangeError(`lrAt: 'holdSteps' must be an integer >= 0: current value is ${holdSteps}`);
  }
  if (warmup && (!Number.isInteger(warmupSteps) || warmupSteps < 1)) {
    throw new RangeError(`lrAt: 'warmupSteps' must be an integer >= 1: current value is ${warmupSteps}`);
  }
  if (warmup && step <= warmupSteps) return learningRate * step / warmupSteps;
  // Decays happen at t = k·decayInterval <= step, when t − 1 > holdSteps and (with warmup) t > warmupSteps.
  const first = Math.max(holdSteps + 2, warmup ? warmupSteps + 1 : 1);
  const firstK = Math.ceil(first / decayInterval);
  const lastK = Math.floor(step / decayInterval);
  let lr = learningRate;
  for (let k = firstK; k <= lastK; k++) {
    lr = lr * lrDecay;
    lr = lr > minLr ? lr : minLr;
    if (lr === minLr) break; // decay <= 1: it stays at the floor
  }
  return lr;
}
