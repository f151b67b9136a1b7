/**
 * One unit of extraction work: a source recording and every variant made from it (speed copies,
 * noisy copies). The audio is decoded once; each variant's feature file is written atomically and
 * reused when a valid one already exists, so a killed run resumes where it stopped.
 *
 * @module
 */
import { loadAudio } from "../audio/load.ts";
import { changeTempo } from "../audio/tempo.ts";
import { addNoise } from "../audio/noise.ts";
import { peakNormalize } from "../audio/normalize.ts";
import { encodeNpy, statNpy } from "../io/npy.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { createPrng } from "./prng.ts";
import type { FrontEnd } from "../features/front_end.ts";

/** Sampling rate of every feature (the reference's 16 kHz). */
export const SAMPLE_RATE_HZ = 16000;

/** One feature file to produce from a source recording. */
export interface VariantSpec {
  /** The variant's utt id (`sp_<k>-<utt>`, `<utt>▁noise_<name>`, or the source utt). */
  utt: string;
  /** Tempo factor (1 = original). */
  speed: number;
  /** Add noise to this variant (after the tempo change). */
  noise: boolean;
  /** Output `.npy` path. */
  featPath: string;
}

/** A source recording and its variants. */
export interface ExtractJob {
  /** Source utt id. */
  sourceUtt: string;
  /** Audio path. */
  wav: string;
  /** Variants to produce. */
  variants: VariantSpec[];
  /** Noise recordings (paths) when any variant wants noise. */
  noiseWavs?: string[];
  /** Noise options (`add_noise`). */
  noise?: { prob: number; sr: number; chunkS: number };
  /** Seed for noise choices (combined with the utt so results do not depend on scheduling). */
  seed: number;
}

/** What a job produced for one variant. */
export interface VariantResult {
  utt: string;
  /** Number of CQT frames. */
  featLen: number;
  /** True when an existing valid feature file was reused. */
  reused: boolean;
}

/** A finished job. */
export type JobResult =
  | { sourceUtt: string; ok: true; variants: VariantResult[]; audioS: number; computedS: number }
  | { sourceUtt: string; ok: false; error: string };

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Long-lived state of a worker: the front end and a cache of decoded noise files. */
export interface JobContext {
  frontEnd: FrontEnd;
  noiseCache: Map<string, Float32Array>;
}

/**
 * Runs one job. Never throws for bad input: a decode error, an empty or silent file becomes
 * `{ok: false, error}` naming the file, so the caller can report it and go on.
 */
export async function runExtractJob(job: ExtractJob, ctx: JobContext): Promise<JobResult> {
  try {
    const results: VariantResult[] = [];
    const pending: VariantSpec[] = [];
    for (const v of job.variants) {
      const st = await statNpy(v.featPath);
      if (st && st.shape.length === 2 && st.shape[1] === ctx.frontEnd.bins && st.shape[0]! > 0) {
        results.push({ utt: v.utt, featLen: st.shape[0]!, reused: true });
      } else pending.push(v);
    }
    if (pending.length === 0) return { sourceUtt: job.sourceUtt, ok: true, variants: results, audioS: 0, computedS: 0 };

    const samples = await loadAudio(job.wav, { sampleRateHz: SAMPLE_RATE_HZ });
    if (samples.length === 0) throw new Error(`${job.wav}: no audio samples (zero-length file)`);
    let peak = 0;
    for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]!));
    if (peak < 1e-6) throw new Error(`${job.wav}: the audio is silent (peak ${peak.toExponential(1)})`);
    if (samples.length < 640) throw new Error(`${job.wav}: too short for one CQT frame (${samples.length} samples)`);
    const audioS = samples.length / SAMPLE_RATE_HZ;

    // Variants first (tempo, noise), then one batched front-end call for all of them.
    const signals: Float32Array[] = [];
    for (const v of pending) {
      let y = Math.abs(v.speed - 1) <= 0.01 ? samples : peakNormalize(changeTempo(samples, v.speed, SAMPLE_RATE_HZ));
      if (v.noise) y = peakNormalize(await mixNoise(y, v.utt, job, ctx));
      signals.push(y);
    }
    const feats = await ctx.frontEnd.computeMany(signals);
    let computedS = 0;
    for (let i = 0; i < pending.length; i++) {
      const v = pending[i]!, feat = feats[i]!;
      await writeFileAtomic(v.featPath, encodeNpy({ data: feat.data, shape: [feat.frames, feat.bins] }));
      results.push({ utt: v.utt, featLen: feat.frames, reused: false });
      computedS += signals[i]!.length / SAMPLE_RATE_HZ;
    }
    const order = new Map(job.variants.map((v, i) => [v.utt, i]));
    results.sort((a, b) => order.get(a.utt)! - order.get(b.utt)!);
    return { sourceUtt: job.sourceUtt, ok: true, variants: results, audioS, computedS };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { sourceUtt: job.sourceUtt, ok: false, error: msg.includes(job.wav) ? msg : `${job.wav}: ${msg}` };
  }
}

async function mixNoise(y: Float32Array, utt: string, job: ExtractJob, ctx: JobContext): Promise<Float32Array> {
  if (!job.noise || !job.noiseWavs || job.noiseWavs.length === 0) {
    throw new Error("noise requested without noise files");
  }
  const prng = createPrng(job.seed ^ hashString(utt));
  const path = prng.pick(job.noiseWavs);
  let noise = ctx.noiseCache.get(path);
  if (!noise) {
    noise = await loadAudio(path, { sampleRateHz: SAMPLE_RATE_HZ });
    if (ctx.noiseCache.size > 64) ctx.noiseCache.clear();
    ctx.noiseCache.set(path, noise);
  }
  return addNoise(y, noise, { prob: job.noise.prob, chunkSamples: Math.round(job.noise.chunkS * SAMPLE_RATE_HZ) }, prng)
    .samples;
}
