// deno-lint-ignore-file no-console
/**
 * `deno task synth <dir>`: writes the built-in synthetic covers data set: N works x K versions as 16 kHz
 * mono wav files in `<dir>/wav/`, plus `<dir>/dataset.txt` and a commented data `<dir>/hparams.yaml`,
 * ready for `deno task extract <dir>`. Deterministic: the same flags give the same files.
 *
 * Usage: `deno task synth <dir> [--works N] [--versions K] [--seconds S] [--seed X]`
 * Permissions: `--allow-read --allow-write=<dir>` (writes are atomic: temp file + rename).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writeSynthDataset } from "../lib/data/synth_dataset.ts";

/** Usage text. */
export const USAGE = `Usage: deno task synth <dir> [--works N] [--versions K] [--seconds S] [--seed X]

Writes a synthetic covers data set into <dir>: N works x K versions (version 0 is the "original"; the
others change key, tempo, instruments, arrangement, form, excerpt, room and noise) as 16 kHz mono wav
files in <dir>/wav/, plus <dir>/dataset.txt and <dir>/hparams.yaml. Deterministic.

Options:
  --works N      number of works (default 12)
  --versions K   versions per work (default 4)
  --seconds S    length of each version in seconds (default 30)
  --seed X       generator seed, 0..4294967295 (default 1)
  -h, --help     show this help`;

/** Flags (the docs test checks docs/cli.md against these). */
export const OPTIONS = {
  works: { type: "string", default: "12" },
  versions: { type: "string", default: "4" },
  seconds: { type: "string", default: "30" },
  seed: { type: "string", default: "1" },
  help: { type: "boolean", short: "h", default: false },
} as const;

function intOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`--${name} must be an integer in [${min}, ${max}]: got '${text}'`);
  }
  return n;
}

function secondsOption(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0 || n > 3600) {
    throw new RangeError(`--seconds must be a number in (0, 3600]: got '${text}'`);
  }
  return n;
}

/** Runs the task; returns the exit code (0 ok, 2 usage error). Write failures throw. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  let options;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      console.log(USAGE);
      return 0;
    }
    if (parsed.positionals.length !== 1) {
      throw new RangeError(`expected exactly one <dir>, got ${parsed.positionals.length}`);
    }
    options = {
      works: intOption("works", parsed.values.works, 1, 10000),
      versions: intOption("versions", parsed.values.versions, 1, 100),
      seconds: secondsOption(parsed.values.seconds),
      seed: intOption("seed", parsed.values.seed, 0, 0xffffffff),
    };
  } catch (e) {
    // parseArgs throws TypeError for unknown flags and missing values; validation throws RangeError.
    if (e instanceof TypeError || e instanceof RangeError) {
      console.error(`error: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const dir = parsed.positionals[0]!;
  const { works, versions, seconds, seed } = options;
  console.log(`synth: ${works} works x ${versions} versions x ${seconds} s (seed ${seed}) into ${dir}`);
  const t0 = performance.now();
  const width = String(works * versions).length;
  const result = await writeSynthDataset(dir, options, (done, total, entry) => {
    console.log(`  [${String(done).padStart(width)}/${total}] ${entry.utt}  ${entry.version}`);
  });
  const timeS = (performance.now() - t0) / 1000;
  console.log(
    `synth: wrote ${result.entries.length} wav files, dataset.txt and hparams.yaml (${result.files.length} files) ` +
      `in ${dir}: ${result.totalSeconds.toFixed(0)} s of audio (${(result.totalSeconds / 60).toFixed(1)} min) ` +
      `in ${timeS.toFixed(1)} s (${(result.totalSeconds / timeS).toFixed(0)}x real time)`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
