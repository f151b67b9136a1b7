/**
 * CoverHunter-TS: cover song identification (CoverHunter, Liu et al., ICME 2023) in TypeScript
 * for Deno, with WebGPU compute. This module is the public API; the command-line tasks in
 * `tasks/` are thin wrappers over it.
 *
 * @example
 * ```ts ignore
 * import { createFrontEnd, loadAudio } from "./mod.ts";
 * const frontEnd = await createFrontEnd({ kind: "pycqt", fmin: 32, nBins: 96, binsPerOctave: 12 });
 * const [feat] = await frontEnd.computeMany([await loadAudio("song.mp3", { sampleRateHz: 16000 })]); // (T, 96) dB
 * frontEnd.close();
 * ```
 *
 * @module
 */
export * from "./lib/io/npy.ts";
export * from "./lib/io/lines.ts";
export * from "./lib/io/hparams.ts";
export * from "./lib/io/atomic.ts";
export * from "./lib/io/read_text.ts";
export * from "./lib/audio/decode.ts";
export * from "./lib/audio/mix.ts";
export * from "./lib/audio/normalize.ts";
export * from "./lib/audio/load.ts";
export * from "./lib/audio/resample.ts";
export * from "./lib/audio/tempo.ts";
export * from "./lib/audio/noise.ts";
export * from "./lib/audio/wav.ts";
export * from "./lib/features/cqt_kernel.ts";
export * from "./lib/features/cqt.ts";
export * from "./lib/features/shorter.ts";
export * from "./lib/features/nnaudio_cqt.ts";
export * from "./lib/features/front_end.ts";
export * from "./lib/data/prng.ts";
export * from "./lib/data/dataset.ts";
export * from "./lib/data/data_hparams.ts";
export * from "./lib/data/song_ids.ts";
export * from "./lib/data/split.ts";
export * from "./lib/data/extract.ts";
export * from "./lib/data/extract_job.ts";
export * from "./lib/data/job_runner.ts";
export * from "./lib/data/synth.ts";
export * from "./lib/data/synth_dataset.ts";
export * from "./lib/eval/map.ts";
export * from "./lib/eval/chroma_baseline.ts";
export * from "./lib/gpu/device.ts";
export * from "./lib/gpu/select.ts";
export * from "./lib/eval/chunks.ts";
export * from "./lib/eval/distance.ts";
export * from "./lib/eval/evaluate.ts";
export * from "./lib/eval/bootstrap.ts";
export * from "./lib/eval/align.ts";
export * from "./lib/eval/wav_features.ts";
export * from "./lib/search/exact.ts";
export * from "./lib/search/search_webgpu.ts";
export * from "./lib/search/index_file.ts";
export * from "./lib/search/identify.ts";
export * from "./lib/search/export.ts";
export * from "./lib/search/reference_set.ts";
export * from "./lib/report/report.ts";
export * from "./lib/report/html.ts";
