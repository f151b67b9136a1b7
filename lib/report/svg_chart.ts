/**
 * A line chart as an inline SVG figure (no script, no external resource): axes with nice ticks, one polyline
 * per series (gaps at non-finite values), point markers with hover titles on short series, an optional
 * vertical marker, and an HTML legend.
 *
 * @example
 * ```ts
 * import { renderLineChart } from "./svg_chart.ts";
 * const html = renderLineChart({
 *   id: "map",
 *   title: "mAP per epoch",
 *   xLabel: "epoch",
 *   series: [{ name: "mAP/covers80", points: [[1, 0.5], [2, 0.6]] }],
 *   markX: 2,
 * });
 * if (!html.includes("<svg") || !html.includes("mAP/covers80")) throw new Error("unexpected chart");
 * ```
 *
 * @module
 */
import type { ChartData } from "./curves.ts";
import { escapeHtml } from "./_escape.ts";
import { seriesColour } from "./_colour.ts";
import { formatTick, niceTicks } from "./_ticks.ts";

/** Options of {@linkcode renderLineChart}. */
export interface LineChartOptions {
  /**
   * SVG width in CSS pixels.
   * @default 520
   */
  width?: number;
  /**
   * SVG height in CSS pixels.
   * @default 260
   */
  height?: number;
  /**
   * Series with at most this many points get a marker (with a hover title) per point.
   * @default 60
   */
  markerLimit?: number;
}

const MARGIN = { left: 62, right: 14, top: 10, bottom: 38 };

const num = (v: number) => (Math.round(v * 100) / 100).toString();

/**
 * Renders a chart (see the module doc).
 *
 * @param chart the data
 * @param options size and markers
 * @returns an HTML `<figure>` holding the SVG and the legend, with `data-plot` set to the chart's id
 */
export function renderLineChart(chart: ChartData, options: LineChartOptions = {}): string {
  const { width = 520, height = 260, markerLimit = 60 } = options;
  const finite = chart.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const xs = finite.map((p) => p[0]), ys = finite.map((p) => p[1]);
  if (chart.markX !== null) xs.push(chart.markX);
  const xt = niceTicks(xs.length > 0 ? Math.min(...xs) : 0, xs.length > 0 ? Math.max(...xs) : 1, 6);
  const yt = niceTicks(ys.length > 0 ? Math.min(...ys) : 0, ys.length > 0 ? Math.max(...ys) : 1, 5);
  const pw = width - MARGIN.left - MARGIN.right, ph = height - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - xt.lo) / (xt.hi - xt.lo)) * pw;
  const sy = (y: number) => MARGIN.top + ph - ((y - yt.lo) / (yt.hi - yt.lo)) * ph;
  const parts: string[] = [];
  // grid and tick labels
  for (const v of yt.values) {
    const y = num(sy(v));
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${MARGIN.left + pw}" y1="${y}" y2="${y}"/>`);
    parts.push(
      `<text class="tick" x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dy="0.32em">${
        escapeHtml(formatTick(v, yt.step))
      }</text>`,
    );
  }
  for (const v of xt.values) {
    const x = num(sx(v));
    parts.push(`<line class="grid" x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + ph}"/>`);
    parts.push(
      `<text class="tick" x="${x}" y="${MARGIN.top + ph + 15}" text-anchor="middle">${
        escapeHtml(formatTick(v, xt.step))
      }</text>`,
    );
  }
  parts.push(
    `<rect class="frame" x="${MARGIN.left}" y="${MARGIN.top}" width="${pw}" height="${ph}"/>`,
    `<text class="axis" x="${MARGIN.left + pw / 2}" y="${height - 4}" text-anchor="middle">${
      escapeHtml(chart.xLabel)
    }</text>`,
  );
  if (chart.markX !== null) {
    const x = num(sx(chart.markX));
    parts.push(
      `<line class="mark" x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + ph}"><title>${
        escapeHtml(`${chart.xLabel} ${chart.markX}: the embeddings shown below`)
      }</title></line>`,
    );
  }
  chart.series.forEach((s, i) => {
    const colour = seriesColour(i);
    let d = "", pen = false;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${num(sx(x))},${num(sy(y))}`;
      pen = true;
    }
    parts.push(`<path class="line" d="${d}" stroke="${colour}"><title>${escapeHtml(s.name)}</title></path>`);
    if (s.points.length <= markerLimit) {
      for (const [x, y] of s.points) {
        if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
        parts.push(
          `<circle cx="${num(sx(x))}" cy="${num(sy(y))}" r="3" fill="${colour}"><title>${
            escapeHtml(`${s.name}, ${chart.xLabel} ${x}: ${Number(y.toPrecision(5))}`)
          }</title></circle>`,
        );
      }
    }
  });
  const legend = chart.series.map((s, i) =>
    `<li><span class="swatch" style="background:${seriesColour(i)}"></span>${escapeHtml(s.name)}</li>`
  ).join("");
  return `<figure class="chart" id="chart-${escapeHtml(chart.id)}" data-plot="chart-${escapeHtml(chart.id)}">` +
    `<figcaption>${escapeHtml(chart.title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${
      escapeHtml(chart.title)
    }">${parts.join("")}</svg>` +
    `<ul class="legend">${legend}</ul></figure>`;
}
