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
import {
  disposeParams,
  initParams,
  type ModelParams,
  paramsFromTensors,
  paramSpecs,
  paramsToTensors,
} from "../lib/model/params.ts";
import { normalizeRows, searchTopK } from "../lib/search/exact.ts";
import { createGpuSearch, GPU_SEARCH_MAX_K } from "../lib/search/search_webgpu.ts";
import { classify, embed } from "../lib/model/model.ts";
import { createAdamW } from "../lib/train/adamw.ts";
import { computeLosses, trainStep } from "../lib/train/train_step.ts";
import { embedBatch } from "../lib/train/train.ts";
import { createEmbedPool } from "../lib/model/embed_pool.ts";
import { createTrainPool, shardCount, wasmShardFrames } from "../lib/train/data_parallel.ts";
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
import { createCqtPipeline, maxCqtPairsPerChunk, requestCqtGpuDevice } from "../lib/features/cqt_webgpu.ts";
import type { CqtKernel } from "../lib/features/cqt_kernel.ts";
import { conv2dFilterGradWebGpu } from "../lib/model/conv2d_filter_grad.ts";
import { matMulWebGpu } from "../lib/model/matmul_webgpu.ts";
import { webgpuLayerNorm } from "../lib/model/layer_norm_webgpu.ts";
import { nativeOps } from "../lib/model/_ops.ts";
import { setWebGpuKernels, webGpuKernels } from "../lib/model/kernels.ts";
import { sumSquaresWebGpu } from "../lib/train/grad_norm_webgpu.ts";
import { subsampledLength } from "../lib/model/subsampling.ts";
import { composeWork, renderVersion } from "../lib/data/synth.ts";

