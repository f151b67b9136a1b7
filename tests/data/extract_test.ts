import { assertEquals, assertOk } from "../_assert.ts";
import { join } from "node:path";
import { extractFeatures, speedUtt } from "../../lib/data/extract.ts";
import { createJobRunner } from "../../lib/data/job_runner.ts";
import { writeSynthDataset } from "../../lib/data/synth_dataset.ts";
import { encodeWav } from "../../lib/audio/wav.ts";
import { readLines } from "../../lib/io/lines.ts";
import { readNpy } from "../../lib/io/npy.ts";
import { createFrontEnd } from "../../lib/features/front_end.ts";
import { loadAudio } from "../../lib/audio/load.ts";

const FRONT_END = { kind: "pycqt", fmin: 32, nBins: 96, binsPerOctave: 12 } as const;
const HPARAMS = `aug_speed_mode: [0.9, 1.0]
val_data_split: 0
val_unseen: 0
test_data_split: 0
test_data_unseen: 0
`;

/** A small synthetic set (3 works x 2 versions x 3 s) in a temp dir; returns the dir. */
async function smallSet(hparams = HPARAMS): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "extract_test_" });
  await writeSynthDataset(dir, { works: 3, versions: 2, seconds: 3, seed: 5 });
  await Deno.writeTextFile(join(dir, "hparams.yaml"), hparams);
  return dir;
}

async function run(dir: string, workers = 0) {
  const runner = createJobRunner({ frontEnd: FRONT_END, workers });
  try {
    return await extractFeatures(dir, { runner });
  } finally {
    await runner.close();
  }
}

