import { assertAlmostEquals, assertEquals } from "../_assert.ts";
import { calcMap } from "../../lib/eval/map.ts";
import { parseNpy } from "../../lib/io/npy.ts";
import { GOLDEN } from "../_golden.ts";

Deno.test("calcMap() matches the reference on golden metrics_dist.npy", async () => {
  const arr = parseNpy(await Deno.readFile(GOLDEN("metrics_dist.npy")), "metrics_dist.npy", true);
  const golden = JSON.parse(await Deno.readTextFile(GOLDEN("golden.json")));
  const labels: number[] = golden.metrics.labels;
  const m = calcMap(arr.data as Float64Array, labels, labels, 10000);
  const want = golden.metrics.calc_map;
  assertAlmostEquals(m.meanAp, want.mean_ap, 1e-12);
  assertAlmostEquals(m.top10, want.top10, 1e-12);
  assertAlmostEquals(m.rank1, want.rank1, 1e-12);
  assertAlmostEquals(m.hitRate, want.hit_rate, 1e-12);
});

Deno.test("calcMap() keeps ties in ref order and counts queries without relevant items as 0", () => {
  // q0 (label 1): refs [label 2 @0.5, label 1 @0.5] -> stable order puts the wrong one first: AP 0.5.
  // q1 (label 9): no relevant ref -> AP 0, rank 0.
  const d = new Float64Array([0.5, 0.5, 0.1, 0.2]);
  const m = calcMap(d, [1, 9], [2, 1]);
  assertEquals(Array.from(m.ap), [0.5, 0]);
  assertEquals(Array.from(m.firstRank), [2, 0]);
  assertAlmostEquals(m.meanAp, 0.25, 1e-12);
  assertEquals(m.hitRate, 0);
});

Deno.test("calcMap() drops negative (excluded) distances from the ranking", () => {
  const d = new Float64Array([-1, 0.3, 0.1]);
  const m = calcMap(d, [1], [1, 1, 2]);
  assertEquals(m.firstRank[0], 2);
  assertAlmostEquals(m.ap[0]!, 0.5, 1e-12);
});
