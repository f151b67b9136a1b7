/**
 * A scatter plot as an inline SVG (no script): points scaled to fit, coloured by group (work), each with a
 * hover title.
 *
 * @example
 * ```ts
 * import { renderScatter } from "./svg_scatter.ts";
 * const svg = renderScatter([{ x: 0, y: 0, group: 0, title: "a (work A)" }, { x: 1, y: 2, group: 1, title: "b" }]);
 * if ((svg.match(/<circle/g) ?? []).length !== 2) throw new Error("expected two points");
 * ```
 *
 * @module
 */
import { escapeHtml } from "./_escape.ts";
import { workColour } from "./_colour.ts";

/** One point of the scatter. */
export interface ScatterPoint {
  /** x in data units. */
  x: number;
  /** y in data units. */
  y: number;
  /** Colour group (0-based work index). */
  group: number;
  /** Hover text. */
  title: string;
}

/** Options of {@linkcode renderScatter}. */
export interface ScatterOptions {
  /**
   * SVG width in CSS pixels.
   * @default 640
   */
  width?: number;
  /**
   * SVG height in CSS pixels.
   * @default 520
   */
  height?: number;
  /**
   * Point radius in CSS pixels.
   * @default 5
   */
  radius?: number;
}

const num = (v: number) => (Math.round(v * 100) / 100).toString();

/**
 * Renders the points, keeping the aspect ratio of the data (UMAP distances mean the same along both axes).
 *
 * @param points the points
 * @param options size
 * @returns an `<svg>` element
 */
export function renderScatter(points: readonly ScatterPoint[], options: ScatterOptions = {}): string {
  const { width = 640, height = 520, radius = 5 } = options;
  const pad = radius + 8;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const [lx, hx] = points.length > 0 ? [Math.min(...xs), Math.max(...xs)] : [0, 0];
  const [ly, hy] = points.length > 0 ? [Math.min(...ys), Math.max(...ys)] : [0, 0];
  const span = Math.max(hx - lx, hy - ly, 1e-12);
  const k = Math.min(width - 2 * pad, height - 2 * pad) / span;
  const cx = (width - (hx - lx) * k) / 2, cy = (height - (hy - ly) * k) / 2;
  const circles = points.map((p) =>
    `<circle cx="${num(cx + (p.x - lx) * k)}" cy="${num(height - (cy + (p.y - ly) * k))}" r="${radius}" fill="${
      workColour(p.group)
    }"><title>${escapeHtml(p.title)}</title></circle>`
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" class="scatter" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="2-D map of the embeddings">` +
    `<rect class="frame" x="0.5" y="0.5" width="${width - 1}" height="${height - 1}"/>${circles}</svg>`;
}
