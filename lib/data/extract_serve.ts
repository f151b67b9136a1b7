/**
 * The worker side of {@linkcode createJobRunner}: holds one front end (the CQT kernel, and on
 * WebGPU the pipeline, are built once per worker) and answers each job with its result. Kept free
 * of side effects so that a single-file bundle can import it and serve as its own worker entry.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type JobContext, runExtractJob } from "./extract_job.ts";
import { createFrontEnd } from "../features/front_end.ts";
import type { WorkerRequest } from "./job_runner.ts";

/** True inside a Web Worker. */
export function inWorker(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: new () => unknown }).WorkerGlobalScope;
  return scope !== undefined && globalThis instanceof scope;
}

/** Installs the message handler of an extraction worker (call once, inside a worker). */
export function serveExtractJobs(): void {
  let ctx: Promise<JobContext> | undefined;
  self.onmessage = async (ev: MessageEvent<WorkerRequest>) => {
    const msg = ev.data;
    if (msg.type === "init") {
      ctx = createFrontEnd(msg.frontEnd).then((frontEnd) => ({ frontEnd, noiseCache: new Map() }));
      return;
    }
    if (msg.type === "close") {
      if (ctx) (await ctx).frontEnd.close();
      self.postMessage({ closed: true });
      return;
    }
    if (!ctx) throw new Error("extract worker: job before init");
    self.postMessage(await runExtractJob(msg.job, await ctx));
  };
}
