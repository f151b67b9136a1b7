/**
 * Axis ticks at "nice" numbers (1, 2 or 5 times a power of ten) and their labels.
 *
 * @module
 */

/** Ticks covering a range. */
export interface Ticks {
  /** Axis start (≤ the data's low end). */
  lo: number;
  /** Axis end (≥ the data's high end). */
  hi: number;
  /** Distance between ticks. */
  step: number;
  /** Tick values, `lo` to `hi`. */
  values: number[];
}

/**
 * Nice ticks for `[lo, hi]`, about `target` of them. A zero-width range is widened around its value.
 *
 * @param lo data minimum (finite)
 * @param hi data maximum (finite, ≥ lo)
 * @param target wanted tick count
 */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (hi - lo <= Math.abs(hi) * 1e-12 || hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
  const start = Math.floor(lo / step + 1e-9) * step, end = Math.ceil(hi / step - 1e-9) * step;
  const values: number[] = [];
  const clean = (v: number) => Number(v.toPrecision(12)); // 0.15000000000000002 → 0.15
  for (let k = 0; start + k * step <= end + step * 1e-9; k++) values.push(clean(start + k * step));
  return { lo: clean(start), hi: clean(end), step: clean(step), values };
}

/**
 * A tick label: as many decimals as the step needs, exponent notation for very small or large steps.
 *
 * @param value the tick
 * @param step the tick distance
 */
export function formatTick(value: number, step: number): string {
  if (Math.abs(value) < step * 1e-9) return "0";
  if (step < 1e-3 || Math.abs(value) >= 1e6) return value.toExponential(2).replace(/\.?0+e/, "e");
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return value.toFixed(decimals);
}
