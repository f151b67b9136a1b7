/**
 * Worker entry of {@linkcode createEmbedPool} when running from source (a bundle is its own entry: see `tasks/cli.ts`).
 *
 * @module
 */
import { serveEmbedJobs } from "./embed_serve.ts";

serveEmbedJobs();
