/**
 * The distance matrix as an image's data: rows (queries) and columns (references) sorted by work, so that the
 * versions of a work form blocks on the diagonal, and binned down to at most `maxCells` per side (each cell the
 * mean of its non-excluded distances). Pure; {@linkcode heatmapPng} turns it into pixels.
 *
 * @example
 * ```ts
 * import { distanceHeatmap } from "./heatmap.ts";
 * // 3 tracks, self-retrieval (diagonal −1), labels 1, 0, 1 → sorted order 1, 0, 2
 * const dist = new Float64Array([-1, 0.9, 0.1, 0.9, -1, 0.8, 0.1, 0.8, -1]);
 * const h = distanceHeatmap(dist, 3, 3, { labelsQuery: [1, 0, 1], labelsRef: [1, 0, 1] });
 * if (h.values[1 * 3 + 2] !== 0.1 || h.rowBreaks[0] !== 1) throw new Error("unexpected heatmap");
 * ```
 *
 * @module
 */

/** A binned, work-sorted distance matrix. */
export interface Heatmap {
  /** Query tracks (matrix rows) before binning. */
  rows: number;
  /** Reference tracks (matrix columns) before binning. */
  cols: number;
  /** Cell rows after binning (`min(rows, maxCells)`). */
  cellRows: number;
  /** Cell columns after binning (`min(cols, maxCells)`). */
  cellCols: number;
  /** Row-major `(cellRows, cellCols)` mean distances; −1 where every pair of the cell is excluded. */
  values: number[];
  /** Smallest non-excluded cell value (0 when there is none). */
  min: number;
  /** Largest non-excluded cell value (0 when there is none). */
  max: number;
  /** Positions (in sorted tracks, 1 ≤ i < rows) where a new query work starts; empty without labels. */
  rowBreaks: number[];
  /** Positions (in sorted tracks, 1 ≤ i < cols) where a new reference work starts; empty without labels. */
  colBreaks: number[];
}

/** Options of {@linkcode distanceHeatmap}. */
export interface HeatmapOptions {
  /** Work label per query (row); without it rows keep file order. */
  labelsQuery?: ArrayLike<number>;
  /** Work label per reference (column); without it columns keep file order. */
  labelsRef?: ArrayLike<number>;
  /**
   * Cells per side at most.
   * @default 400
   */
  maxCells?: number;
}

function sortedOrder(n: number, labels: ArrayLike<number> | undefined): { order: number[]; breaks: number[] } {
  const order = Array.from({ length: n }, (_, i) => i);
  if (labels === undefined) return { order, breaks: [] };
  order.sort((a, b) => labels[a]! - labels[b]! || a - b);
  const breaks: number[] = [];
  for (let i = 1; i < n; i++) if (labels[order[i]!] !== labels[order[i - 1]!]) breaks.push(i);
  return { order, breaks };
}

/**
 * Builds the heatmap of a distance matrix (see the module doc).
 *
 * @param dist row-major `(rows, cols)` distances, negative = excluded
 * @param rows query tracks
 * @param cols reference tracks
 * @param options labels and size
 * @returns the heatmap
 * @throws {RangeError} on a size mismatch or bad `maxCells`
 */
export function distanceHeatmap(
  dist: ArrayLike<number>,
  rows: number,
  cols: number,
  options: HeatmapOptions = {},
): Heatmap {
  const { labelsQuery, labelsRef, maxCells = 400 } = options;
  if (!Number.isInteger(maxCells) || maxCells < 1) {
    throw new RangeError(`'maxCells' must be a positive integer: current value is ${maxCells}`);
  }
  if (dist.length !== rows * cols) {
    throw new RangeError(`distanceHeatmap: ${dist.length} values, expected ${rows}×${cols}`);
  }
  if (labelsQuery !== undefined && labelsQuery.length !== rows) {
    throw new RangeError(`distanceHeatmap: ${labelsQuery.length} query labels for ${rows} rows`);
  }
  if (labelsRef !== undefined && labelsRef.length !== cols) {
    throw new RangeError(`distanceHeatmap: ${labelsRef.length} reference labels for ${cols} columns`);
  }
  const r = sortedOrder(rows, labelsQuery), c = sortedOrder(cols, labelsRef);
  const cellRows = Math.min(rows, maxCells), cellCols = Math.min(cols, maxCells);
  const sum = new Float64Array(cellRows * cellCols), count = new Int32Array(cellRows * cellCols);
  for (let i = 0; i < rows; i++) {
    const ci = Math.floor((i * cellRows) / rows), base = r.order[i]! * cols;
    for (let j = 0; j < cols; j++) {
      const d = dist[base + c.order[j]!]!;
      if (!(d >= 0)) continue;
      const cell = ci * cellCols + Math.floor((j * cellCols) / cols);
      sum[cell]! += d;
      count[cell]!++;
    }
  }
  const values = Array.from(sum, (s, k) => (count[k]! > 0 ? s / count[k]! : -1));
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    if (v < 0) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return {
    rows,
    cols,
    cellRows,
    cellCols,
    values,
    min: Number.isFinite(min) ? min : 0,
    max: Number.isFinite(max) ? max : 0,
    rowBreaks: r.breaks,
    colBreaks: c.breaks,
  };
}
