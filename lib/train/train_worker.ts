/**
 * Worker entry of {@linkcode createTrainPool} when running from source (a bundle is its own entry: see `tasks/cli.ts`).
 *
 * @module
 */
import { serveTrainJobs } from "./train_serve.ts";

serveTrainJobs();
