// deno-lint-ignore-file no-console -- says why the browser test is ignored on a machine without Chromium
// The report page in a real browser: headless Chromium (Debian's `chromium`, which .ci/run installs) loads it
// with no console errors, lays out every plot at a non-zero size, decodes the distance image, and takes one
// screenshot that must be a non-blank PNG. Without Chromium the test is reported as ignored, never passed,
// except under CI or REQUIRE_CHROMIUM=1 (set by .ci/run), where a missing browser is a failure.
import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { decode } from "fast-png";
import { collectReport } from "../../lib/report/report.ts";
import { renderReportHtml } from "../../lib/report/html.ts";
import { PLOTS, writeRunFixture } from "./_fixture.ts";
import { findChromium, inspectPage } from "./_chromium.ts";

const chromium = findChromium();
const required = Boolean(Deno.env.get("REQUIRE_CHROMIUM") || Deno.env.get("CI"));
const ignore = chromium === null && !required;
if (ignore) {
  console.warn(
    "browser_test.ts: ignored: no chromium on PATH (apt-get install chromium, or set CHROMIUM=/path/to/chrome)",
  );
}

// Evaluated in the page after load: each plot's laid-out size, the decoded distance image, the map's points.
const PROBE = `(async () => {
  const plots = [...document.querySelectorAll("[data-plot]")].map((e) => {
    const r = e.getBoundingClientRect();
    return { id: e.dataset.plot, width: r.width, height: r.height };
  });
  const img = new Image();
  img.src = document.querySelector("#distance-matrix image").getAttribute("href");
  await img.decode();
  return { plots, matrix: [img.naturalWidth, img.naturalHeight], points: document.querySelectorAll("#embedding-map circle").length };
})()`;

Deno.test({
  name: "report page in headless Chromium: no console errors, every plot laid out, a non-blank screenshot",
  ignore,
  async fn() {
    if (chromium === null) {
      throw new Error("chromium not found on PATH (.ci/run installs Debian's chromium; did apt-get fail?)");
    }
    const root = await Deno.makeTempDir({ prefix: "report_browser_" });
    try {
      // A work name that would run script (and trip the page's CSP, a console error) if it were not escaped.
      const fx = await writeRunFixture(join(root, "run"), {
        workNames: [`<img src=x onerror="console.error('xss')"><script>console.error("xss")</script>`, "b", "c", "d"],
      });
      const page = join(root, "report.html");
      await Deno.writeTextFile(page, renderReportHtml(await collectReport(fx.dir)));
      const r = await inspectPage(chromium, pathToFileURL(page).href, {
        width: 1200,
        height: 2000,
        expression: PROBE,
        timeoutMs: 30_000,
      });
      assertEquals(r.errors, [], "console errors");
      const v = r.value as { plots: { id: string; width: number; height: number }[]; matrix: number[]; points: number };
      assertEquals(v.plots.map((p) => p.id), PLOTS);
      for (const p of v.plots) assertOk(p.width > 100 && p.height > 100, `${p.id} is ${p.width}×${p.height}`);
      assertEquals(v.matrix, [480, 480], "12 tracks at 40 px per cell");
      assertEquals(v.points, 12);

      const shot = decode(r.screenshot);
      assertEquals([shot.width, shot.height], [1200, 2000]);
      const colours = new Set<number>();
      let ink = 0;
      const ch = shot.channels;
      for (let i = 0; i < shot.width * shot.height; i++) {
        const [red, green, blue] = [shot.data[i * ch]!, shot.data[i * ch + 1]!, shot.data[i * ch + 2]!];
        colours.add((red << 16) | (green << 8) | blue);
        if (red + green + blue < 600) ink++;
      }
      assertOk(colours.size > 100, `only ${colours.size} colours: a blank page?`);
      assertOk(ink / (shot.width * shot.height) > 0.02, `only ${ink} non-white pixels`);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