Deno.test("extractFeatures() writes full.txt, features and maps that match the front end", async () => {
  const dir = await smallSet();
  const s = await run(dir);
  assertEquals([s.recordings, s.features, s.computed, s.reused, s.failures.length, s.songs], [6, 12, 12, 0, 0, 3]);
  const full = await readLines(join(dir, "full.txt"));
  assertEquals(full.length, 12);
  // Ordered by (song_id, version_id); ids by first appearance in the sorted dataset.
  assertEquals(full.map((l) => l.song_id), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  assertEquals(full.slice(0, 4).map((l) => l.version_id), [0, 1, 2, 3]);
  const sp = full.find((l) => String(l.utt).startsWith("sp_0.9-"))!;
  const orig = full.find((l) => l.utt === sp.source_utt)!;
  assertEquals(sp.speed, 0.9);
  assertEquals(sp.dur_s, Math.round((3 / 0.9) * 100) / 100);
  assertEquals(orig.dur_s, 3);
  // Feature of the original = the front end on the decoded audio; feat_len = frames.
  const feat = await readNpy(String(orig.feat));
  assertEquals(feat.shape, [orig.feat_len, 96]);
  const fe = await createFrontEnd(FRONT_END);
  const [want] = await fe.computeMany([await loadAudio(String(orig.wav))]);
  assertEquals(Array.from(feat.data), Array.from(want!.data));
  assertEquals(await Deno.readTextFile(join(dir, "song_id.map")), "work_000 0\nwork_001 1\nwork_002 2\n");
  assertEquals(await Deno.readTextFile(join(dir, "song_id_num.map")), "0 4\n1 4\n2 4\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("extractFeatures() reports bad lines and bad audio with file and line, and finishes the rest", async () => {
  const dir = await smallSet();
  const good = await Deno.readTextFile(join(dir, "dataset.txt"));
  await Deno.writeFile(join(dir, "empty.wav"), new Uint8Array());
  await Deno.writeFile(join(dir, "corrupt.mp3"), new TextEncoder().encode("ID3 definitely not an mp3 ".repeat(40)));
  await Deno.writeFile(join(dir, "silent.wav"), encodeWav([new Float32Array(16000)], 16000));
  await Deno.writeFile(join(dir, "zero.wav"), encodeWav([new Float32Array(0)], 16000));
  const bad = [
    `{"utt": "x_missing", "wav": "${dir}/nope.wav", "song": "S"}`,
    `{"utt": "x_empty", "wav": "${dir}/empty.wav", "song": "S"}`,
    `{"utt": "x_corrupt", "wav": "${dir}/corrupt.mp3", "song": "S"}`,
    `{"utt": "x_silent", "wav": "${dir}/silent.wav", "song": "S"}`,
    `{"utt": "x_zero", "wav": "${dir}/zero.wav", "song": "S"}`,
    `{"utt": "x_badkey", "wav": "a.wav", "song": "S", "colour": "red"}`,
    `{"utt": "x_json", `,
  ];
  await Deno.writeTextFile(join(dir, "dataset.txt"), good + bad.join("\n") + "\n");
  const s = await run(dir);
  const n = good.trim().split("\n").length;
  assertEquals(s.features, 12);
  const msgs = s.failures.map((f) => `${f.where.split("/").pop()}: ${f.message.replaceAll(dir + "/", "")}`).sort();
  assertEquals(msgs.length, 7);
  const expect = [
    [n + 1, "nope.wav: file not found"],
    [n + 2, "empty.wav"],
    [n + 3, "corrupt.mp3"],
    [n + 4, "silent.wav: the audio is silent"],
    [n + 5, "zero.wav"],
    [n + 6, "unknown key(s) colour"],
    [n + 7, "invalid JSON"],
  ] as const;
  for (const [line, text] of expect) {
    assertOk(
      msgs.some((m) => m.startsWith(`dataset.txt:${line}: `) && m.includes(text)),
      `line ${line}: ${text} in ${msgs.join(" | ")}`,
    );
  }
  const errors = await Deno.readTextFile(join(dir, "extract_errors.txt"));
  assertEquals(errors.trim().split("\n").length, 7);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("extractFeatures() resumes: complete features are reused, partial temp files ignored, results identical", async () => {
  const dir = await smallSet();
  const first = await run(dir);
  const full1 = await Deno.readTextFile(join(dir, "full.txt"));
  const victim = (await readLines(join(dir, "full.txt")))[3]!;
  const bytes = await Deno.readFile(String(victim.feat));
  // Simulate a kill: one feature missing, another truncated, a leftover temp file.
  await Deno.remove(String(victim.feat));
  const other = (await readLines(join(dir, "full.txt")))[5]!;
  await Deno.writeFile(String(other.feat), bytes.subarray(0, 100));
  await Deno.writeFile(String(victim.feat) + ".tmp-1-abc", bytes.subarray(0, 50));
  const second = await run(dir);
  assertEquals([first.computed, second.computed, second.reused], [12, 2, 10]);
  assertEquals(await Deno.readTextFile(join(dir, "full.txt")), full1);
  assertEquals(await Deno.readFile(String(victim.feat)), bytes);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("extractFeatures() in worker threads gives the same files as in-process", async () => {
  const dir = await smallSet();
  await run(dir, 2);
  const full = await readLines(join(dir, "full.txt"));
  const byWorkers = await Promise.all(full.map((l) => Deno.readFile(String(l.feat))));
  await Deno.remove(join(dir, "cqt_feat"), { recursive: true });
  await run(dir, 0);
  const inProcess = await Promise.all(full.map((l) => Deno.readFile(String(l.feat))));
  assertEquals(byWorkers, inProcess);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("extractFeatures() splits by work with every variant of a recording in one split", async () => {
  const dir = await Deno.makeTempDir({ prefix: "extract_split_" });
  await writeSynthDataset(dir, { works: 6, versions: 3, seconds: 2, seed: 2 });
  await Deno.writeTextFile(
    join(dir, "hparams.yaml"),
    "aug_speed_mode: [0.9, 1.0, 1.1]\nval_data_split: 0.3\nval_unseen: 0.2\ntest_data_split: 0.3\ntest_data_unseen: 0.2\n",
  );
  const s = await run(dir);
  assertEquals(s.failures, []);
  const parts = await Promise.all(["train.txt", "val.txt", "test.txt"].map((f) => readLines(join(dir, f))));
  const home = new Map<string, number>();
  parts.forEach((part, i) => {
    for (const l of part) {
      const src = String(l.source_utt ?? l.utt);
      assertOk((home.get(src) ?? i) === i, `${src} is in two splits`);
      home.set(src, i);
    }
  });
  assertEquals(parts.reduce((a, p) => a + p.length, 0), 54);
  const testOnly = (await Deno.readTextFile(join(dir, "test-only-song-ids.txt"))).trim().split("\n").map(Number);
  assertEquals(testOnly.length, 1);
  assertEquals(parts[2]!.filter((l) => l.song_id === testOnly[0]).length, 9);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("extractFeatures() adds noisy copies next to the clean ones when noise_path exists", async () => {
  const dir = await smallSet();
  const noiseWav = join(dir, "noise.wav");
  const noise = new Float32Array(16000);
  for (let i = 0; i < noise.length; i++) noise[i] = Math.sin(i * 1.7) * 0.5;
  await Deno.writeFile(noiseWav, encodeWav([noise], 16000));
  await Deno.writeTextFile(join(dir, "noise.txt"), `{"wav": "${noiseWav}"}\n`);
  await Deno.writeTextFile(
    join(dir, "hparams.yaml"),
    `aug_speed_mode: [1.0]\nadd_noise:\n  prob: 1.0\n  chunk: 1\n  name: test\n  noise_path: ${
      join(dir, "noise.txt")
    }\n`,
  );
  const s = await run(dir);
  assertEquals(s.features, 12);
  const full = await readLines(join(dir, "full.txt"));
  const noisy = full.filter((l) => String(l.utt).endsWith("\u2581noise_test"));
  assertEquals(noisy.length, 6);
  const a = await readNpy(String(noisy[0]!.feat));
  const b = await readNpy(String(full.find((l) => l.utt === noisy[0]!.source_utt)!.feat));
  assertOk(a.data.some((v, i) => Math.abs(v - b.data[i]!) > 1), "noisy feature differs from the clean one");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("speedUtt() formats speeds as the reference (sp_0.9-x, sp_1.1-x; 1.0 keeps the id)", () => {
  assertEquals([speedUtt("x", 0.9), speedUtt("x", 1.1), speedUtt("x", 1.0), speedUtt("x", 1.005), speedUtt("x", 2)], [
    "sp_0.9-x",
    "sp_1.1-x",
    "x",
    "x",
    "sp_2.0-x",
  ]);
});
