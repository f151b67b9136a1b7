import { assertEquals, assertThrows } from "../_assert.ts";
import { decode } from "fast-png";
import { distanceHeatmap } from "../../lib/report/heatmap.ts";
import { distanceColour, EXCLUDED_RGB, heatmapPng } from "../../lib/report/heatmap_png.ts";
import { viridis } from "../../lib/report/_colour.ts";

Deno.test("distanceHeatmap() sorts rows and columns by work and marks where works change", () => {
  // labels 1, 0, 1: sorted order is track 1, then tracks 0 and 2
  const dist = [-1, 0.9, 0.1, 0.9, -1, 0.8, 0.1, 0.8, -1];
  const h = distanceHeatmap(dist, 3, 3, { labelsQuery: [1, 0, 1], labelsRef: [1, 0, 1] });
  assertEquals(h.values, [-1, 0.9, 0.8, 0.9, -1, 0.1, 0.8, 0.1, -1]);
  assertEquals([h.rowBreaks, h.colBreaks, h.min, h.max], [[1], [1], 0.1, 0.9]);
  const unsorted = distanceHeatmap(dist, 3, 3);
  assertEquals([unsorted.values, unsorted.rowBreaks], [dist, []]);
});

Deno.test("distanceHeatmap() bins big matrices into cell means, ignoring excluded pairs", () => {
  // 4×2 → 2×2: each cell is the mean of rows {0, 1} or {2, 3} of one column; one pair excluded
  const h = distanceHeatmap([0.1, 0.3, -1, 0.5, 0.2, 0.2, 0.4, 0.4], 4, 2, { maxCells: 2 });
  assertEquals([h.cellRows, h.cellCols], [2, 2]);
  assertEquals(h.values.map((v) => Math.round(v * 1e9) / 1e9), [0.1, 0.4, 0.3, 0.3]);
  assertEquals(distanceHeatmap([-1], 1, 1).values, [-1]);
  assertEquals([distanceHeatmap([-1], 1, 1).min, distanceHeatmap([-1], 1, 1).max], [0, 0]);
  assertThrows(() => distanceHeatmap([1, 2], 2, 2), "expected 2×2");
  assertThrows(() => distanceHeatmap([1], 1, 1, { labelsQuery: [1, 2] }), "query labels");
  assertThrows(() => distanceHeatmap([1], 1, 1, { maxCells: 0 }), "maxCells");
});

Deno.test("heatmapPng() draws close cells bright, far cells dark and excluded cells grey, scale× each", () => {
  const h = distanceHeatmap([-1, 0.2, 0.8, 0.5], 2, 2);
  const img = decode(heatmapPng(h, { scale: 3 }));
  assertEquals([img.width, img.height, img.channels, img.depth], [6, 6, 3, 8]);
  const px = (x: number, y: number) => [...img.data.slice((y * 6 + x) * 3, (y * 6 + x) * 3 + 3)];
  assertEquals(px(0, 0), [...EXCLUDED_RGB]);
  assertEquals(px(2, 2), [...EXCLUDED_RGB]);
  assertEquals(px(3, 0), viridis(1)); // 0.2 = min: yellow
  assertEquals(px(5, 2), viridis(1));
  assertEquals(px(0, 3), viridis(0)); // 0.8 = max: purple
  assertEquals(px(4, 4), viridis(0.5));
  assertEquals(distanceColour(0.3, 0.3, 0.3), viridis(1));
  assertThrows(() => heatmapPng(h, { scale: 0 }), "scale");
});
