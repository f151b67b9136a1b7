import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { collectReport, type ReportData } from "../../lib/report/report.ts";
import { renderReportHtml } from "../../lib/report/html.ts";
import { renderLineChart } from "../../lib/report/svg_chart.ts";
import { renderScatter } from "../../lib/report/svg_scatter.ts";
import { escapeHtml } from "../../lib/report/_escape.ts";
import { formatTick, niceTicks } from "../../lib/report/_ticks.ts";
import { PLOTS, writeRunFixture } from "./_fixture.ts";

const HOSTILE = `<script>alert("x")</script> & 'q'`;

const EMPTY: ReportData = {
  title: "t",
  dir: "d",
  createdAt: "2026-01-02T03:04:05.000Z",
  notes: [],
  training: null,
  metrics: [],
  charts: [],
  embedding: null,
  distance: null,
  worst: null,
};

Deno.test("escapeHtml() escapes the five HTML-special characters", () => {
  assertEquals(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  assertEquals(escapeHtml(3), "3");
});

Deno.test("niceTicks() covers the range with 1-2-5 steps; formatTick() shows what the step needs", () => {
  assertEquals(niceTicks(0.18, 0.295, 5), { lo: 0.15, hi: 0.3, step: 0.05, values: [0.15, 0.2, 0.25, 0.3] });
  assertEquals(niceTicks(0, 20, 6).values, [0, 5, 10, 15, 20]);
  const flat = niceTicks(1e-3, 1e-3);
  assertOk(flat.lo < 1e-3 && flat.hi > 1e-3, JSON.stringify(flat));
  assertEquals([formatTick(0.16, 0.02), formatTick(15, 5), formatTick(0.00105, 0.00005), formatTick(1e-18, 1)], [
    "0.16",
    "15",
    "1.05e-3",
    "0",
  ]);
});

Deno.test("renderLineChart() draws one path per series, markers with titles, gaps at NaN, and escapes names", () => {
  const svg = renderLineChart({
    id: "x",
    title: HOSTILE,
    xLabel: "epoch",
    series: [{ name: HOSTILE, points: [[1, 0.5], [2, NaN], [3, 0.7], [4, 0.6]] }],
    markX: 3,
  });
  assertOk(!svg.includes("<script"), "names are escaped");
  assertEquals((svg.match(/<path /g) ?? []).length, 1);
  assertEquals((svg.match(/<circle /g) ?? []).length, 3);
  assertEquals((svg.match(/ d="M[^"]*"/)![0].match(/M/g) ?? []).length, 2, "the NaN breaks the line");
  assertOk(svg.includes('class="mark"') && svg.includes('data-plot="chart-x"'));
});

Deno.test("renderScatter() places every point inside the SVG with its title", () => {
  const pts = [{ x: -5, y: 2, group: 0, title: HOSTILE }, { x: 5, y: -2, group: 1, title: "b" }, {
    x: 0,
    y: 0,
    group: 2,
    title: "c",
  }];
  const svg = renderScatter(pts, { width: 200, height: 100 });
  const xy = [...svg.matchAll(/cx="([-\d.]+)" cy="([-\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assertEquals(xy.length, 3);
  assertOk(xy.every(([x, y]) => x! > 0 && x! < 200 && y! > 0 && y! < 100), JSON.stringify(xy));
  assertOk(xy[0]![1]! < xy[1]![1]!, "larger y is higher up");
  assertOk(!svg.includes("<script") && svg.includes("&lt;script&gt;"));
});

Deno.test("renderReportHtml() writes a self-contained, escaped page with every section", async () => {
  const root = await Deno.makeTempDir({ prefix: "report_html_" });
  try {
    const fx = await writeRunFixture(join(root, "run"), { workNames: [HOSTILE, "b", "c", "d"] });
    const data = await collectReport(fx.dir, { now: new Date("2026-01-02T03:04:05Z") });
    const html = renderReportHtml(data);
    assertOk(html.startsWith("<!doctype html>"));
    assertOk(html.includes("<title>CoverHunter report: run</title>") && html.includes("2026-01-02 03:04 UTC"));
    assertOk(html.includes(`content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`), "CSP");
    assertOk(!/<script|<link|<iframe|\bsrc=/i.test(html), "no script, stylesheet link or src");
    const urls = [...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi)].map((m) => m[0]);
    assertEquals([...new Set(urls)], ["http://www.w3.org"], "the only URL is the SVG namespace");
    assertOk(html.includes(escapeHtml(HOSTILE)), "the hostile work name appears escaped");
    for (const id of ["summary", "curves", "map-per-epoch", "embedding", "distances", "worst"]) {
      assertOk(html.includes(`<section id="${id}">`), id);
    }
    const plots = [...html.matchAll(/data-plot="([a-z0-9-]+)"/g)].map((m) => m[1]);
    assertEquals(plots, PLOTS);
    assertOk(/href="data:image\/png;base64,[A-Za-z0-9+/=]{100,}"/.test(html), "the matrix is an inline PNG");
    assertEquals((html.match(/<table class="worst"[\s\S]*?<\/table>/)![0].match(/<tr>/g) ?? []).length, 13);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("renderReportHtml() says what is missing instead of drawing empty plots", () => {
  const html = renderReportHtml({ ...EMPTY, notes: ["no eval folder <x>"] });
  assertOk(html.includes("<li>no eval folder &lt;x&gt;</li>"));
  assertEquals((html.match(/class="missing"/g) ?? []).length, 7);
  assertOk(!html.includes("data-plot="));
});
