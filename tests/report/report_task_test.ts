import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { ROOT, runTask } from "../tasks/_run.ts";
import { writeRunFixture } from "./_fixture.ts";

Deno.test("deno task report: writes the page under the run folder with the task's own permissions", async () => {
  // Under egs/: the task may only write there.
  const rel = `egs/.test-report-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await writeRunFixture(join(ROOT, rel, "run"));
    const r = await runTask("report", [`${rel}/run`, "--epoch", "3"]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assertOk(r.stdout.includes("embeddings of heldout, epoch 3 (chosen with --epoch)"), r.stdout);
    assertOk(new RegExp(`wrote ${rel}/run/report\\.html \\(\\d+\\.\\d KiB\\)`).test(r.stdout), r.stdout);
    const html = await Deno.readTextFile(join(ROOT, rel, "run", "report.html"));
    assertOk(html.startsWith("<!doctype html>") && html.includes("CoverHunter report: run"));

    const out = `${rel}/elsewhere/page.html`;
    assertEquals((await runTask("report", [`${rel}/run`, "--out", out])).code, 0);
    assertOk((await Deno.stat(join(ROOT, out))).size > 10_000);

    const bad = await runTask("report", [`${rel}/run`, "--epoch", "9"]);
    assertEquals(bad.code, 1);
    assertOk(bad.stderr.includes("epochs with embeddings: 1, 2, 3"), bad.stderr);
    assertEquals((await runTask("report", [`${rel}/run`, "--bogus"])).code, 2);
    assertEquals((await runTask("report", [])).code, 2);
    const help = await runTask("report", ["--help"]);
    assertOk(help.code === 0 && help.stdout.includes("--testset NAME"), help.stdout);
  } finally {
    await Deno.remove(join(ROOT, rel), { recursive: true }).catch(() => {});
  }
});
