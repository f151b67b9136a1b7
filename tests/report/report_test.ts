import { assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { collectReport } from "../../lib/report/report.ts";
import { calcMap } from "../../lib/eval/map.ts";
import { trackDistanceMatrix } from "../../lib/eval/distance.ts";
import { encodeNpy, readNpy } from "../../lib/io/npy.ts";
import { formatLine } from "../../lib/io/lines.ts";
import { writeRunFixture } from "./_fixture.ts";

const NOW = new Date("2026-01-02T03:04:05Z");

async function rejects(p: Promise<unknown>, includes: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assertOk((e as Error).message.includes(includes), `'${(e as Error).message}' lacks '${includes}'`);
    return e as Error;
  }
  throw new Error(`expected a rejection including '${includes}'`);
}

async function withTemp(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "report_test_" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("collectReport() reads the curves, picks the best epoch by mAP and scores its embeddings", async () => {
  await withTemp(async (root) => {
    const fx = await writeRunFixture(join(root, "run1"));
    const r = await collectReport(fx.dir, { now: NOW });
    assertEquals([r.title, r.dir, r.createdAt], ["run1", fx.dir, "2026-01-02T03:04:05.000Z"]);
    assertEquals(r.charts.map((c) => c.id), ["train-loss", "lr", "epoch-loss", "map", "hit-rate", "mr1"]);
    assertEquals(r.charts.find((c) => c.id === "map")!.markX, 2);
    assertEquals(r.training, {
      runs: ["run"],
      lastStep: 30,
      lastEpoch: 3,
      testset: "heldout",
      bestEpoch: 2,
      bestMap: r.training!.bestMap,
      wallS: r.training!.wallS,
    });
    assertAlmostEquals(r.training!.bestMap!, 0.8, 1e-6);
    // the embeddings of epoch 2: one point per track, coloured by work
    const e = r.embedding!;
    assertEquals([e.epoch, e.testset, e.points.length, e.works], [2, "heldout", 12, [
      "work 0",
      "work 1",
      "work 2",
      "work 3",
    ]]);
    assertEquals(e.points.map((p) => p.group), fx.labels);
    assertEquals(e.points[4]!.utt, "w1_v1");
    // metrics equal eval's own computation on the same embeddings
    const arr = await readNpy(join(fx.dir, "embed_2_heldout", "embeddings.npy"));
    const emb = { data: arr.data, dim: 16, chunkCounts: fx.utts.map(() => 2) };
    const m = calcMap(trackDistanceMatrix(emb, emb, { sameFile: true }), fx.labels, fx.labels);
    assertEquals(r.metrics.length, 1);
    assertEquals([r.metrics[0]!.mAP, r.metrics[0]!.hitRate, r.metrics[0]!.MR1], [m.meanAp, m.hitRate, m.rank1]);
    assertEquals([r.metrics[0]!.queries, r.metrics[0]!.works], [12, 4]);
    assertEquals([r.distance!.heatmap.rows, r.distance!.sortedByWork, r.distance!.heatmap.rowBreaks], [12, true, [
      3,
      6,
      9,
    ]]);
    assertEquals(r.worst!.rows.length, 12);
    assertEquals(r.worst!.rows[0]!.ap, Math.min(...m.ap));
    assertEquals(r.notes, [`no eval folder (${join(fx.dir, "eval")}; deno task eval writes it)`]);
    // plain data: survives JSON unchanged
    assertEquals(JSON.parse(JSON.stringify(r)), r);
  });
});

Deno.test("collectReport() takes --epoch and --testset, and names what exists when they are wrong", async () => {
  await withTemp(async (root) => {
    const fx = await writeRunFixture(join(root, "run"));
    const r = await collectReport(fx.dir, { epoch: 3, testset: "heldout", now: NOW });
    assertEquals([r.embedding!.epoch, r.embedding!.epochChoice], [3, "chosen with --epoch"]);
    await rejects(collectReport(fx.dir, { epoch: 7 }), "epochs with embeddings: 1, 2, 3");
    await rejects(collectReport(fx.dir, { testset: "covers80" }), "test sets with embeddings: heldout");
    await rejects(collectReport(join(root, "nope")), "not a folder");
    await rejects(collectReport(fx.dir, { evalDir: join(root, "nope") }), "--eval");
  });
});

Deno.test("collectReport() without mAP events shows the last saved epoch", async () => {
  await withTemp(async (root) => {
    const fx = await writeRunFixture(join(root, "run"));
    await Deno.remove(join(fx.dir, "logs"), { recursive: true });
    const r = await collectReport(fx.dir, { now: NOW });
    assertEquals([r.embedding!.epoch, r.embedding!.epochChoice], [3, "the last saved epoch (no mAP logged)"]);
    assertEquals([r.training, r.charts], [null, []]);
    assertOk(r.notes.some((n) => n.startsWith("no TensorBoard logs")), r.notes.join("\n"));
  });
});

Deno.test("collectReport() prefers an eval folder for the distance matrix, worst queries and metrics", async () => {
  await withTemp(async (root) => {
    const fx = await writeRunFixture(join(root, "run"), { works: 2, versions: 2 });
    const evalDir = join(root, "my_eval");
    await Deno.mkdir(evalDir);
    // 4 tracks a0 a1 b0 b1; a0's nearest is b0
    const dist = new Float64Array([-1, 0.4, 0.1, 0.9, 0.4, -1, 0.8, 0.9, 0.1, 0.8, -1, 0.2, 0.9, 0.9, 0.2, -1]);
    await Deno.writeFile(join(evalDir, "dist.npy"), encodeNpy({ data: dist, shape: [4, 4] }));
    const boot = { iterations: 10, mAP: { lo: 0.5, hi: 0.9 }, rank1: { lo: 1, hi: 2 }, hitRate: { lo: 0.2, hi: 0.8 } };
    await Deno.writeTextFile(
      join(evalDir, "metrics.json"),
      JSON.stringify({
        model: "m",
        query: fx.queryPath,
        ref: fx.queryPath,
        mAP: 0.75,
        MR1: 1.5,
        hit_rate: 0.5,
        p_at_10: 0.1,
        bootstrap: boot,
      }),
    );
    const r = await collectReport(fx.dir, { evalDir, now: NOW });
    assertEquals(r.metrics.map((m) => m.source), [
      `eval folder ${evalDir} (model m)`,
      r.metrics[1]!.source,
    ]);
    assertEquals(r.metrics[0]!.intervals, {
      mAP: { lo: 0.5, hi: 0.9 },
      MR1: { lo: 1, hi: 2 },
      hit_rate: { lo: 0.2, hi: 0.8 },
    });
    assertEquals([r.metrics[0]!.queries, r.metrics[0]!.works, r.metrics[0]!.mAP], [4, 2, 0.75]);
    assertOk(r.distance!.source.startsWith(join(evalDir, "dist.npy")));
    assertEquals(r.worst!.source, join(evalDir, "dist.npy"));
    assertEquals(r.worst!.rows[0]!.utt, "w0_v0");
    assertEquals(r.worst!.rows[0]!.nearestWrong, { utt: "w1_v0", work: "work 1", distance: 0.1 });
    assertOk(r.embedding !== null, "the map still comes from the embeddings");
  });
});

Deno.test("collectReport() on a plain model folder shows its eval outputs and lists what is missing", async () => {
  await withTemp(async (root) => {
    const dir = join(root, "model");
    await Deno.mkdir(join(dir, "eval"), { recursive: true });
    await Deno.writeTextFile(join(dir, "hparams.yaml"), "embed_dim: 128\n");
    await Deno.writeFile(join(dir, "model.safetensors"), new Uint8Array(8));
    // metrics.json names query/ref files that are not here: no labels, so the table comes from ranks.txt
    await Deno.writeTextFile(
      join(dir, "eval", "metrics.json"),
      JSON.stringify({ query: join(root, "gone.txt"), ref: join(root, "gone.txt"), mAP: 0.5 }),
    );
    await Deno.writeFile(
      join(dir, "eval", "dist.npy"),
      encodeNpy({ data: new Float64Array([-1, 0.3, 0.3, -1]), shape: [2, 2] }),
    );
    await Deno.writeTextFile(
      join(dir, "eval", "ranks.txt"),
      [formatLine({ utt: "x", ap: 1, first_rank: 1 }), formatLine({ utt: "y", ap: 0.25, first_rank: 4 })].join("\n"),
    );
    const r = await collectReport(dir, { now: NOW });
    assertEquals([r.training, r.embedding, r.charts], [null, null, []]);
    assertEquals([r.metrics[0]!.mAP, r.metrics[0]!.queries, r.metrics[0]!.hitRate], [0.5, 2, null]);
    assertEquals([r.distance!.sortedByWork, r.distance!.heatmap.rows], [false, 2]);
    assertEquals(r.worst!.rows.map((w) => [w.utt, w.work, w.firstRank]), [["y", null, 4], ["x", null, 1]]);
    for (const what of ["no work labels: cannot read", "no TensorBoard logs", "no embeddings"]) {
      assertOk(r.notes.some((n) => n.startsWith(what)), `notes lack '${what}': ${r.notes.join(" | ")}`);
    }
  });
});

Deno.test("collectReport() on an empty folder returns notes, not an error", async () => {
  await withTemp(async (root) => {
    const r = await collectReport(root, { now: NOW });
    assertEquals([r.training, r.metrics, r.embedding, r.distance, r.worst], [null, [], null, null, null]);
    assertEquals(r.notes.length, 5, r.notes.join(" | "));
  });
});
