/**
 * Starting the worker threads that hold a copy of the model (embedding and training pools): each gets one init
 * message, answers "ready" or an error, then answers requests by id.
 *
 * @module
 */
import { initBackend } from "./backend.ts";
import type { ModelConfig } from "./config.ts";
import { type ModelParams, paramsFromTensors } from "./params.ts";
import type { TensorMap } from "./safetensors.ts";

/**
 * A worker's entry: `entry` beside `moduleUrl` when running from source; inside a single-file bundle (where every
 * module's URL is the bundle's), the bundle itself, whose entry serves the job its first message names.
 *
 * @param moduleUrl the pool module's `import.meta.url`
 * @param moduleFile that module's file name (e.g. `embed_pool.ts`)
 * @param entry the worker entry's file name, in the same folder
 */
export function workerUrl(moduleUrl: string, moduleFile: string, entry: string): URL {
  const here = new URL(moduleUrl);
  return here.pathname.endsWith(`/${moduleFile}`) ? new URL(`./${entry}`, here) : here;
}

/** Replies every model worker may send besides its own: ready, and an error (id -1 during init). */
type Reply = { type: string; id?: number; message?: string };

/**
 * Starts `count` module workers and sends each `init`.
 *
 * @param o `ready` and `error`: the reply types of a worker that loaded the model or failed (`id` -1 during init, else
 *   the request's); `what` names the workers in errors; `onReply` gets every other reply; `onFail` gets an error that
 *   ends a worker, so that the caller can fail what is pending
 * @returns the workers, once each answered `ready`
 * @throws {Error} when a worker fails to start or to load the model (the workers are terminated)
 */
export async function startModelWorkers<Init, R extends Reply>(
  url: URL,
  count: number,
  init: Init,
  o: {
    ready: string;
    error: string;
    what: string;
    onReply: (w: Worker, m: R) => void;
    onFail: (e: Error) => void;
  },
): Promise<Worker[]> {
  const workers: Worker[] = [];
  const started: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const w = new Worker(url, { type: "module" });
    workers.push(w);
    started.push(
      new Promise<void>((resolve, reject) => {
        w.onerror = (ev) => {
          ev.preventDefault();
          const err = new Error(`${o.what} failed: ${ev.message}`);
          reject(err);
          o.onFail(err);
        };
        w.onmessage = (ev: MessageEvent<R>) => {
          const m = ev.data;
          if (m.type === o.ready) resolve();
          else if (m.type === o.error && m.id === -1) reject(new Error(`${o.what}: ${m.message}`));
          else o.onReply(w, m);
        };
      }),
    );
    w.postMessage(init);
  }
  try {
    await Promise.all(started);
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }
  return workers;
}

/**
 * The worker side of {@linkcode startModelWorkers}: starts the backend and loads the model from the init message, then
 * answers ready, or the error (which the pool reports with id -1).
 *
 * @returns the model, for the requests that follow (they await it; a failed load fails them too)
 */
export function loadWorkerModel(
  init: { backend: "cpu" | "wasm"; config: ModelConfig; tensors: TensorMap },
  answer: { ready: () => void; error: (message: string) => void },
): Promise<ModelParams> {
  const params = initBackend(init.backend).then(() => paramsFromTensors(init.tensors, init.config));
  params.then(answer.ready, (e) => answer.error((e as Error).message));
  return params;
}
