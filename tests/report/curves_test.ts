import { assertEquals, assertThrows } from "../_assert.ts";
import { curveCharts, mergedTagSeries, tagSeries } from "../../lib/report/curves.ts";
import type { ScalarEvent } from "../../lib/io/tensorboard.ts";

const ev = (tag: string, step: number, value: number, wallTime = step): ScalarEvent => ({ tag, step, value, wallTime });

Deno.test("tagSeries() sorts by step and keeps the last write of a repeated step", () => {
  const events = [ev("a", 2, 20, 5), ev("a", 1, 10, 1), ev("a", 2, 21, 9), ev("b", 1, 99)];
  assertEquals(tagSeries(events, "a"), [[1, 10], [2, 21]]);
});

Deno.test("mergedTagSeries() lets later runs win on equal steps", () => {
  const runs = [
    { run: "a", events: [ev("mAP/x", 1, 0.1), ev("mAP/x", 2, 0.2)] },
    { run: "b", events: [ev("mAP/x", 2, 0.25), ev("mAP/x", 3, 0.3)] },
  ];
  assertEquals(mergedTagSeries(runs, "mAP/x"), [[1, 0.1], [2, 0.25], [3, 0.3]]);
});

Deno.test("curveCharts() groups the trainer's tags in display order, others after", () => {
  const events = [
    ev("mAP/s", 1, 0.5),
    ev("MR1/s", 1, 3),
    ev("hit_rate/s", 1, 0.4),
    ev("csi/lr", 1, 1e-3),
    ev("csi/ce_loss", 1, 2),
    ev("csi/tri_loss", 1, 0.2),
    ev("csi/epoch_total", 1, 2.2),
    ev("csi_val/ce_loss", 1, 2.5),
    ev("custom/thing", 4, 1),
  ];
  const charts = curveCharts([{ run: "run", events }]);
  assertEquals(charts.map((c) => c.id), ["train-loss", "lr", "epoch-loss", "map", "hit-rate", "mr1", "other-custom"]);
  assertEquals(charts[0]!.series.map((s) => s.name), ["csi/ce_loss", "csi/tri_loss"]);
  assertEquals(charts[2]!.series.map((s) => s.name), ["csi/epoch_total", "csi_val/ce_loss"]);
  assertEquals(charts[3]!.xLabel, "epoch");
  assertEquals(charts.every((c) => c.markX === null), true);
});

Deno.test("curveCharts() names series by run when there are several, and thins long series", () => {
  const long = Array.from({ length: 101 }, (_, i) => ev("csi/total", i, i));
  const charts = curveCharts([{ run: "a", events: long }, { run: "b", events: [ev("csi/total", 0, 1)] }], {
    maxPoints: 10,
  });
  assertEquals(charts[0]!.series.map((s) => s.name), ["csi/total (a)", "csi/total (b)"]);
  const pts = charts[0]!.series[0]!.points;
  assertEquals(pts.length <= 12 && pts[0]![0] === 0 && pts.at(-1)![0] === 100, true);
  assertThrows(() => curveCharts([], { maxPoints: 1 }), "maxPoints");
  assertEquals(curveCharts([]), []);
});
