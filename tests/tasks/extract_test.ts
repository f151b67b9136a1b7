import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { ROOT, runTask, tempDataDir } from "./_run.ts";
import { writeSynthDataset } from "../../lib/data/synth_dataset.ts";
import { readLines } from "../../lib/io/lines.ts";

const HP = "aug_speed_mode: [0.9, 1.0, 1.1]\ndevice: cpu\n";

async function synthInto(rel: string, works: number, seconds: number): Promise<void> {
  const cwd = Deno.cwd();
  Deno.chdir(ROOT); // dataset.txt holds paths relative to the working directory, as in the reference
  try {
    await writeSynthDataset(rel, { works, versions: 2, seconds, seed: 3 });
  } finally {
    Deno.chdir(cwd);
  }
  await Deno.writeTextFile(join(ROOT, rel, "hparams.yaml"), HP);
}

Deno.test("deno task extract: a bad line is reported with file and line, the rest is extracted, exit code 1", async () => {
  const rel = await tempDataDir("extract-cli");
  try {
    await synthInto(rel, 2, 2);
    await Deno.writeTextFile(join(ROOT, rel, "dataset.txt"), '{"utt": "bad", "song": "x"}\n', { append: true });
    const r = await runTask("extract", [rel, "--workers", "1"]);
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertOk(r.stdout.includes(`${rel}/dataset.txt:5: missing 'wav'`), r.stdout);
    assertOk(r.stdout.includes("4 recordings, 2 works, 12 feature files (12 computed, 0 reused)"), r.stdout);
    assertEquals((await readLines(join(ROOT, rel, "full.txt"))).length, 12);
  } finally {
    await Deno.remove(join(ROOT, rel), { recursive: true });
  }
});

Deno.test("deno task extract: unknown flags and missing folders are usage errors", async () => {
  const r = await runTask("extract", ["data/x", "--colour"]);
  assertEquals(r.code, 2);
  assertOk(r.stderr.includes("Unknown option '--colour'") && r.stderr.includes("Usage: deno task extract"), r.stderr);
  const m = await runTask("extract", ["data/does-not-exist"]);
  assertEquals(m.code, 1);
  assertOk(m.stderr.includes("data/does-not-exist/hparams.yaml: file not found"), m.stderr);
});

Deno.test("deno task extract: a run killed half way resumes and ends with the same files as an unbroken run", async () => {
  const a = await tempDataDir("kill"), b = await tempDataDir("nokill");
  try {
    await synthInto(a, 6, 4);
    await synthInto(b, 6, 4);
    // `deno run` directly (with the task's flags): killing `deno task` would orphan its child.
    const task: string = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks.extract;
    const child = new Deno.Command(Deno.execPath(), {
      args: [...task.split(" ").slice(1), a, "--workers", "0"],
      cwd: ROOT,
      stdout: "null",
      stderr: "null",
    }).spawn();
    const feat = join(ROOT, a, "cqt_feat");
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const n = await Array.fromAsync(Deno.readDir(feat)).then((e) => e.filter((x) => x.name.endsWith(".npy")).length)
        .catch(() => 0);
      if (n >= 4) break;
    }
    child.kill("SIGKILL");
    await child.status;
    const before = (await Array.fromAsync(Deno.readDir(feat))).filter((x) => x.name.endsWith(".npy")).length;
    assertOk(before >= 4 && before < 36, `killed after ${before} of 36 features`);
    const resumed = await runTask("extract", [a, "--workers", "1"]);
    assertEquals(resumed.code, 0, resumed.stderr);
    assertOk(resumed.stdout.includes(`(${36 - before} computed, ${before} reused)`), resumed.stdout);
    assertEquals((await runTask("extract", [b, "--workers", "1"])).code, 0);
    const la = await readLines(join(ROOT, a, "full.txt")), lb = await readLines(join(ROOT, b, "full.txt"));
    assertEquals(la.map((l) => [l.utt, l.song_id, l.feat_len]), lb.map((l) => [l.utt, l.song_id, l.feat_len]));
    for (let i = 0; i < la.length; i++) {
      assertEquals(
        await Deno.readFile(join(ROOT, String(la[i]!.feat))),
        await Deno.readFile(join(ROOT, String(lb[i]!.feat))),
      );
    }
  } finally {
    await Deno.remove(join(ROOT, a), { recursive: true });
    await Deno.remove(join(ROOT, b), { recursive: true });
  }
});
