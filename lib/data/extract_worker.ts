/**
 * Worker entry for {@linkcode createJobRunner}: holds one front end (the CQT kernel is built once per
 * worker) and answers each job with its result.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type JobContext, runExtractJob } from "./extract_job.ts";
import { createFrontEnd } from "../features/front_end.ts";
import type { WorkerRequest } from "./job_runner.ts";

let ctx: Promise<JobContext> | undefined;

self.onmessage = async (ev: MessageEvent<WorkerRequest>) => {
  const msg = ev.data;
  if (msg.type === "init") {
    ctx = createFrontEnd(msg.frontEnd).then((frontEnd) => ({ frontEnd, noiseCache: new Map() }));
    return;
  }
  if (!ctx) throw new Error("extract worker: job before init");
  self.postMessage(await runExtractJob(msg.job, await ctx));
};
