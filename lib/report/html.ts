/**
 * Renders {@linkcode ReportData} as one self-contained HTML page: inline CSS, inline SVG for the curves and the
 * embedding map, the distance matrix as an inline PNG data URL, no script and no external resource (a
 * Content-Security-Policy of `default-src 'none'` makes the browser refuse any that slipped in). All text from
 * the data is escaped. Hover titles (SVG `<title>`) give each point's values and each track's id and work.
 *
 * @example
 * ```ts
 * import { renderReportHtml } from "./html.ts";
 * const html = renderReportHtml({
 *   title: "demo <run>",
 *   dir: "egs/demo",
 *   createdAt: "2026-01-02T03:04:05.000Z",
 *   notes: ["no eval folder"],
 *   training: null,
 *   metrics: [],
 *   charts: [],
 *   embedding: null,
 *   distance: null,
 *   worst: null,
 * });
 * if (!html.includes("demo &lt;run&gt;") || html.includes("<script")) throw new Error("unexpected page");
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { ChartData } from "./curves.ts";
import type {
  DistanceData,
  EmbeddingMapData,
  MetricsSummary,
  ReportData,
  TrainingSummary,
  WorstData,
} from "./report.ts";
import { renderLineChart } from "./svg_chart.ts";
import { renderScatter } from "./svg_scatter.ts";
import { heatmapPng } from "./heatmap_png.ts";
import { escapeHtml } from "./_escape.ts";
import { viridis, workColour } from "./_colour.ts";

/** Charts shown under "mAP per epoch" rather than "Training curves". */
const RETRIEVAL_CHARTS = new Set(["map", "hit-rate", "mr1"]);

/** Largest number of works whose boundaries are drawn on the distance image, and listed in the map's legend. */
const MAX_DRAWN_WORKS = 60;

const CSS = `
:root { color-scheme: light; --fg: #1d2126; --muted: #5b6470; --line: #d5dae0; --bg: #fff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); }
main { max-width: 1220px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 2px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.meta, .caption, figcaption, .missing { color: var(--muted); }
nav { margin: 10px 0 0; display: flex; gap: 14px; flex-wrap: wrap; }
nav a { color: #1f5fa8; text-decoration: none; }
.notes { background: #fff8e6; border: 1px solid #f0d9a0; border-radius: 6px; padding: 8px 12px 8px 28px; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; }
figure.chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px 4px; background: var(--bg); }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg .grid { stroke: #eceff2; }
svg .frame { fill: none; stroke: var(--line); }
svg .line { fill: none; stroke-width: 1.8; }
svg .mark { stroke: #c8303a; stroke-dasharray: 4 3; stroke-width: 1.2; }
svg .break { stroke: #fff; stroke-width: 1.5; }
svg.scatter circle { stroke: #fff; stroke-width: 0.8; }
.legend { list-style: none; margin: 4px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 14px;
  font-size: 12px; color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; }
.side { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.side .legend { flex-direction: column; max-height: 520px; overflow: auto; }
code { font-size: 12px; background: var(--panel); padding: 1px 4px; border-radius: 3px; }
`;

/** `digits` decimals, `–` for a non-finite value. */
function formatNumber(value: number, digits = 4): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

