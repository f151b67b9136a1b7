// deno-lint-ignore-file no-console
/**
 * `deno task bench <what>`: measures speed and records it in BENCHMARKS.md with the machine, the
 * date, the command and the reference measured in the same run. Benchmarks are not tests.
 *
 * `bench extract`: decode + resample, CQT on one CPU core, CQT on WebGPU, for a long input.
 *
 * Permissions: read, write (temp files and BENCHMARKS.md), run (sox and python3 as references), env.
 *
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initDeviceBackend } from "../lib/model/backend.ts";
import { COVERS80_MODEL_CONFIG } from "../lib/model/config.ts";
import { disposeParams, initParams } from "../lib/model/params.ts";
import { embed } from "../lib/model/model.ts";
import { createAdamW } from "../lib/train/adamw.ts";
import { trainStep } from "../lib/train/train_step.ts";
import { cpus } from "node:os";
import {
  changeTempo,
  cqt,
  CqtPlan,
  createCqtKernel,
  createJobRunner,
  decodeAudio,
  encodeWav,
  extractFeatures,
  mixToMono,
  requestGpuDevice,
  resample,
  writeSynthDataset,
} from "../mod.ts";
import { createPrng } from "../lib/data/prng.ts";
import { deviceFlag, intFlag, parseTaskArgs, type TaskOptions, UsageError } from "../lib/cli/args.ts";
import { resolveDevice } from "../lib/gpu/select.ts";
import { createCqtPipeline } from "../lib/features/cqt_webgpu.ts";
import { composeWork, renderVersion } from "../lib/data/synth.ts";

/** Usage text. */
export const USAGE = `Usage: deno task bench extract [--seconds S] [--device auto|webgpu|cpu] [--out FILE] [--no-write]
       deno task bench train|embed [--batch 16,32,64,128] [--frames 1125] [--steps 3] [--blocks 6] [--device D]

Measures seconds of audio processed per second (x real time) for decode + resample (44.1 kHz stereo WAV
to 16 kHz mono), tempo change, CQT on one CPU core, and CQT on WebGPU (when an adapter is found),
with the references measured in the same run where available (sox resampling, a numpy/scipy CQT of
the original's algorithm). Results are appended to BENCHMARKS.md.

train/embed: chunks per second of a training step (focal over 30000 classes + triplet, AdamW, clip) or of
an eval-mode embedding of the covers80 model on random input; the PyTorch anchors of shared/anchors.md beside.

Options:
  --seconds S   input length in seconds (default 600)
  --batch L     train/embed: batch sizes, comma-separated (default 16,32,64,128)
  --frames T    train/embed: frames per chunk (default 1125)
  --steps N     train/embed: timed steps per batch size after one warm-up (default 3)
  --blocks N    train/embed: Conformer blocks (default 6)
  --device D    auto (WebGPU if a hardware adapter exists), webgpu (also a software one), cpu (skip GPU)
  --out FILE    results file (default BENCHMARKS.md)
  --no-write    print only
  -h, --help    show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS: TaskOptions = {
  seconds: { type: "string" },
  batch: { type: "string" },
  frames: { type: "string" },
  steps: { type: "string" },
  blocks: { type: "string" },
  device: { type: "string" },
  out: { type: "string" },
  "no-write": { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

interface Row {
  what: string;
  ours: string;
  reference: string;
  ratio: string;
}

function timeIt<T>(fn: () => T): { value: T; s: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, s: (performance.now() - t0) / 1000 };
}

async function runCmd(cmd: string, args: string[]): Promise<{ ok: boolean; s: number; stdout: string }> {
  const t0 = performance.now();
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return { ok: out.success, s: (performance.now() - t0) / 1000, stdout: new TextDecoder().decode(out.stdout) };
  } catch {
    return { ok: false, s: 0, stdout: "" };
  }
}

function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU"; // needs --allow-sys=cpus
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}, Deno ${Deno.version.deno}`;
}

/** A music-like test signal: synthetic versions of one work, concatenated to `seconds`. */
function testSignal(seconds: number, sampleRateHz: number): Float32Array {
  const prng = createPrng(7);
  const work = composeWork(prng, 0);
  const out = new Float32Array(Math.round(seconds * sampleRateHz));
  let at = 0, v = 0;
  while (at < out.length) {
    const part = renderVersion(work, createPrng(100 + v), v, { seconds: 60, sampleRateHz });
    out.set(part.subarray(0, Math.min(part.length, out.length - at)), at);
    at += part.length;
    v++;
  }
  return out;
}

