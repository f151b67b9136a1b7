import { assertEquals, assertThrows } from "../_assert.ts";
import { worstOrder, worstQueries } from "../../lib/report/worst_queries.ts";

const tracks = [
  { utt: "a1", label: 0, work: "A" },
  { utt: "a2", label: 0, work: "A" },
  { utt: "b1", label: 1, work: "B" },
  { utt: "b2", label: 1, work: "B" },
];

Deno.test("worstOrder() sorts by AP, then a later (or missing) first rank, then index", () => {
  assertEquals(worstOrder([0.5, 0.5, 0.2, 0.5, 1], [2, 3, 4, 0, 1]), [2, 3, 1, 0, 4]);
});

Deno.test("worstQueries() ranks queries worst first with their nearest wrong and right references", () => {
  // a1's nearest is b1 (0.1), its own version a2 comes second; everything else retrieves its version first.
  const dist = [
    [-1, 0.3, 0.1, 0.6],
    [0.3, -1, 0.7, 0.8],
    [0.1, 0.7, -1, 0.05],
    [0.6, 0.8, 0.05, -1],
  ].flat();
  const rows = worstQueries(dist, tracks, tracks, { count: 2 });
  assertEquals(rows[0], {
    utt: "a1",
    work: "A",
    ap: 0.5,
    firstRank: 2,
    relevant: 1,
    nearestWrong: { utt: "b1", work: "B", distance: 0.1 },
    nearestRight: { utt: "a2", work: "A", distance: 0.3 },
  });
  assertEquals(rows.length, 2);
  assertEquals(rows[1]!.ap, 1);
  assertEquals(worstQueries(dist, tracks, tracks, { count: 0 }), []);
  assertThrows(() => worstQueries([1], tracks, tracks), "expected 4×4");
});

Deno.test("worstQueries() reports a query with no other version as first rank 0 and no right neighbour", () => {
  const lone = [tracks[0]!, tracks[2]!];
  const [r] = worstQueries([-1, 0.4, 0.4, -1], lone, lone, { count: 1 });
  assertEquals([r!.ap, r!.firstRank, r!.relevant, r!.nearestRight, r!.nearestWrong?.utt], [0, 0, 0, null, "b1"]);
});
