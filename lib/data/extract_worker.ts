/**
 * Worker entry of {@linkcode createJobRunner} when running from source (a bundle is its own entry:
 * see `tasks/cli.ts`).
 *
 * @module
 */
import { serveExtractJobs } from "./extract_serve.ts";

serveExtractJobs();
