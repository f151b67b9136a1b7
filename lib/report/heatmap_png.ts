/**
 * Encodes a {@linkcode Heatmap} as a PNG (RGB, 8 bits): small distances bright (viridis yellow), large ones dark
 * (viridis purple), excluded cells light grey; each cell a `scale × scale` square.
 *
 * @example
 * ```ts
 * import { heatmapPng } from "./heatmap_png.ts";
 * const h = { rows: 2, cols: 2, cellRows: 2, cellCols: 2, values: [-1, 0.2, 0.2, -1], min: 0.2, max: 0.2,
 *   rowBreaks: [], colBreaks: [] };
 * const png = heatmapPng(h, { scale: 3 }); // a 6×6 image
 * if (png[1] !== 0x50 || png[2] !== 0x4e || png[3] !== 0x47) throw new Error("not a PNG");
 * ```
 *
 * @module
 */
import { encode } from "fast-png";
import { viridis } from "./_colour.ts";
import type { Heatmap } from "./heatmap.ts";

/** Colour of an excluded cell (the diagonal of self-retrieval, `query_in_ref` pairs). */
export const EXCLUDED_RGB: readonly [number, number, number] = [217, 217, 217];

/** Options of {@linkcode heatmapPng}. */
export interface HeatmapPngOptions {
  /**
   * Pixels per cell side.
   * @default 1
   */
  scale?: number;
}

/**
 * The colour of a distance on the heatmap's scale: `min` → viridis(1) (yellow), `max` → viridis(0) (purple).
 *
 * @param value the distance (negative = excluded)
 * @param min the scale's low end
 * @param max the scale's high end
 * @returns `[r, g, b]`
 */
export function distanceColour(value: number, min: number, max: number): [number, number, number] {
  if (!(value >= 0)) return [...EXCLUDED_RGB];
  return viridis(max > min ? 1 - (value - min) / (max - min) : 1);
}

/**
 * Encodes the heatmap.
 *
 * @param heatmap the binned matrix
 * @param options pixels per cell
 * @returns PNG file bytes, `(cellCols · scale) × (cellRows · scale)` pixels
 * @throws {RangeError} when `scale` is not a positive integer or the image would be empty
 */
export function heatmapPng(heatmap: Heatmap, options: HeatmapPngOptions = {}): Uint8Array {
  const { scale = 1 } = options;
  if (!Number.isInteger(scale) || scale < 1) {
    throw new RangeError(`'scale' must be a positive integer: current value is ${scale}`);
  }
  const { cellRows, cellCols, values, min, max } = heatmap;
  if (cellRows < 1 || cellCols < 1) throw new RangeError("heatmapPng: the heatmap has no cells");
  const width = cellCols * scale, height = cellRows * scale;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const rowBase = Math.floor(y / scale) * cellCols;
    for (let x = 0; x < width; x++) {
      const rgb = distanceColour(values[rowBase + Math.floor(x / scale)]!, min, max);
      data.set(rgb, (y * width + x) * 3);
    }
  }
  return encode({ width, height, data, channels: 3, depth: 8 });
}