/** Usage text. */
export const USAGE = `Usage: deno task bench extract [--seconds S] [--device auto|webgpu|cpu] [--out FILE] [--no-write]
       deno task bench train|embed [--batch 16,32,64,128] [--frames 1125] [--steps 3] [--blocks 6] [--device D]
                                   [--profile] [--workers N] [--kernels ours|tfjs]
       deno task bench search [--refs 100000,1000000] [--queries 4096] [--k 10] [--device D]
       deno task bench kernels [--batch 16,32,64,128] [--frames 1125] [--steps 3] [--device webgpu]

Measures seconds of audio processed per second (x real time) for decode + resample (44.1 kHz stereo WAV
to 16 kHz mono), tempo change, CQT on one CPU core, and CQT on WebGPU (when an adapter is found),
with the references measured in the same run where available (sox resampling, a numpy/scipy CQT of
the original's algorithm). Results are appended to BENCHMARKS.md.

train/embed: chunks per second of a training step (focal over 30000 classes + triplet, AdamW, clip) or of
an eval-mode embedding of the covers80 model on random input; the PyTorch anchors of shared/anchors.md beside.
On WebGPU, the first batch size also checks the embedding against the cpu backend (max relative difference).

kernels (WebGPU): our WGSL kernels against the tfjs kernels they replace, at the model's shapes: matrix products
(shaders/matmul.wgsl against tfjs's BatchMatMul), LayerNorm forward + backward, the subsampling convolutions' filter
gradients (shaders/conv2d_filter_grad.wgsl against tfjs's Conv2DBackpropFilter) and the clip's sums of squares, with
the largest relative difference.

search: exact top-k inner-product search (unit 128-d vectors) of --queries random queries over each --refs size,
on WebGPU (shaders/search.wgsl) or the CPU twin; PyTorch (mm + topk) on the same GPU when python3 has torch.

Options:
  --seconds S   input length in seconds (default 600)
  --batch L     train/embed/kernels: batch sizes, comma-separated (default 16,32,64,128)
  --frames T    train/embed/kernels: frames per chunk (default 1125)
  --steps N     train/embed/kernels: timed steps per batch size after one warm-up (default 3)
  --blocks N    train/embed: Conformer blocks (default 6)
  --profile     train/embed: also print the 25 most expensive tfjs kernels of one step (tf.profile), the 15 most
                expensive (kernel, input shapes) pairs, and for train on WebGPU the phases of a step and its
                WebGPU API calls;
                extract: also time the WebGPU CQT with the largest chunk the device allows, and per phase
  --workers N   on a CPU backend: embed on N worker threads, one batch each in flight; train data-parallel, each
                batch split over N threads (this one and N-1 workers) (default 1: this thread)
  --kernels K   train/embed on WebGPU: ours (the WGSL kernels in shaders/, default) or tfjs (tfjs's own kernels,
                to measure both on the same GPU)
  --refs L      search: reference set sizes, comma-separated (default 100000,1000000)
  --queries N   search: queries (default 4096)
  --k K         search: results per query (default 10)
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
  profile: { type: "boolean" },
  workers: { type: "string" },
  kernels: { type: "string" },
  refs: { type: "string" },
  queries: { type: "string" },
  k: { type: "string" },
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

/** Adds a result row and prints it at once, so a run cut short still shows what it measured. */
function emit(rows: Row[], row: Row): void {
  rows.push(row);
  console.log(`| ${row.what} | ${row.ours} | ${row.reference} | ${row.ratio} |`);
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

async function benchExtract(
  seconds: number,
  device: "auto" | "webgpu" | "cpu" | "wasm",
  profile = false,
): Promise<Row[]> {
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
      const gpu = dev.kind === "webgpu" ? await requestCqtGpuDevice() : null; // as `extract` requests it
      let pipe: Awaited<ReturnType<typeof createCqtPipeline>> | undefined;
      let failure = "";
      if (gpu) {
        try {
          pipe = await createCqtPipeline(gpu, kernel);
        } catch (e) {
          failure = (e as Error).message;
        }
      }
      if (gpu && !pipe) {
        emit(rows, { what: `CQT, WebGPU (${gpu.description})`, ours: failure, reference: "-", ratio: "-" });
        gpu.destroy();
      } else if (gpu && pipe) {
        await pipe.run(y.subarray(0, 16000 * 10)); // warm-up: pipeline compile and buffer allocation
        const t0 = performance.now();
        await pipe.run(y);
        const s = (performance.now() - t0) / 1000;
        rows.push({
          what:
            `CQT, WebGPU (${gpu.description}), ${pipe.maxPairsPerChunk} pairs per chunk, incl. upload + readback + dB`,
          ours: x(s),
          reference: "nnAudio on a V100: ~12,400x (published)",
          ratio: (seconds / s / 12400).toPrecision(2),
        });
        pipe.destroy();
        gpu.destroy();
        if (profile) await profileGpuCqt(rows, y, seconds, kernel);
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
  o: {
    batches: number[];
    frames: number;
    steps: number;
    blocks: number;
    device: "auto" | "webgpu" | "cpu" | "wasm";
    profile: boolean;
    workers: number;
  },
): Promise<Row[]> {
  const backend = await initDeviceBackend(o.device);
  const config = { ...COVERS80_MODEL_CONFIG, numBlocks: o.blocks };
  const params = initParams(config, createPrng(1));
  const optimizer = createAdamW();
  const prng = createPrng(2);
  const rows: Row[] = [];
  const kind = tf.getBackend();
  const pool = what === "embed" && o.workers > 1 && (kind === "cpu" || kind === "wasm")
    ? await createEmbedPool(params, { workers: o.workers, backend: kind })
    : undefined;
  // As train does: data-parallel over the workers, and on wasm in shards that fit its heap.
  const maxShardFrames = kind === "wasm" ? wasmShardFrames(config) : Infinity;
  const tooBig = Math.max(...o.batches) * o.frames > maxShardFrames;
  const trainPool = what === "train" && (o.workers > 1 || tooBig) && (kind === "cpu" || kind === "wasm")
    ? await createTrainPool(params, { threads: Math.max(1, o.workers), backend: kind, maxShardFrames })
    : undefined;
  try {
    for (const b of o.batches) {
      const x = tf.tidy(() => tf.randomNormal([b, o.frames, config.inputDim], -40, 20, "float32", 3)) as tf.Tensor3D;
      const labels = Int32Array.from({ length: b }, (_, i) => Math.floor(i / 2));
      const xHost = pool || trainPool ? (await x.data()) as Float32Array : undefined;
      const once = async () => {
        if (what === "train" && trainPool) {
          const batch = { x: xHost!, shape: [b, o.frames, config.inputDim] as [number, number, number], labels };
          await trainPool.step(params, optimizer, batch, { lr: 1e-3, prng });
        } else if (what === "train") await trainStep(params, optimizer, x, labels, { lr: 1e-3, prng });
        else if (pool) {
          // One batch per worker, all in flight: a "step" embeds workers x B chunks.
          await Promise.all(Array.from({ length: pool.concurrency }, () => pool!.embed(xHost!, b)));
        } else {
          const e = tf.tidy(() => embed(params, x).embedding);
          await e.data(); // asynchronous: Deno's WebGPU has no synchronous readback
          e.dispose();
        }
      };
      let cell: string;
      try {
        await once(); // warm-up: kernel compilation, allocations
        if (tf.getBackend() === "webgpu" && b === o.batches[0]) emit(rows, await checkAgainstCpu(params, o.frames));
        if (o.profile && b === o.batches[0]) {
          await printProfile(what, b, once);
          if (what === "train") await printPhases(params, x, labels, once);
        }
        const t0 = performance.now();
        for (let i = 0; i < o.steps; i++) await once();
        const s = (performance.now() - t0) / 1000 / o.steps;
        const chunks = b * (pool?.concurrency ?? 1);
        cell = `${(chunks / s).toFixed(1)}/s (${(s * 1000).toFixed(0)} ms per ${pool ? `${chunks} chunks` : "batch"})`;
      } catch (e) {
        cell = `failed: ${(e as Error).message.slice(0, 80)}`;
      } finally {
        x.dispose();
      }
      emit(rows, {
        what: `${what}, B=${b}, T=${o.frames}, ${o.blocks} blocks, ${config.numClasses} classes, ${backend}` +
          (pool ? `, ${pool.concurrency} workers` : "") +
          (trainPool && trainPool.threads > 1 ? `, data-parallel over ${trainPool.threads} threads` : "") +
          (trainPool && shardCount(b, o.frames, trainPool.threads, maxShardFrames) > trainPool.threads
            ? `, in shards of <= ${maxShardFrames} frames`
            : "") +
          (kind === "webgpu" ? `, ${webGpuKernels() === "ours" ? "our WGSL kernels" : "tfjs kernels"}` : ""),
        ours: cell,
        reference: TORCH_ANCHORS[what]![b] ?? "-",
        ratio: "-",
      });
    }
  } finally {
    pool?.close();
    trainPool?.close();
    optimizer.dispose();
    disposeParams(params);
  }
  return rows;
}

/** Embeds two random chunks on the current (webgpu) backend and on cpu: the largest relative difference. */
async function checkAgainstCpu(params: ModelParams, modelFrames: number): Promise<Row> {
  const frames = Math.min(modelFrames, 375); // the cpu backend is slow: a shorter input checks the same kernels
  const prng = createPrng(5);
  const x = Float32Array.from({ length: 2 * frames * params.config.inputDim }, () => -40 + 20 * prng.normal());
  const shape: [number, number, number] = [2, frames, params.config.inputDim];
  const gpu = await embedBatch(params, x, shape);
  const backend = tf.getBackend();
  // A cpu copy of the weights, read asynchronously (tfjs moves tensors between backends with a synchronous read,
  // which Deno's WebGPU does not have).
  const host = await paramsToTensors(params);
  await tf.setBackend("cpu");
  const cpuParams = paramsFromTensors(host, params.config);
  const cpu = await embedBatch(cpuParams, x, shape);
  disposeParams(cpuParams);
  await tf.setBackend(backend);
  let maxAbs = 0, scale = 0;
  for (let i = 0; i < cpu.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(gpu[i]! - cpu[i]!));
    scale = Math.max(scale, Math.abs(cpu[i]!));
  }
  return {
    what: `embedding, ${backend} vs cpu backend (2 random chunks, T=${frames})`,
    ours: `max abs diff ${maxAbs.toExponential(2)} (max |value| ${scale.toFixed(3)})`,
    reference: "model parity bound: 1e-4",
    ratio: maxAbs <= 1e-4 * Math.max(1, scale) ? "ok" : "MISMATCH",
  };
}

/** tf.profile of one step: kernels by total time (or by count where the backend gives no timings). */
async function printProfile(what: string, batch: number, once: () => Promise<void>): Promise<void> {
  const info = await tf.profile(async () => {
    await once();
  });
  const byName = new Map<string, { n: number; ms: number; bytes: number }>();
  for (const k of info.kernels) {
    const e = byName.get(k.name) ?? { n: 0, ms: 0, bytes: 0 };
    e.n++;
    if (typeof k.kernelTimeMs === "number") e.ms += k.kernelTimeMs;
    e.bytes += k.bytesAdded;
    byName.set(k.name, e);
  }
  const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms || b[1].n - a[1].n).slice(0, 25);
  const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
  console.log(`tf.profile, one ${what} step at B=${batch}: ${info.kernels.length} kernels, ${total.toFixed(1)} ms`);
  for (const [name, e] of rows) {
    console.log(`  ${name.padEnd(28)} ${String(e.n).padStart(6)} calls ${e.ms.toFixed(1).padStart(9)} ms`);
  }
  // The same kernel costs very different amounts at different shapes: the most expensive (kernel, shapes) pairs.
  const byShape = new Map<string, { n: number; ms: number }>();
  for (const k of info.kernels) {
    if (typeof k.kernelTimeMs !== "number") continue;
    const key = `${k.name} ${k.inputShapes.map((s) => `(${s})`).join(" ")}`;
    const e = byShape.get(key) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += k.kernelTimeMs;
    byShape.set(key, e);
  }
  const shapes = [...byShape.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15);
  if (shapes.length > 0) console.log("  by kernel and input shapes:");
  for (const [key, e] of shapes) {
    console.log(`    ${key.padEnd(56)} ${String(e.n).padStart(6)} calls ${e.ms.toFixed(1).padStart(9)} ms`);
  }
}

/**
 * Where a training step's time goes, each phase awaited on its own: forward in training mode (with and without the
 * dropout masks, which the JS generator draws), forward + backward, the whole step; and how many GPU pipelines
 * tfjs compiles during one more step (a step should compile none once warm).
 */
async function printPhases(params: ModelParams, x: tf.Tensor3D, labels: Int32Array, once: () => Promise<void>) {
  const prng = createPrng(3);
  const timed = async (label: string, f: () => tf.Tensor) => {
    const t0 = performance.now();
    const t = f();
    await t.data();
    t.dispose();
    console.log(`  ${label.padEnd(52)} ${(performance.now() - t0).toFixed(0).padStart(7)} ms`);
  };
  console.log(`phases of one train step at B=${x.shape[0]}:`);
  // What one dropout site costs outside the kernels: drawing a (B, T/4, 256) mask in JS, and uploading it.
  const size = x.shape[0] * Math.floor(x.shape[1] / 4) * 256;
  let t0 = performance.now();
  const mask = new Float32Array(size);
  for (let i = 0; i < size; i++) mask[i] = prng.next() < 0.9 ? 1 / 0.9 : 0;
  console.log(
    `  ${`JS prng: one dropout mask of ${size} values`.padEnd(52)} ${(performance.now() - t0).toFixed(0)} ms`,
  );
  await timed(`upload of those ${size} values + one GPU op`, () => tf.tidy(() => tf.add(tf.tensor(mask), 1)));
  t0 = performance.now();
  await timed(
    "forward, training mode, dropout 0",
    () => tf.tidy(() => embed(params, x, { training: true, dropout: 0 }).embedding),
  );
  await timed(
    "forward, training mode, dropout masks from the JS prng",
    () => tf.tidy(() => embed(params, x, { training: true, prng }).embedding),
  );
  await timed("forward + backward (variableGrads, no update)", () => {
    const vars = [...params.trainable.entries()].filter(([n]) => n !== "_center_loss.centers").map(([, v]) => v);
    const { value, grads } = tf.variableGrads(() => {
      const fwd = embed(params, x, { training: true, prng });
      const head = classify(params, fwd.embedding, { training: true });
      return computeLosses(params, fwd.embedding, head.logits, labels, {}).total;
    }, vars);
    const norm = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(g))));
    tf.dispose(Object.values(grads));
    value.dispose();
    return norm;
  });
  const cache = () => Object.keys((tf.backend() as unknown as { pipelineCache?: object }).pipelineCache ?? {}).length;
  const c0 = cache();
  t0 = performance.now();
  await once();
  console.log(
    `  ${"whole step (trainStep: + clip, AdamW, BatchNorm stats)".padEnd(52)} ${
      (performance.now() - t0).toFixed(0).padStart(7)
    } ms`,
  );
  if (tf.getBackend() === "webgpu") await printGpuCalls(once);
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesInGPUAllocated?: number };
  console.log(
    `  pipelines compiled during that step: ${cache() - c0} (cache ${cache()}); tensors ${m.numTensors}, ` +
      `GPU bytes in use ${((m.numBytesInGPU ?? 0) / 2 ** 20).toFixed(0)} MiB, allocated ${
        ((m.numBytesInGPUAllocated ?? 0) / 2 ** 20).toFixed(0)
      } MiB`,
  );
}

/**
 * Our WGSL filter gradient against tfjs's Conv2DBackpropFilter for the subsampling's two convolutions (valid 3x3,
 * stride 2; C = the model's embed width) at each batch size: milliseconds per call (median of `steps`, each call
 * awaited), the ratio, and the largest difference relative to the largest value.
 */
async function benchKernels(
  o: { batches: number[]; frames: number; steps: number; device: "auto" | "webgpu" | "cpu" | "wasm" },
): Promise<Row[]> {
  if (o.device === "cpu" || o.device === "wasm") throw new UsageError("bench kernels runs on webgpu only");
  const backend = await initDeviceBackend("webgpu");
  console.log(backend);
  const cfg = COVERS80_MODEL_CONFIG;
  const rows: Row[] = [];
  for (const b of o.batches) {
    // Matrix products at the model's shapes: ours reads the weight (out, in) transposed in place; tfjs gets it
    // pre-transposed (its transposed form is wrong at some shapes in 4.22), so both compute the same product.
    const t = subsampledLength(o.frames), a = cfg.attentionDim, h = cfg.numHeads;
    const products: { name: string; a: number[]; w: number[]; transposeB: boolean }[] = [
      { name: "linear 256->1024 (feed-forward)", a: [b * t, a], w: [4 * a, a], transposeB: true },
      { name: "linear 1024->256 (feed-forward)", a: [b * t, 4 * a], w: [a, 4 * a], transposeB: true },
      { name: "attention scores Q·Kᵀ", a: [b * h, t, a / h], w: [b * h, t, a / h], transposeB: true },
      { name: "attention values P·V", a: [b * h, t, t], w: [b * h, t, a / h], transposeB: false },
      { name: "classifier (30000 classes)", a: [b, cfg.embedDim], w: [cfg.numClasses, cfg.embedDim], transposeB: true },
    ];
    for (const pr of products) {
      const x = tf.randomNormal(pr.a, 0, 1, "float32", 3);
      const w = tf.randomNormal(pr.w, 0, 1, "float32", 4);
      const wT = pr.transposeB ? tf.transpose(w, pr.w.length === 3 ? [0, 2, 1] : [1, 0]) : tf.clone(w);
      try {
        const shapes = `[${pr.a}]·[${pr.w}]${pr.transposeB ? "ᵀ" : ""}`;
        const row = await compareKernels(
          `matMul, ${pr.name}, B=${b}: ${shapes}`,
          () => matMulWebGpu(x, w, false, pr.transposeB),
          () => tf.matMul(x, wT),
          o.steps,
        );
        const flop = 2 * x.size * (pr.transposeB ? pr.w[pr.w.length - 2]! : pr.w[pr.w.length - 1]!);
        emit(rows, { ...row, ours: `${row.ours}, ${(flop / row.msOurs / 1e6).toPrecision(3)} GFLOP/s` });
      } finally {
        tf.dispose([x, w, wT]);
      }
    }
    // LayerNorm, forward and backward (tf.grads of a weighted sum), on (B·T', 256): our kernels against tfjs's op chain.
    {
      const x = tf.randomNormal([b * t, a], 0, 1, "float32", 5);
      const [g, bias, w] = [tf.randomNormal([a], 1, 0.1, "float32", 6), tf.zeros([a]), tf.randomNormal([b * t, a])];
      const ln = (f: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => tf.Tensor) => () =>
        tf.tidy(() => {
          const gr = tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(f(p, q, r, 1e-5), w)))([
            x,
            g,
            bias,
          ]);
          return tf.concat(gr.map((v) => tf.reshape(v, [-1])));
        });
      try {
        emit(
          rows,
          await compareKernels(
            `LayerNorm forward + backward, B=${b}: [${b * t},${a}]`,
            ln(webgpuLayerNorm),
            ln(nativeOps().layerNorm),
            o.steps,
          ),
        );
      } finally {
        tf.dispose([x, g, bias, w]);
      }
    }
    // The subsampling convolutions' filter gradients (valid 3x3, stride 2; d = outputDims channels).
    const d = cfg.outputDims;
    const t1 = Math.floor((o.frames - 1) / 2), f1 = Math.floor((cfg.inputDim - 1) / 2);
    const t2 = subsampledLength(o.frames), f2 = Math.floor((f1 - 1) / 2);
    const convs: { name: string; x: [number, number, number, number]; dy: [number, number, number, number] }[] = [
      { name: "conv 1", x: [b, o.frames, cfg.inputDim, 1], dy: [b, t1, f1, d] },
      { name: "conv 2", x: [b, t1, f1, d], dy: [b, t2, f2, d] },
    ];
    for (const c of convs) {
      const x = tf.randomNormal(c.x, 0, 1, "float32", 1) as tf.Tensor4D;
      const dy = tf.randomNormal(c.dy, 0, 1, "float32", 2) as tf.Tensor4D;
      const filterShape = [3, 3, c.x[3], d];
      try {
        emit(
          rows,
          await compareKernels(
            `conv2d filter gradient, ${c.name}, x [${c.x}] -> dW [${filterShape}]`,
            () => conv2dFilterGradWebGpu(x, dy, [3, 3], 2),
            () => tfjsFilterGrad(x, dy, filterShape, 2),
            o.steps,
          ),
        );
      } finally {
        tf.dispose([x, dy]);
      }
    }
  }
  // The clip's sums of squares over the model's trainable tensors (random values of their shapes).
  const specs = paramSpecs(cfg).filter((p) => p.kind === "trainable" && !p.name.startsWith("_center"));
  const grads = specs.map((p, i) => tf.randomNormal([...p.shape], 0, 1, "float32", 100 + i));
  try {
    emit(
      rows,
      await compareKernels(
        `clip: sums of squares of the ${grads.length} trainable tensors`,
        () => sumSquaresWebGpu(grads),
        () => tf.tidy(() => tf.stack(grads.map((x) => tf.sum(tf.square(x))))),
        o.steps,
      ),
    );
  } finally {
    tf.dispose(grads);
  }
  return rows;
}

/** One `bench kernels` row: ours against tfjs's (median ms, ratio) and their largest relative difference. */
async function compareKernels(
  what: string,
  ours: () => tf.Tensor,
  theirs: () => tf.Tensor,
  steps: number,
): Promise<Row & { msOurs: number }> {
  const [a, b] = [ours(), theirs()];
  const [av, bv] = [await a.data(), await b.data()];
  tf.dispose([a, b]);
  let diff = 0, scale = 0;
  for (let i = 0; i < bv.length; i++) {
    diff = Math.max(diff, Math.abs(av[i]! - bv[i]!));
    scale = Math.max(scale, Math.abs(bv[i]!));
  }
  const msOurs = await medianMs(ours, steps), msTheirs = await medianMs(theirs, steps);
  return {
    what: `${what} (max rel diff ${(diff / scale).toExponential(1)})`,
    ours: `${msOurs.toFixed(2)} ms (WGSL)`,
    reference: `${msTheirs.toFixed(2)} ms (tfjs)`,
    ratio: (msTheirs / msOurs).toFixed(2),
    msOurs,
  };
}

/** Median wall time of `steps` awaited calls after one warm-up (pipeline compilation). */
async function medianMs(f: () => tf.Tensor, steps: number): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const t = f();
    await t.data();
    t.dispose();
    return performance.now() - t0;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) times.push(await once());
  return times.sort((x, y) => x - y)[Math.floor(times.length / 2)]!;
}

/** tfjs's Conv2DBackpropFilter kernel, run directly (tfjs exports no op for it). */
function tfjsFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], stride: number): tf.Tensor {
  return tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
    strides: [stride, stride],
    pad: "valid",
    dataFormat: "NHWC",
    dilations: [1, 1],
    filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * `bench extract --profile`, WebGPU: the CQT with the largest chunk a device with buffer limits raised to 1 GiB allows
 * (fewer round trips than the default chunk), then one run in timing mode (each pass submitted and awaited alone),
 * printed as milliseconds per phase.
 */
async function profileGpuCqt(rows: Row[], y: Float32Array, seconds: number, kernel: CqtKernel): Promise<void> {
  const gpu = await requestCqtGpuDevice(1 << 30);
  if (gpu === null) return;
  try {
    const pairs = Math.min(maxCqtPairsPerChunk(gpu.device, kernel), Math.ceil(y.length / kernel.hopSamples / 2));
    for (const timing of [false, true]) {
      const pipe = await createCqtPipeline(gpu, kernel, { maxPairsPerChunk: pairs, timing });
      try {
        await pipe.run(y.subarray(0, 16000 * 10)); // warm-up
        pipe.timings.clear();
        const t0 = performance.now();
        await pipe.run(y);
        const s = (performance.now() - t0) / 1000;
        emit(rows, {
          what: `CQT, WebGPU, ${pairs} pairs per chunk${timing ? ", timing mode (every pass awaited)" : ""}`,
          ours: `${(seconds / s).toFixed(0)}x`,
          reference: "-",
          ratio: "-",
        });
        if (timing) {
          const total = [...pipe.timings.values()].reduce((a, b) => a + b, 0);
          console.log(`phases of one ${seconds} s CQT (${pairs} pairs per chunk), ms:`);
          for (const [phase, ms] of pipe.timings) {
            console.log(`  ${phase.padEnd(48)} ${ms.toFixed(1).padStart(9)}  ${(100 * ms / total).toFixed(0)}%`);
          }
        }
      } finally {
        pipe.destroy();
      }
    }
  } finally {
    gpu.destroy();
  }
}

/**
 * WebGPU API calls during one more step: count, bytes where there are any, and the host milliseconds spent inside the
 * calls (the methods are wrapped for the step and restored after). On a software adapter `submit` runs the kernels.
 */
async function printGpuCalls(once: () => Promise<void>): Promise<void> {
  const calls = new Map<string, { n: number; bytes: number; ms: number }>();
  const g = globalThis as unknown as Record<string, { prototype: Record<string, unknown> }>;
  const wrapped: [Record<string, unknown>, string, unknown][] = [];
  const wrap = (cls: string, name: string, bytes?: (args: unknown[]) => number) => {
    const proto = g[cls]?.prototype;
    const orig = proto?.[name];
    if (proto === undefined || typeof orig !== "function") return;
    wrapped.push([proto, name, orig]);
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      const r = orig.apply(this, args);
      const e = calls.get(`${cls}.${name}`) ?? { n: 0, bytes: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t0;
      e.bytes += bytes?.(args) ?? 0;
      calls.set(`${cls}.${name}`, e);
      return r;
    };
  };
  wrap("GPUDevice", "createBuffer", (a) => (a[0] as GPUBufferDescriptor).size);
  wrap("GPUDevice", "createBindGroup");
  wrap("GPUDevice", "createComputePipeline");
  wrap("GPUQueue", "writeBuffer", (a) => (a[2] as ArrayBuffer).byteLength ?? 0);
  wrap("GPUQueue", "submit");
  wrap("GPUBuffer", "mapAsync");
  wrap("GPUBuffer", "destroy");
  wrap("GPUCommandEncoder", "copyBufferToBuffer", (a) => Number(a[4] ?? 0));
  wrap("GPUComputePassEncoder", "dispatchWorkgroups");
  const t0 = performance.now();
  try {
    await once();
  } finally {
    for (const [proto, name, orig] of wrapped) proto[name] = orig;
  }
  console.log(`  WebGPU API calls during one more step (${(performance.now() - t0).toFixed(0)} ms):`);
  for (const [name, e] of [...calls.entries()].sort()) {
    console.log(
      `    ${name.padEnd(40)} ${String(e.n).padStart(6)} calls ${String(e.bytes).padStart(10)} bytes ${
        e.ms.toFixed(1).padStart(8)
      } ms`,
    );
  }
}

/** Random unit vectors, row-major `(n, dim)`. */
function randomUnit(n: number, dim: number, seed: number): Float32Array {
  const prng = createPrng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = prng.normal();
  return normalizeRows(out, dim);
}

/** Queries per second of exact top-k search over each reference set size. */
async function benchSearch(
  o: { refs: number[]; queries: number; k: number; device: "auto" | "webgpu" | "cpu" | "wasm" },
): Promise<Row[]> {
  const dim = 128;
  const rows: Row[] = [];
  const dev = o.device === "cpu" || o.device === "wasm" ? null : await resolveDevice(o.device);
  const gpu = dev?.kind === "webgpu"
    ? await requestGpuDevice({ requiredLimits: { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30 } })
    : null;
  const queries = randomUnit(o.queries, dim, 2);
  try {
    for (const n of o.refs) {
      const refs = randomUnit(n, dim, 1);
      // CPU twin on a few queries: speed and the check that the GPU returns the same neighbours.
      const few = Math.min(8, o.queries);
      const cpu = timeIt(() => searchTopK(queries.subarray(0, few * dim), refs, dim, o.k));
      const ours = `CPU: ${(few / cpu.s).toFixed(1)} q/s`;
      const what = `exact search, ${n} x ${dim} refs, k=${o.k}, ${o.queries} queries`;
      if (gpu) {
        const torch = await runCmd("python3", [
          new URL("../bench/torch_search.py", import.meta.url).pathname,
          String(n),
          String(o.queries),
          String(o.k),
          String(dim),
        ]);
        const torchQps = torch.ok ? Number(JSON.parse(torch.stdout.trim().split("\n").pop()!).q_per_s) : NaN;
        for (const tile of [64, 128] as const) {
          const search = await createGpuSearch(gpu, refs, dim, { tile });
          await search.search(queries.subarray(0, 256 * dim), o.k); // warm-up
          const t0 = performance.now();
          const got = await search.search(queries, o.k);
          const s = (performance.now() - t0) / 1000;
          let same = 0;
          for (let i = 0; i < few * o.k; i++) if (got.index[i] === cpu.value.index[i]) same++;
          const l = search.layout;
          search.destroy();
          const qps = o.queries / s;
          const faiss = n === 1000000 ? `; FAISS GPU (published): ~14,000` : "";
          emit(rows, {
            what: `${what}, WebGPU (${gpu.description}; ${l.tile}x${l.tile} tiles, ${l.shards} shard(s) of ` +
              `${l.shardRows}, batches of ${l.queryBatch})`,
            ours: `${qps.toFixed(0)} q/s (CPU twin ${(few / cpu.s).toFixed(1)} q/s; ${same}/${few * o.k} neighbours ` +
              `equal to the twin)`,
            reference: (torch.ok ? `PyTorch mm + topk, same GPU: ${torchQps.toFixed(0)} q/s` : "-") + faiss,
            ratio: [
              ...(torch.ok ? [`${(qps / torchQps).toFixed(2)} vs PyTorch`] : []),
              ...(n === 1000000 ? [`${(qps / 14000).toFixed(2)} vs FAISS`] : []),
            ].join(", ") || "-",
          });
        }
      } else {
        emit(rows, { what: what + ", CPU (one thread)", ours, reference: "-", ratio: "-" });
      }
    }
  } finally {
    gpu?.destroy();
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
    `| what | ours (${
      title === "bench extract"
        ? "x real time"
        : title === "bench search"
        ? "queries/s"
        : title === "bench kernels"
        ? "ms per call"
        : "chunks/s"
    }) | reference | ${title === "bench kernels" ? "speed-up (reference time / ours)" : "ours / reference"} |`,
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
  if (positionals.length !== 1 || !["extract", "train", "embed", "search", "kernels"].includes(what ?? "")) {
    throw new UsageError("expected: bench extract | bench train | bench embed | bench search | bench kernels");
  }
  const device = values.device === undefined ? "auto" : deviceFlag(values.device);
  let rows: Row[];
  if (what === "extract") {
    const seconds = intFlag("seconds", values.seconds ?? 600, 1, 36000);
    console.log(`bench extract: ${seconds} s of audio on ${machine()}`);
    rows = await benchExtract(seconds, device, values.profile === true);
  } else if (what === "search") {
    const refs = String(values.refs ?? "100000,1000000").split(",").map((n) => intFlag("refs", n, 1, 100_000_000));
    const queries = intFlag("queries", values.queries ?? 4096, 1, 10_000_000);
    const k = intFlag("k", values.k ?? 10, 1, GPU_SEARCH_MAX_K);
    console.log(`bench search: refs ${refs.join("/")}, ${queries} queries, k ${k}, on ${machine()}`);
    rows = await benchSearch({ refs, queries, k, device });
  } else if (what === "kernels") {
    const batches = String(values.batch ?? "16,32,64,128").split(",").map((b) => intFlag("batch", b, 1, 4096));
    const frames = intFlag("frames", values.frames ?? 1125, 8, 100000);
    const steps = intFlag("steps", values.steps ?? 3, 1, 1000);
    console.log(`bench kernels: B ${batches.join("/")}, T ${frames}, on ${machine()}`);
    rows = await benchKernels({ batches, frames, steps, device });
  } else {
    const batches = String(values.batch ?? "16,32,64,128").split(",").map((b) => intFlag("batch", b, 1, 4096));
    const frames = intFlag("frames", values.frames ?? 1125, 8, 100000);
    const steps = intFlag("steps", values.steps ?? 3, 1, 1000);
    const blocks = intFlag("blocks", values.blocks ?? 6, 1, 64);
    console.log(`bench ${what}: B ${batches.join("/")}, T ${frames}, ${blocks} blocks, on ${machine()}`);
    const profile = values.profile === true;
    const workers = intFlag("workers", values.workers ?? 1, 0, 256);
    const kernels = String(values.kernels ?? "ours");
    if (kernels !== "ours" && kernels !== "tfjs") {
      throw new UsageError(`--kernels: expected ours or tfjs, got '${kernels}'`);
    }
    setWebGpuKernels(kernels);
    rows = await benchModel(what as "train" | "embed", { batches, frames, steps, blocks, device, profile, workers });
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
