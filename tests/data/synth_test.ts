import { notDeepStrictEqual as assertNotEquals } from "node:assert/strict";
import { assertEquals, assertOk as assert, assertThrows } from "../_assert.ts";
import { createPrng } from "../../lib/data/prng.ts";
import { composeWork, planVersion, renderVersion } from "../../lib/data/synth.ts";
import { writeSynthDataset } from "../../lib/data/synth_dataset.ts";

// ---- small local helpers: wav reading and a chroma profile from an FFT ----

/** Reads a 16-bit mono wav as written by encodeWav (44-byte header). */
function readWav16(bytes: Uint8Array): { sampleRateHz: number; channels: number; bits: number; samples: Float32Array } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (off: number) => String.fromCharCode(...bytes.subarray(off, off + 4));
  assertEquals(tag(0), "RIFF");
  assertEquals(tag(8), "WAVE");
  assertEquals(tag(36), "data");
  const n = v.getUint32(40, true) / 2;
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = v.getInt16(44 + 2 * i, true) / 32768;
  return { sampleRateHz: v.getUint32(24, true), channels: v.getUint16(22, true), bits: v.getUint16(34, true), samples };
}

/** In-place radix-2 complex FFT with precomputed twiddles (`cos`, `sin` of length n/2). */
function fft(re: Float64Array, im: Float64Array, cos: Float64Array, sin: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!, ti = im[i]!;
      re[i] = re[j]!, im[i] = im[j]!;
      re[j] = tr, im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const stride = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * stride]!, wi = -sin[k * stride]!;
        const a = i + k, b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr, im[b] = im[a]! - xi;
        re[a] = re[a]! + xr, im[a] = im[a]! + xi;
      }
    }
  }
}

/**
 * 12-bin pitch-class profile: Hann-windowed 4096-point frames (hop 2048), magnitudes of the bins between
 * 50 Hz and 2.5 kHz summed per pitch class, each frame unit-normalised, averaged over time, then centred
 * and unit-normalised.
 */
function chromaProfile(x: Float32Array, sampleRateHz: number): Float64Array {
  const n = 4096;
  const hop = 2048;
  const cos = new Float64Array(n / 2).map((_, k) => Math.cos((2 * Math.PI * k) / n));
  const sin = new Float64Array(n / 2).map((_, k) => Math.sin((2 * Math.PI * k) / n));
  const win = new Float64Array(n).map((_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  const pcOfBin = new Int8Array(n / 2).fill(-1);
  for (let k = 1; k < n / 2; k++) {
    const f = (k * sampleRateHz) / n;
    if (f >= 50 && f <= 2500) pcOfBin[k] = ((Math.round(69 + 12 * Math.log2(f / 440)) % 12) + 12) % 12;
  }
  const profile = new Float64Array(12);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let s = 0; s + n <= x.length; s += hop) {
    for (let i = 0; i < n; i++) {
      re[i] = x[s + i]! * win[i]!;
      im[i] = 0;
    }
    fft(re, im, cos, sin);
    const c = new Float64Array(12);
    for (let k = 1; k < n / 2; k++) {
      const pc = pcOfBin[k]!;
      if (pc >= 0) c[pc] = c[pc]! + Math.hypot(re[k]!, im[k]!);
    }
    const norm = Math.hypot(...c) || 1;
    for (let p = 0; p < 12; p++) profile[p] = profile[p]! + c[p]! / norm;
  }
  const mean = profile.reduce((a, b) => a + b, 0) / 12;
  for (let p = 0; p < 12; p++) profile[p] = profile[p]! - mean;
  const norm = Math.hypot(...profile) || 1;
  return profile.map((v) => v / norm);
}

/** Transposition-invariant similarity: the best cosine over the 12 circular shifts. */
function shiftSimilarity(a: Float64Array, b: Float64Array): number {
  let best = -Infinity;
  for (let s = 0; s < 12; s++) {
    let d = 0;
    for (let i = 0; i < 12; i++) d += a[i]! * b[(i + s) % 12]!;
    best = Math.max(best, d);
  }
  return best;
}

function correlation(a: Float32Array, b: Float32Array): number {
  let sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    sa += a[i]!, sb += b[i]!;
    sab += a[i]! * b[i]!, saa += a[i]! * a[i]!, sbb += b[i]! * b[i]!;
  }
  const cov = sab / n - (sa / n) * (sb / n);
  return cov / Math.sqrt((saa / n - (sa / n) ** 2) * (sbb / n - (sb / n) ** 2));
}

function peakOf(x: Float32Array): number {
  let p = 0;
  for (let i = 0; i < x.length; i++) p = Math.max(p, Math.abs(x[i]!));
  return p;
}

// ---- composition and rendering ----