async function benchExtract(seconds: number, device: "auto" | "webgpu" | "cpu" | "wasm"): Promise<Row[]> {
  const rows: Row[] = [];
  const x = (s: number) => `${(seconds / s).toFixed(0)}x`;
  const tmp = await Deno.makeTempDir({ prefix: "bench_extract_" });
  try {
    // Decode + resample: 44.1 kHz stereo WAV -> 16 kHz mono.
    const sig44 = testSignal(seconds, 44100);
    const wavPath = join(tmp, "in44k.wav");
    await Deno.writeFile(wavPath, encodeWav([sig44, sig44], 44100));
    const bytes = await Deno.readFile(wavPath);
    const dec = await (async () => {
      const t0 = performance.now();
      const a = await decodeAudio(bytes, wavPath);
      const y = resample(mixToMono(a.channels), a.sampleRateHz, { toHz: 16000 });
      return { y, s: (performance.now() - t0) / 1000 };
    })();
    const sox = await runCmd("sox", [wavPath, "-r", "16000", "-c", "1", join(tmp, "sox16k.wav")]);
    rows.push({
      what: `decode WAV 44.1 kHz stereo + resample to 16 kHz mono (${seconds} s)`,
      ours: x(dec.s),
      reference: sox.ok ? `sox rate (HQ): ${x(sox.s)}` : "sox not installed",
      ratio: sox.ok ? `${(sox.s / dec.s).toFixed(2)}` : "-",
    });

    // Tempo change (speed augmentation), one factor.
    const y = dec.y;
    const tempo = timeIt(() => changeTempo(y, 1.1, 16000));
    const soxTempo = await runCmd("sox", [join(tmp, "sox16k.wav"), join(tmp, "tempo.wav"), "tempo", "1.1"]);
    rows.push({
      what: "tempo x1.1 (WSOLA, pitch kept)",
      ours: x(tempo.s),
      reference: soxTempo.ok ? `sox tempo: ${x(soxTempo.s)}` : "sox not installed",
      ratio: soxTempo.ok ? `${(soxTempo.s / tempo.s).toFixed(2)}` : "-",
    });

    // CQT on one CPU core.
    const kernel = createCqtKernel({});
    const plan = new CqtPlan(kernel);
    const c = timeIt(() => cqt(y, plan));
    const py = await runCmd("python3", [
      new URL("../bench/pycqt_numpy.py", import.meta.url).pathname,
      String(Math.min(seconds, 120)),
    ]);
    let ref = "python3 + numpy/scipy not available", ratio = "-";
    if (py.ok) {
      const r = JSON.parse(py.stdout.trim().split("\n").pop()!);
      ref = `numpy/scipy PyCqt algorithm: ${Number(r.x_realtime).toFixed(0)}x`;
      ratio = ((seconds / c.s) / r.x_realtime).toFixed(2);
    }
    rows.push({ what: `CQT, CPU, 1 thread (${c.value.frames} frames)`, ours: x(c.s), reference: ref, ratio });

    // CQT on WebGPU.
    if (device !== "cpu" && device !== "wasm") {
      const dev = await resolveDevice(device);
      const gpu = dev.kind === "webgpu" ? await requestGpuDevice() : null;
      if (gpu) {
        const pipe = await createCqtPipeline(gpu, kernel);
        await pipe.run(y.subarray(0, 16000 * 10)); // warm-up: pipeline compile and buffer allocation
        const t0 = performance.now();
        await pipe.run(y);
        const s = (performance.now() - t0) / 1000;
        rows.push({
          what: `CQT, WebGPU (${gpu.description}), incl. upload + readback + dB`,
          ours: x(s),
          reference: "nnAudio on a V100: ~12,400x (published)",
          ratio: (seconds / s / 12400).toPrecision(2),
        });
        pipe.destroy();
        gpu.destroy();
      } else rows.push({ what: "CQT, WebGPU", ours: "no hardware adapter", reference: "-", ratio: "-" });
    }

    // The whole extract stage on a data folder: decode + 3 speeds + CQT + files, every core.
    const set = join(tmp, "set");
    const works = Math.max(2, Math.round(seconds / 60));
    await writeSynthDataset(set, { works, versions: 2, seconds: 30, seed: 3 });
    await Deno.writeTextFile(join(set, "hparams.yaml"), "aug_speed_mode: [0.9, 1.0, 1.1]\ndevice: cpu\n");
    const workers = navigator.hardwareConcurrency;
    const runner = createJobRunner({ frontEnd: { kind: "pycqt", fmin: 32, nBins: 96, binsPerOctave: 12 }, workers });
    try {
      const e = await extractFeatures(set, { runner });
      rows.push({
        what: `extract, end to end (decode + tempo 0.9/1.1 + CQT of ${(e.computedAudioS / 60).toFixed(0)} min, ` +
          `${workers} workers)`,
        ours: `${(e.computedAudioS / e.timeS).toFixed(0)}x`,
        reference: "-",
        ratio: "-",
      });
    } finally {
      await runner.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  return rows;
}

/** PyTorch anchors from shared/anchors.md (not measurable here: no PyTorch on this machine). */
const TORCH_ANCHORS: Record<string, Record<number, string>> = {
  train: {
    8: "PyTorch CPU (2-core dev machine): 1.9/s",
    16: "PyTorch H100: 159/s",
    32: "PyTorch H100: 290/s",
    64: "PyTorch H100: 538/s",
    128: "PyTorch H100: 779/s",
  },
  embed: { 8: "PyTorch CPU (2-core dev machine): 7/s", 128: "PyTorch H100: 2368/s" },
};

/**
 * Chunks per second of a training step (focal over 30000 classes + triplet, AdamW, clip) or of an eval-mode
 * embedding, for the covers80 model (with `blocks` Conformer blocks) on random input.
 */
async function benchModel(
  what: "train" | "embed",
  o: { batches: number[]; frames: number; steps: number; blocks: number; device: "auto" | "webgpu" | "cpu" | "wasm" },
): Promise<Row[]> {
  const backend = await initDeviceBackend(o.device);
  const config = { ...COVERS80_MODEL_CONFIG, numBlocks: o.blocks };
  const params = initParams(config, createPrng(1));
  const optimizer = createAdamW();
  const prng = createPrng(2);
  const rows: Row[] = [];
  try {
    for (const b of o.batches) {
      const x = tf.tidy(() => tf.randomNormal([b, o.frames, config.inputDim], -40, 20, "float32", 3)) as tf.Tensor3D;
      const labels = Int32Array.from({ length: b }, (_, i) => Math.floor(i / 2));
      const once = () => {
        if (what === "train") trainStep(params, optimizer, x, labels, { lr: 1e-3, prng });
        else tf.tidy(() => embed(params, x).embedding.dataSync());
      };
      let cell: string;
      try {
        once(); // warm-up: kernel compilation, allocations
        const t0 = performance.now();
        for (let i = 0; i < o.steps; i++) once();
        const s = (performance.now() - t0) / 1000 / o.steps;
        cell = `${(b / s).toFixed(1)}/s (${(s * 1000).toFixed(0)} ms per batch)`;
      } catch (e) {
        cell = `failed: ${(e as Error).message.slice(0, 80)}`;
      } finally {
        x.dispose();
      }
      rows.push({
        what: `${what}, B=${b}, T=${o.frames}, ${o.blocks} blocks, ${config.numClasses} classes, ${backend}`,
        ours: cell,
        reference: TORCH_ANCHORS[what]![b] ?? "-",
        ratio: "-",
      });
    }
  } finally {
    optimizer.dispose();
    disposeParams(params);
  }
  return rows;
}

function formatTable(title: string, command: string, rows: Row[]): string {
  const date = new Date().toISOString().slice(0, 10);
  return [
    `### ${title}: ${date}`,
    "",
    `- command: \`${command}\``,
    `- machine: ${machine()}`,
    "",
    `| what | ours (${title === "bench extract" ? "x real time" : "chunks/s"}) | reference | ours / reference |`,
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.what} | ${r.ours} | ${r.reference} | ${r.ratio} |`),
    "",
  ].join("\n");
}

/** Runs a benchmark; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseTaskArgs(args, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const what = positionals[0];
  if (positionals.length !== 1 || !["extract", "train", "embed"].includes(what ?? "")) {
    throw new UsageError("expected: bench extract | bench train | bench embed");
  }
  const device = values.device === undefined ? "auto" : deviceFlag(values.device);
  let rows: Row[];
  if (what === "extract") {
    const seconds = intFlag("seconds", values.seconds ?? 600, 1, 36000);
    console.log(`bench extract: ${seconds} s of audio on ${machine()}`);
    rows = await benchExtract(seconds, device);
  } else {
    const batches = String(values.batch ?? "16,32,64,128").split(",").map((b) => intFlag("batch", b, 1, 4096));
    const frames = intFlag("frames", values.frames ?? 1125, 8, 100000);
    const steps = intFlag("steps", values.steps ?? 3, 1, 1000);
    const blocks = intFlag("blocks", values.blocks ?? 6, 1, 64);
    console.log(`bench ${what}: B ${batches.join("/")}, T ${frames}, ${blocks} blocks, on ${machine()}`);
    rows = await benchModel(what as "train" | "embed", { batches, frames, steps, blocks, device });
  }
  const table = formatTable(`bench ${what}`, `deno task bench ${args.join(" ")}`, rows);
  console.log(table);
  if (!values["no-write"]) {
    const out = String(values.out ?? "BENCHMARKS.md");
    let text = "";
    try {
      text = await Deno.readTextFile(out);
    } catch {
      text =
        "# Benchmarks\n\nWritten by `deno task bench ...` (tables are appended, newest last; benchmarks are not tests).\n";
    }
    await Deno.writeTextFile(out, text.trimEnd() + "\n\n" + table);
    console.log(`appended to ${out}`);
  }
  return 0;
}
