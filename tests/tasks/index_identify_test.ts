// deno-lint-ignore-file no-console -- the test captures the tasks' console output
import { join } from "node:path";
import { assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { writeRandomModelDir } from "../_model_dir.ts";
import { encodeWav } from "../../lib/audio/wav.ts";
import { formatLine } from "../../lib/io/lines.ts";
import { readIndexFile } from "../../lib/search/index_file.ts";
import { main as indexMain } from "../../tasks/index.ts";
import { main as identifyMain } from "../../tasks/identify.ts";

// A tiny random model on 96 CQT bins and 3 s windows (25 model frames × mean_size 3 = 75 frames = 3 s).
const HPARAMS = {
  input_dim: 96,
  embed_dim: 16,
  encoder: { output_dims: 16, num_blocks: 1, attention_dim: 32 },
  ce: { output_dims: 4 },
  mean_size: 3,
  chunk_frame: [25],
  chunk_s: 3,
};

// A few seconds of a chord of three tones, different per work.
function tones(work: number, seconds: number, detune = 1): Float32Array {
  const sr = 16000;
  const y = new Float32Array(sr * seconds);
  const f = [220 * 2 ** (work / 12), 330 * 2 ** (work / 7), 110 * 2 ** (work / 5)].map((x) => x * detune);
  for (let i = 0; i < y.length; i++) {
    y[i] = f.reduce((s, fk, k) => s + Math.sin((2 * Math.PI * fk * i) / sr) / (k + 1), 0) * 0.3;
  }
  return y;
}

async function writeWav(path: string, y: Float32Array): Promise<void> {
  await Deno.writeFile(path, encodeWav([y], 16000));
}

Deno.test("index from audio-only lines (cached CQT), append without recomputing, identify with calibration", async () => {
  const dir = await Deno.makeTempDir({ prefix: "index_task_" });
  const log = console.log;
  const out: string[] = [];
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  try {
    const model = join(dir, "model");
    await writeRandomModelDir(model, HPARAMS, 3);
    const lines: { utt: string; wav: string; dur_s: number; song: string; song_id: number; speed?: number }[] = [];
    for (let w = 0; w < 3; w++) {
      for (let v = 0; v < 2; v++) {
        const wav = join(dir, `w${w}v${v}.wav`);
        await writeWav(wav, tones(w, 7, 1 + v * 0.01));
        lines.push({ utt: `w${w}v${v}`, wav, dur_s: 7, song: `work ${w}`, song_id: w });
      }
    }
    // A speed variant line: skipped by default.
    lines.push({ utt: "sp_0.9-w0v0", wav: lines[0]!.wav, dur_s: 7.7, song: "work 0", song_id: 0, speed: 0.9 });
    const list1 = join(dir, "dataset.txt");
    await Deno.writeTextFile(list1, lines.slice(0, 4).map(formatLine).join("\n") + "\n");
    const indexPath = join(dir, "out", "ref.index");
    const common = ["--device", "cpu", "--batch", "4"];
    assertEquals(await indexMain([model, list1, indexPath, "--group", "3", ...common]), 0);
    let idx = await readIndexFile(indexPath);
    assertEquals(idx.tracks.map((t) => t.utt), ["w0v0", "w0v1", "w1v0", "w1v1"]);
    // 7 s with 3 s windows: chunks at 0 and 3 s (the strict '<' rule drops the last second).
    assertEquals(idx.tracks[0]!.start_s, [0, 3]);
    assertEquals(idx.header.front_end, { kind: "pycqt", fmin: 32, n_bins: 96, bins_per_octave: 12 });
    const cached = [...Deno.readDirSync(join(dir, "out", "feat_cache"))].filter((e) => e.name.endsWith(".npy"));
    assertEquals(cached.length, 4);

    // Appending a longer list adds only the new tracks; the old records stay byte-identical.
    const before = await Deno.readFile(indexPath);
    const list2 = join(dir, "more.txt");
    await Deno.writeTextFile(list2, lines.map(formatLine).join("\n") + "\n");
    out.length = 0;
    const pg = join(dir, "out", "pg");
    assertEquals(await indexMain([model, list2, indexPath, ...common, "--npy", join(dir, "npy"), "--pglite", pg]), 0);
    assertOk(out.some((l) => l.includes("table coverhunter_chunks holds 12 chunks")), out.join("\n"));
    assertOk(out.some((l) => l.includes("(1 speed variants skipped), 4 already in")), out.join("\n"));
    const after = await Deno.readFile(indexPath);
    assertEquals(after.subarray(0, before.length), before);
    idx = await readIndexFile(indexPath);
    assertEquals(idx.tracks.length, 6);
    assertOk((await Deno.stat(join(dir, "npy", "embeddings.npy"))).size > 0);

    // Another model cannot add to this index, nor query it.
    const other = join(dir, "other");
    await writeRandomModelDir(other, HPARAMS, 4);
    await assertRejects(() => indexMain([other, list2, indexPath, ...common]), "built with model");
    await assertRejects(() => identifyMain([other, indexPath, lines[0]!.wav, ...common]), "built with model");

    // Identify a recording that is in the index: its own work comes first at distance ~0. Six tracks cannot make
    // any distance significant (p ≥ 1/13), so with the default threshold it reports no match; a loose one accepts.
    out.length = 0;
    const json = join(dir, "id.jsonl");
    assertEquals(await identifyMain([model, indexPath, lines[2]!.wav, "--top", "3", "--json", json, ...common]), 0);
    const r = JSON.parse((await Deno.readTextFile(json)).trim());
    assertEquals([r.chunks, r.matches.length, r.matches[0].work, r.matches[0].utt], [2, 3, "1", "w1v0"]);
    assertOk(r.matches[0].distance < 1e-5, String(r.matches[0].distance));
    assertEquals(r.matched, false);
    assertOk(out.some((l) => l.includes("no version of this recording in the index")), out.join("\n"));
    out.length = 0;
    assertEquals(await identifyMain([model, indexPath, lines[2]!.wav, "--threshold", "1", ...common]), 0);
    assertOk(out.some((l) => l.includes("version of 'work 1' (work 1)")), out.join("\n"));
    await assertRejects(() => identifyMain([model, indexPath, join(dir, "missing.wav"), ...common]), "missing.wav");
  } finally {
    console.log = log;
    await Deno.remove(dir, { recursive: true });
  }
});
