// deno-lint-ignore-file no-console -- a one-off script that reports what it wrote.
/**
 * Makes the sox tempo golden files: writes the shared input signal as a float WAV, runs
 * `sox -q in.wav -e floating-point -b 32 tempo_sox_k<k>.wav tempo <k>` for each k, and keeps the outputs.
 * Run from the repository root:
 * `deno run --allow-read --allow-write --allow-run=sox tests/testdata/audio/make_tempo_golden.ts`.
 *
 * @module
 */
import { encodeWav } from "../../../lib/audio/wav.ts";
import { TEMPO_GOLDEN_RATE, tempoGoldenInput } from "../../audio/_tempo_signal.ts";

const dir = new URL(".", import.meta.url).pathname;
const input = `${await Deno.makeTempDir()}/tempo_in.wav`;
await Deno.writeFile(input, encodeWav([tempoGoldenInput()], TEMPO_GOLDEN_RATE, { format: "float32" }));
for (const k of ["0.8", "1.25"]) {
  const out = `${dir}tempo_sox_k${k}.wav`;
  const args = ["-q", input, "-e", "floating-point", "-b", "32", out, "tempo", k];
  const r = await new Deno.Command("sox", { args }).output();
  if (!r.success) throw new Error(`sox ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr)}`);
  console.log(`wrote ${out}`);
}
await Deno.remove(input);