Deno.test("composeWork() is deterministic per seed and writes 2-3 sections of 4-8 chords", () => {
  const a = composeWork(createPrng(11), 3);
  assertEquals(a, composeWork(createPrng(11), 3));
  assertNotEquals(a, composeWork(createPrng(12), 3));
  assertEquals(a.name, "work_003");
  for (let seed = 0; seed < 20; seed++) {
    const w = composeWork(createPrng(seed), 0);
    assert(w.sections.length >= 2 && w.sections.length <= 3);
    assert(w.tempoBpm >= 72 && w.tempoBpm <= 168);
    for (const s of w.sections) {
      assert(s.chords.length >= 4 && s.chords.length <= 8, `${s.chords.length} chords`);
      assertEquals(s.beats % w.beatsPerBar, 0);
      assert(s.melody.length > 0 && s.bass.length > 0);
      for (const n of [...s.melody, ...s.bass]) assert(n.beat >= 0 && n.beat + n.beats <= s.beats + 1e-9);
    }
    for (const i of w.form) assert(i >= 0 && i < w.sections.length);
  }
});

Deno.test("renderVersion() gives identical samples for the same seed and different ones for another", () => {
  const work = composeWork(createPrng(5), 0);
  const a = renderVersion(work, createPrng(100), 1, { seconds: 3 });
  const b = renderVersion(work, createPrng(100), 1, { seconds: 3 });
  const c = renderVersion(work, createPrng(101), 1, { seconds: 3 });
  assertEquals(a, b);
  assertNotEquals(a, c);
});

Deno.test("renderVersion() has the requested length, no NaN and peak 0.9", () => {
  for (let w = 0; w < 4; w++) {
    const work = composeWork(createPrng(40 + w), w);
    for (let v = 0; v < 3; v++) {
      const x = renderVersion(work, createPrng(70 + 10 * w + v), v, { seconds: 2.5 });
      assertEquals(x.length, 40000);
      assert(x.every(Number.isFinite), "NaN or Inf in output");
      assert(Math.abs(peakOf(x) - 0.9) < 1e-6, `peak ${peakOf(x)}`);
    }
  }
  const work = composeWork(createPrng(1), 0);
  assertEquals(renderVersion(work, createPrng(2), 0, { seconds: 1, sampleRateHz: 22050 }).length, 22050);
});

Deno.test("planVersion() keeps version 0 original and varies key and tempo within range", () => {
  const work = composeWork(createPrng(9), 0);
  const orig = planVersion(work, createPrng(1), 0, { seconds: 10 });
  assertEquals([orig.transposeSt, orig.tempoFactor, orig.startS], [0, 1, 0]);
  assert(orig.description.startsWith("v0 (original): +0 st, 1.00x tempo"));
  const transposes = new Set<number>();
  for (let s = 0; s < 40; s++) {
    const p = planVersion(work, createPrng(s), 1 + (s % 5), { seconds: 10 });
    assert(p.transposeSt >= -5 && p.transposeSt <= 6 && p.transposeSt !== 0);
    assert(p.tempoFactor >= 0.8 && p.tempoFactor <= 1.2);
    assert(p.startS >= 0);
    assert(p.description.startsWith(`v${1 + (s % 5)}: `));
    transposes.add(p.transposeSt);
  }
  assert(transposes.size >= 6, "transpositions barely vary");
});

Deno.test("renderVersion() and planVersion() reject bad indices and lengths", () => {
  const work = composeWork(createPrng(1), 0);
  const cases: [() => unknown, string][] = [
    [() => composeWork(createPrng(1), -1), "'workIndex'"],
    [() => renderVersion(work, createPrng(1), 1.5, { seconds: 1 }), "'versionIndex'"],
    [() => renderVersion(work, createPrng(1), 0, { seconds: 0 }), "'seconds'"],
    [() => renderVersion(work, createPrng(1), 0, { seconds: 1, sampleRateHz: 100 }), "'sampleRateHz'"],
  ];
  for (const [fn, name] of cases) assert(assertThrows(fn, name) instanceof RangeError);
});

// ---- the written data set ----

