import { assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";
import { bootstrapMetrics } from "../../lib/eval/bootstrap.ts";
import { calcMap } from "../../lib/eval/map.ts";
import { parseNpy } from "../../lib/io/npy.ts";
import { GOLDEN } from "../_golden.ts";

Deno.test("bootstrapMetrics() brackets the point values of the golden distance matrix and is deterministic", async () => {
  const arr = parseNpy(await Deno.readFile(GOLDEN("metrics_dist.npy")), "metrics_dist.npy", true);
  const labels: number[] = JSON.parse(await Deno.readTextFile(GOLDEN("golden.json"))).metrics.labels;
  const m = calcMap(arr.data as Float64Array, labels, labels);
  const a = bootstrapMetrics(m, labels, 500), b = bootstrapMetrics(m, labels, 500);
  assertEquals(a, b);
  assertEquals(a.mAP.point, m.meanAp);
  for (const s of [a.mAP, a.rank1, a.hitRate]) {
    assertOk(s.lo <= s.point && s.point <= s.hi, JSON.stringify(s));
    assertOk(s.std > 0);
  }
  assertAlmostEquals(a.mAP.mean, m.meanAp, 0.03);
});

Deno.test("bootstrapMetrics() of a single work has no spread", () => {
  const m = calcMap(new Float64Array([-1, 0.1, 0.1, -1]), [1, 1], [1, 1]);
  const r = bootstrapMetrics(m, [1, 1], 50);
  assertEquals([r.mAP.lo, r.mAP.hi, r.mAP.std], [1, 1, 0]);
});
