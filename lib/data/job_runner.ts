/**
 * Runs extraction jobs in this thread or in a pool of Deno Workers (decode + tempo + CQT are CPU
 * bound and independent per recording). Results arrive as each job finishes.
 *
 * @module
 */
import type { JobRunner } from "./extract.ts";
import { type ExtractJob, type JobResult, runExtractJob } from "./extract_job.ts";
import { createFrontEnd, type FrontEnd, type FrontEndOptions } from "../features/front_end.ts";

/** Options of {@linkcode createJobRunner}. */
export interface JobRunnerOptions {
  /** CQT settings. */
  frontEnd: FrontEndOptions;
  /** Worker threads; 0 runs in this thread. @default 0 */
  workers?: number;
}

/** Message from the pool to a worker. */
export type WorkerRequest =
  | { type: "init"; frontEnd: FrontEndOptions }
  | { type: "job"; job: ExtractJob }
  | { type: "close" };

/**
 * The worker entry: `extract_worker.ts` from source; inside a single-file bundle (where this code's URL
 * is the bundle's), the bundle itself, whose entry serves jobs when it finds itself in a worker.
 */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith("/job_runner.ts") ? new URL("./extract_worker.ts", here) : here;
}

/** Creates a runner (see the module doc). */
export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { workers = 0 } = options;
  if (!Number.isInteger(workers) || workers < 0) {
    throw new RangeError(`workers must be an integer >= 0, got ${workers}`);
  }
  if (workers === 0) {
    let frontEnd: Promise<FrontEnd> | undefined;
    return {
      async run(jobs, onResult) {
        frontEnd ??= createFrontEnd(options.frontEnd);
        const ctx = { frontEnd: await frontEnd, noiseCache: new Map<string, Float32Array>() };
        for (const job of jobs) onResult(await runExtractJob(job, ctx));
      },
      async close() {
        if (frontEnd) (await frontEnd).close();
      },
    };
  }
  const pool: Worker[] = [];
  return {
    run(jobs, onResult) {
      return new Promise((resolve, reject) => {
        let next = 0, running = 0;
        const feed = (w: Worker) => {
          if (next >= jobs.length) {
            if (running === 0) resolve();
            return;
          }
          running++;
          w.postMessage({ type: "job", job: jobs[next++]! } satisfies WorkerRequest);
        };
        const n = Math.min(workers, jobs.length);
        if (n === 0) return resolve();
        for (let i = 0; i < n; i++) {
          const w = pool[i] ?? new Worker(workerUrl(), { type: "module" });
          if (!pool[i]) {
            pool[i] = w;
            w.postMessage({ type: "init", frontEnd: options.frontEnd } satisfies WorkerRequest);
          }
          w.onmessage = (ev: MessageEvent<JobResult>) => {
            running--;
            onResult(ev.data);
            feed(w);
          };
          w.onerror = (ev) => {
            ev.preventDefault();
            reject(new Error(`extract worker failed: ${ev.message}`));
          };
          feed(w);
        }
      });
    },
    async close() {
      // Each worker releases its front end (a GPU device torn down by terminate() can crash the
      // process at exit), then goes; a worker that does not answer within 5 s is terminated anyway.
      await Promise.all(pool.map((w) =>
        new Promise<void>((done) => {
          const timer = setTimeout(done, 5000);
          w.onmessage = () => {
            clearTimeout(timer);
            done();
          };
          w.onerror = (ev) => {
            ev.preventDefault();
            clearTimeout(timer);
            done();
          };
          w.postMessage({ type: "close" } satisfies WorkerRequest);
        }).then(() => w.terminate())
      ));
      pool.length = 0;
    },
  };
}