Deno.test("writeSynthDataset() writes wavs, dataset.txt and hparams.yaml, deterministically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "synth_test_" });
  try {
    const progress: string[] = [];
    const res = await writeSynthDataset(
      dir,
      { works: 3, versions: 2, seconds: 2, seed: 4 },
      (done, total, entry) => progress.push(`${done}/${total} ${entry.utt}`),
    );
    assertEquals(progress, [
      "1/6 synth_w000_v0",
      "2/6 synth_w000_v1",
      "3/6 synth_w001_v0",
      "4/6 synth_w001_v1",
      "5/6 synth_w002_v0",
      "6/6 synth_w002_v1",
    ]);
    assertEquals(res.files.length, 8);
    assertEquals(res.totalSeconds, 12);

    const lines = (await Deno.readTextFile(`${dir}/dataset.txt`)).trim().split("\n");
    assertEquals(lines.length, 6);
    const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const perSong = new Map<string, number>();
    for (const [i, row] of rows.entries()) {
      assertEquals(Object.keys(row), ["utt", "wav", "dur_s", "song", "version"]);
      const w = Math.floor(i / 2);
      const v = i % 2;
      assertEquals(row.utt, `synth_w00${w}_v${v}`);
      assertEquals(row.song, `work_00${w}`);
      assertEquals(row.wav, `${dir}/wav/synth_w00${w}_v${v}.wav`);
      assertEquals(row.dur_s, 2);
      assert(typeof row.version === "string" && row.version.startsWith(`v${v}`));
      perSong.set(row.song as string, (perSong.get(row.song as string) ?? 0) + 1);
      const wav = readWav16(await Deno.readFile(row.wav as string));
      assertEquals([wav.sampleRateHz, wav.channels, wav.bits, wav.samples.length], [16000, 1, 16, 32000]);
      const peak = peakOf(wav.samples);
      assert(peak > 0.85 && peak < 0.95, `peak ${peak}: not normalised or clipped`);
    }
    assertEquals([...perSong.values()], [2, 2, 2]);
    assert(lines[0]!.includes(`"dur_s": 2.00`), "dur_s is not written with 2 decimals");

    // hparams.yaml: flat `key: value` lines, each right after its own comment line. (Parsed by hand: the
    // yaml package reads an environment variable, and this test runs with read/write permissions only.)
    const yamlLines = (await Deno.readTextFile(`${dir}/hparams.yaml`)).split("\n");
    const hp: Record<string, unknown> = {};
    yamlLines.forEach((line, i) => {
      const m = /^([a-z_]+): (.+)$/.exec(line);
      if (!m) return assert(line === "" || line.startsWith("#"), `unexpected line '${line}'`);
      assert(yamlLines[i - 1]?.startsWith("# "), `key '${m[1]}' has no comment line`);
      hp[m[1]!] = /^[\[\d]/.test(m[2]!) ? JSON.parse(m[2]!) : m[2];
    });
    assertEquals(hp, {
      aug_speed_mode: [0.9, 1.0, 1.1],
      fmin: 32,
      n_bins: 96,
      bins_per_octave: 12,
      device: "auto",
      val_data_split: 0.1,
      val_unseen: 0.1,
      test_data_split: 0.1,
      test_data_unseen: 0.1,
    });

    // Same options, same bytes; another seed, other audio.
    const first = await Deno.readFile(`${dir}/wav/synth_w001_v1.wav`);
    await writeSynthDataset(`${dir}/again`, { works: 2, versions: 2, seconds: 2, seed: 4 });
    assertEquals(await Deno.readFile(`${dir}/again/wav/synth_w001_v1.wav`), first);
    await writeSynthDataset(`${dir}/other`, { works: 2, versions: 2, seconds: 2, seed: 5 });
    assertNotEquals(await Deno.readFile(`${dir}/other/wav/synth_w001_v1.wav`), first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeSynthDataset() rejects bad options with the option's name", async () => {
  for (
    const [opts, name] of [
      [{ works: 0 }, "works"],
      [{ versions: 1.5 }, "versions"],
      [{ seconds: -1 }, "seconds"],
      [{ seed: -3 }, "seed"],
    ] as const
  ) {
    let caught: unknown;
    try {
      await writeSynthDataset("/nonexistent/never-written", opts);
    } catch (e) {
      caught = e;
    }
    assert(caught instanceof RangeError && caught.message.includes(`'${name}'`), String(caught));
  }
});

// ---- the cover signal ----

Deno.test("synth versions of a work differ in surface but share chroma (6 works x 3 versions x 8 s)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "synth_signal_" });
  try {
    const { entries } = await writeSynthDataset(dir, { works: 6, versions: 3, seconds: 8, seed: 1 });
    const items: { song: string; samples: Float32Array; profile: Float64Array }[] = [];
    for (const e of entries) {
      const { samples, sampleRateHz } = readWav16(await Deno.readFile(e.wav));
      items.push({ song: e.song, samples, profile: chromaProfile(samples, sampleRateHz) });
    }
    // Surface: waveforms of versions of one work are uncorrelated.
    let maxCorr = 0;
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length && items[j]!.song === items[i]!.song; j++) {
        maxCorr = Math.max(maxCorr, Math.abs(correlation(items[i]!.samples, items[j]!.samples)));
      }
    }
    assert(maxCorr < 0.2, `versions too alike: waveform correlation ${maxCorr}`);

    // Content: transposition-invariant chroma profiles are closer within a work than across works.
    let same = 0, nSame = 0, diff = 0, nDiff = 0, top1 = 0;
    for (let i = 0; i < items.length; i++) {
      let best = -Infinity;
      let bestIsSame = false;
      for (let j = 0; j < items.length; j++) {
        if (i === j) continue;
        const s = shiftSimilarity(items[i]!.profile, items[j]!.profile);
        const isSame = items[i]!.song === items[j]!.song;
        if (isSame) (same += s), nSame++;
        else (diff += s), nDiff++;
        if (s > best) (best = s), (bestIsSame = isSame);
      }
      if (bestIsSame) top1++;
    }
    same /= nSame;
    diff /= nDiff;
    const top1Rate = top1 / items.length;
    // Chance for top-1 is 2 same-work items among 17 others: 0.12.
    assert(same > diff + 0.03, `same-work similarity ${same.toFixed(3)} vs different-work ${diff.toFixed(3)}`);
    assert(top1Rate > 0.2, `top-1 same-work rate ${top1Rate.toFixed(2)} is not above chance (0.12)`);
    assert(same < 0.98, `versions are near-identical in chroma (${same.toFixed(3)}): too easy`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