function formatDuration(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${sec} s` : `${sec} s`;
}

const missing = (text: string) => `<p class="missing">Not available: ${escapeHtml(text)}</p>`;
const cell = (v: number | null, digits: number) => `<td class="num">${v === null ? "–" : formatNumber(v, digits)}</td>`;

function renderTraining(t: TrainingSummary | null): string {
  if (t === null) return missing("no TensorBoard event files.");
  const rows: [string, string][] = [
    ["TensorBoard runs", t.runs.join(", ")],
    ["last step", t.lastStep === null ? "–" : String(t.lastStep)],
    ["last epoch", t.lastEpoch === null ? "–" : String(t.lastEpoch)],
    [
      `best mAP${t.testset === null ? "" : ` (${t.testset})`}`,
      t.bestMap === null ? "–" : `${t.bestMap.toFixed(4)} at epoch ${t.bestEpoch}`,
    ],
    ["wall time, first to last event", t.wallS === null ? "–" : formatDuration(t.wallS)],
  ];
  return `<table class="training"><tbody>${
    rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("")
  }</tbody></table>`;
}

function renderMetrics(metrics: readonly MetricsSummary[]): string {
  if (metrics.length === 0) return missing("no retrieval metrics (needs an eval folder, or embeddings with labels).");
  const ci = (m: MetricsSummary, k: string) => {
    const c = m.intervals?.[k];
    return c ? `<br><small class="meta">95%: ${c.lo.toFixed(3)} to ${c.hi.toFixed(3)}</small>` : "";
  };
  const rows = metrics.map((m) =>
    `<tr><td>${escapeHtml(m.source)}</td>${cell(m.queries, 0)}${cell(m.refs, 0)}${cell(m.works, 0)}` +
    `<td class="num"><b>${formatNumber(m.mAP)}</b>${ci(m, "mAP")}</td>` +
    `<td class="num">${m.hitRate === null ? "–" : formatNumber(m.hitRate)}${ci(m, "hit_rate")}</td>` +
    `<td class="num">${m.MR1 === null ? "–" : formatNumber(m.MR1, 2)}${ci(m, "MR1")}</td>${cell(m.top10, 4)}</tr>`
  );
  const heads = ["queries", "references", "works", "mAP", "hit rate (P@1)", "MR1", "P@10"];
  return `<table class="metrics"><thead><tr><th>source</th>${heads.map((h) => `<th class="num">${h}</th>`).join("")}` +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function renderCharts(charts: readonly ChartData[], empty: string): string {
  if (charts.length === 0) return missing(empty);
  return `<div class="charts">${charts.map((c) => renderLineChart(c)).join("")}</div>`;
}

function renderEmbedding(e: EmbeddingMapData | null): string {
  if (e === null) return missing("no saved embeddings (embed_<epoch>_<set>/ folders, written by train).");
  const svg = renderScatter(e.points.map((p) => ({ x: p.x, y: p.y, group: p.group, title: `${p.utt} (${p.work})` })));
  const legend = e.works.length <= MAX_DRAWN_WORKS
    ? `<ul class="legend">${
      e.works.map((w, i) => `<li><span class="swatch" style="background:${workColour(i)}"></span>${escapeHtml(w)}</li>`)
        .join("")
    }</ul>`
    : `<p class="caption">${e.works.length} works (too many to list; hover a point for its work).</p>`;
  return `<p class="caption">Test set <b>${escapeHtml(e.testset)}</b>, epoch <b>${e.epoch}</b> (${
    escapeHtml(e.epochChoice)
  }): ${e.points.length} tracks of ${e.works.length} works from <code>${escapeHtml(e.source)}</code>. ${
    escapeHtml(e.method)
  }. Each colour is one work; versions of a work close together mean the model groups them. Hover a point for its id.</p>` +
    `<div class="side"><figure id="embedding-map" data-plot="embedding-map">${svg}</figure>${legend}</div>`;
}

function colourBar(min: number, max: number): string {
  const stops = Array.from({ length: 9 }, (_, i) => {
    const [r, g, b] = viridis(1 - i / 8);
    return `<stop offset="${i / 8}" stop-color="rgb(${r},${g},${b})"/>`;
  }).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="260" height="34" viewBox="0 0 260 34" role="img" aria-label="colour scale">` +
    `<defs><linearGradient id="dist-scale">${stops}</linearGradient></defs>` +
    `<rect x="10" y="2" width="240" height="12" fill="url(#dist-scale)"/>` +
    `<text x="10" y="28">${formatNumber(min, 3)} (close)</text>` +
    `<text x="250" y="28" text-anchor="end">${formatNumber(max, 3)} (far)</text></svg>`;
}

