/**
 * The worker side of {@linkcode createEmbedPool}: one tfjs backend and one copy of the model per worker, answering
 * each batch with its embeddings. Free of side effects, so that a single-file bundle can import it and serve as its
 * own worker entry (see `tasks/cli.ts`).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { ModelConfig } from "./config.ts";
import type { ModelParams } from "./params.ts";
import { loadWorkerModel } from "./_workers.ts";
import type { TensorMap } from "./safetensors.ts";
import { embedBatch } from "../train/train.ts";

/** Messages to an embedding worker. */
export type EmbedWorkerRequest =
  | { type: "embed-init"; backend: "cpu" | "wasm"; config: ModelConfig; tensors: TensorMap }
  | { type: "embed"; id: number; x: Float32Array; shape: [number, number, number] }
  | { type: "embed-close" };

/** Messages from an embedding worker. */
export type EmbedWorkerReply =
  | { type: "embed-ready" }
  | { type: "embedded"; id: number; data: Float32Array }
  | { type: "embed-error"; id: number; message: string }
  | { type: "embed-closed" };

/** Installs the message handler of an embedding worker (call once, inside a worker). */
export function serveEmbedJobs(): void {
  let params: Promise<ModelParams> | undefined;
  const reply = (m: EmbedWorkerReply, transfer: Transferable[] = []) => self.postMessage(m, transfer);
  self.onmessage = async (ev: MessageEvent<EmbedWorkerRequest>) => {
    const msg = ev.data;
    if (msg.type === "embed-init") {
      params = loadWorkerModel(msg, {
        ready: () => reply({ type: "embed-ready" }),
        error: (message) => reply({ type: "embed-error", id: -1, message }),
      });
      return;
    }
    if (msg.type === "embed-close") {
      reply({ type: "embed-closed" });
      return;
    }
    try {
      if (!params) throw new Error("embed worker: batch before init");
      const data = await embedBatch(await params, msg.x, msg.shape);
      reply({ type: "embedded", id: msg.id, data }, [data.buffer as ArrayBuffer]);
    } catch (e) {
      reply({ type: "embed-error", id: msg.id, message: (e as Error).message });
    }
  };
}
