/**
 * Training curves from TensorBoard scalars: one series per tag (and run), grouped into the report's charts
 * (training losses per logged step, learning rate, losses per epoch, mAP / hit rate / MR1 per epoch, then any
 * other tag family). Pure: the caller reads the event files.
 *
 * @example
 * ```ts
 * import { curveCharts } from "./curves.ts";
 * const events = [
 *   { wallTime: 1, step: 1, tag: "mAP/covers80", value: 0.5 },
 *   { wallTime: 2, step: 2, tag: "mAP/covers80", value: 0.6 },
 * ];
 * const [chart] = curveCharts([{ run: "run", events }]);
 * if (chart?.title !== "mAP per epoch" || chart.series[0]?.points.length !== 2) throw new Error("unexpected chart");
 * ```
 *
 * @module
 */
import type { ScalarEvent } from "../io/tensorboard.ts";

/** One line of a chart: `(x, y)` points sorted by x (y may be NaN or ±Infinity, drawn as a gap). */
export interface Series {
  /** Legend text: the tag, with the run in parentheses when there are several runs. */
  name: string;
  /** `[x, y]` pairs, x ascending. */
  points: [number, number][];
}

/** One chart of the report. */
export interface ChartData {
  /** HTML id (letters, digits, `-`). */
  id: string;
  /** Heading. */
  title: string;
  /** What x counts (`step` or `epoch`). */
  xLabel: string;
  /** The lines. */
  series: Series[];
  /** An x to mark with a vertical line (the epoch the report's embeddings come from), or null. */
  markX: number | null;
}

/** The scalars of one TensorBoard run (`logs/<runid>/`, all its event files). */
export interface RunEvents {
  /** The run's folder name. */
  run: string;
  /** Its scalars, in any order. */
  events: readonly ScalarEvent[];
}

/** Options of {@linkcode curveCharts}. */
export interface CurveChartsOptions {
  /**
   * Points kept per series at most (longer series keep every k-th point and the last one).
   * @default 1500
   */
  maxPoints?: number;
}

interface Group {
  id: string;
  title: string;
  xLabel: string;
  match: (tag: string) => boolean;
}

// The tags the trainer writes (lib/train/train.ts), in the order the report shows them.
const GROUPS: readonly Group[] = [
  {
    id: "train-loss",
    title: "Training losses (logged steps)",
    xLabel: "step",
    match: (t) => t.startsWith("csi/") && t !== "csi/lr" && t !== "csi/epoch_total",
  },
  { id: "lr", title: "Learning rate", xLabel: "step", match: (t) => t === "csi/lr" },
  {
    id: "epoch-loss",
    title: "Losses per epoch (training mean, validation)",
    xLabel: "epoch",
    match: (t) => t === "csi/epoch_total" || /^csi_[^/]+\//.test(t),
  },
  { id: "map", title: "mAP per epoch", xLabel: "epoch", match: (t) => t.startsWith("mAP/") },
  { id: "hit-rate", title: "Hit rate (P@1) per epoch", xLabel: "epoch", match: (t) => t.startsWith("hit_rate/") },
  {
    id: "mr1",
    title: "MR1 per epoch (mean rank of the first other version)",
    xLabel: "epoch",
    match: (t) => t.startsWith("MR1/"),
  },
];

/**
 * The values of one tag by step. When a step was written more than once (a run resumed from an earlier
 * checkpoint), the last write by wall time wins, as in TensorBoard's view of a resumed run.
 *
 * @param events scalars of one run
 * @param tag the tag
 * @returns `[step, value]` pairs, step ascending
 */
export function tagSeries(events: readonly ScalarEvent[], tag: string): [number, number][] {
  const byStep = new Map<number, ScalarEvent>();
  for (const e of events) {
    if (e.tag !== tag) continue;
    const prev = byStep.get(e.step);
    if (prev === undefined || e.wallTime >= prev.wallTime) byStep.set(e.step, e);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step).map((e) => [e.step, e.value]);
}

/**
 * One tag over all runs (later runs in the list win on equal steps), e.g. `mAP/<set>` by epoch.
 *
 * @param runs the runs
 * @param tag the tag
 * @returns `[step, value]` pairs, step ascending
 */
export function mergedTagSeries(runs: readonly RunEvents[], tag: string): [number, number][] {
  const merged = new Map<number, number>();
  for (const r of runs) for (const [s, v] of tagSeries(r.events, tag)) merged.set(s, v);
  return [...merged].sort((a, b) => a[0] - b[0]);
}

function thin(points: [number, number][], maxPoints: number): [number, number][] {
  if (points.length <= maxPoints) return points;
  const k = Math.ceil(points.length / maxPoints);
  const kept = points.filter((_, i) => i % k === 0);
  if ((points.length - 1) % k !== 0) kept.push(points.at(-1)!);
  return kept;
}

const safeId = (s: string) => s.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").toLowerCase() || "x";

/**
 * Groups every tag of the runs into charts (see the module doc). Charts without data are left out.
 *
 * @param runs the runs, each with its scalars
 * @param options point budget
 * @returns the charts, in display order
 * @throws {RangeError} when `maxPoints` is not an integer ≥ 2
 */
export function curveCharts(runs: readonly RunEvents[], options: CurveChartsOptions = {}): ChartData[] {
  const { maxPoints = 1500 } = options;
  if (!Number.isInteger(maxPoints) || maxPoints < 2) {
    throw new RangeError(`'maxPoints' must be an integer ≥ 2: current value is ${maxPoints}`);
  }
  const tags = [...new Set(runs.flatMap((r) => r.events.map((e) => e.tag)))].sort();
  const groups: Group[] = [...GROUPS];
  for (const t of tags) {
    if (groups.some((g) => g.match(t))) continue;
    const prefix = t.includes("/") ? t.slice(0, t.indexOf("/")) : t;
    groups.push({
      id: `other-${safeId(prefix)}`,
      title: `${prefix} (other scalars)`,
      xLabel: "step",
      match: (x) => (x.includes("/") ? x.slice(0, x.indexOf("/")) : x) === prefix,
    });
  }
  const charts: ChartData[] = [];
  for (const g of groups) {
    const series: Series[] = [];
    for (const t of tags.filter(g.match)) {
      for (const r of runs) {
        const points = tagSeries(r.events, t);
        if (points.length === 0) continue;
        series.push({ name: runs.length > 1 ? `${t} (${r.run})` : t, points: thin(points, maxPoints) });
      }
    }
    if (series.length > 0) charts.push({ id: g.id, title: g.title, xLabel: g.xLabel, series, markX: null });
  }
  return charts;
}