function renderDistance(d: DistanceData | null): string {
  if (d === null) return missing("no eval folder and no saved embeddings.");
  const h = d.heatmap;
  const scale = Math.max(1, Math.floor(480 / Math.max(h.cellRows, h.cellCols)));
  const w = h.cellCols * scale, ht = h.cellRows * scale, m = 18;
  const png = Buffer.from(heatmapPng(h, { scale })).toString("base64");
  const lines: string[] = [];
  if (d.sortedByWork && (d.works ?? Infinity) <= MAX_DRAWN_WORKS) {
    for (const i of h.rowBreaks) {
      const y = (m + (i / h.rows) * ht).toFixed(2);
      lines.push(`<line class="break" x1="${m}" x2="${m + w}" y1="${y}" y2="${y}"/>`);
    }
    for (const j of h.colBreaks) {
      const x = (m + (j / h.cols) * w).toFixed(2);
      lines.push(`<line class="break" x1="${x}" x2="${x}" y1="${m}" y2="${m + ht}"/>`);
    }
  }
  const order = d.sortedByWork ? ", sorted by work" : "";
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w + m + 4}" height="${ht + m + 4}" viewBox="0 0 ${w + m + 4} ${
      ht + m + 4
    }" role="img" aria-label="distance matrix">` +
    `<image x="${m}" y="${m}" width="${w}" height="${ht}" href="data:image/png;base64,${png}"/>${lines.join("")}` +
    `<text x="${m + w / 2}" y="12" text-anchor="middle">references (${h.cols}${order})</text>` +
    `<text transform="translate(12 ${
      m + ht / 2
    }) rotate(-90)" text-anchor="middle">queries (${h.rows}${order})</text>` +
    `</svg>`;
  const binned = h.cellRows < h.rows || h.cellCols < h.cols
    ? ` Binned to ${h.cellRows}×${h.cellCols} cells, each the mean of its tracks' distances.`
    : "";
  return `<p class="caption">Track distance (min over chunk pairs of the cosine distance) from ${escapeHtml(d.source)}${
    d.works === null ? "" : `, ${d.works} works`
  }. Bright = close: the versions of a work should form bright blocks on the diagonal${
    d.sortedByWork ? " (white lines separate works)" : ""
  }; grey cells are excluded pairs (a track against itself).${binned}</p>` +
    `<figure id="distance-matrix" data-plot="distance-matrix">${svg}${colourBar(h.min, h.max)}</figure>`;
}

function renderWorst(w: WorstData | null): string {
  if (w === null) return missing("needs an eval folder, or saved embeddings with work labels.");
  const near = (n: { utt: string; work: string; distance: number } | null, withWork: boolean) =>
    n === null
      ? "<td>–</td>"
      : `<td>${escapeHtml(n.utt)}${withWork ? ` <span class="meta">(${escapeHtml(n.work)})</span>` : ""}, ${
        formatNumber(n.distance, 3)
      }</td>`;
  const rows = w.rows.map((r, i) =>
    `<tr><td class="num">${i + 1}</td><td>${escapeHtml(r.utt)}</td><td>${escapeHtml(r.work ?? "–")}</td>` +
    `<td class="num">${formatNumber(r.ap)}</td><td class="num">${r.firstRank > 0 ? r.firstRank : "none"}</td>` +
    `${cell(r.relevant, 0)}${near(r.nearestWrong, true)}${near(r.nearestRight, false)}</tr>`
  );
  return `<p class="caption">The ${w.rows.length} queries of ${w.queries} with the lowest average precision, from ${
    escapeHtml(w.source)
  }. First rank: rank of the first other version of the work in the query's ranking (none: no other version among the references).</p>` +
    `<table class="worst" data-plot="worst-queries"><thead><tr><th>#</th><th>query</th><th>work</th><th>AP</th>` +
    `<th>first rank</th><th>versions</th><th>nearest other work (distance)</th><th>nearest same work (distance)</th>` +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/**
 * Renders the page.
 *
 * @param data the collected report
 * @returns the HTML document
 */
export function renderReportHtml(data: ReportData): string {
  const date = `${data.createdAt.slice(0, 10)} ${data.createdAt.slice(11, 16)} UTC`;
  const curves = data.charts.filter((c) => !RETRIEVAL_CHARTS.has(c.id));
  const retrieval = data.charts.filter((c) => RETRIEVAL_CHARTS.has(c.id));
  const sections: [string, string, string][] = [
    ["summary", "Summary", renderTraining(data.training) + renderMetrics(data.metrics)],
    ["curves", "Training curves", renderCharts(curves, "no training scalars in the event files.")],
    [
      "map-per-epoch",
      "mAP per epoch",
      renderCharts(retrieval, "no mAP logged (train logs mAP/<set> at each evaluation)."),
    ],
    ["embedding", "Embeddings: 2-D map", renderEmbedding(data.embedding)],
    ["distances", "Distance matrix", renderDistance(data.distance)],
    ["worst", "Worst queries", renderWorst(data.worst)],
  ];
  const notes = data.notes.length === 0
    ? ""
    : `<ul class="notes" id="notes">${data.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`CoverHunter report: ${data.title}`)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>CoverHunter report: ${escapeHtml(data.title)}</h1>
<p class="meta"><code>${escapeHtml(data.dir)}</code> · made ${escapeHtml(date)} by <code>deno task report</code></p>
<nav>${sections.map(([id, title]) => `<a href="#${id}">${escapeHtml(title)}</a>`).join("")}</nav>
</header>
${notes}
${
    sections.map(([id, title, body]) => `<section id="${id}">\n<h2>${escapeHtml(title)}</h2>\n${body}\n</section>`)
      .join("\n")
  }
</main>
</body>
</html>
`;
}
