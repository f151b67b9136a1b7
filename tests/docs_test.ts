// Documentation is part of the product: the documented keys and flags must be the ones the code accepts.
import { assertEquals } from "./_assert.ts";
import { schemaKeyPaths } from "../lib/io/hparams.ts";
import { DATA_HPARAMS_SCHEMA } from "../lib/data/data_hparams.ts";
import { COMMANDS } from "../tasks/cli.ts";
import { TESTSET_SCHEMA, TRAIN_HPARAMS_SCHEMA } from "../lib/train/train_hparams.ts";

const read = (p: string) => Deno.readTextFileSync(new URL(`../${p}`, import.meta.url));

function section(md: string, heading: string): string {
  const start = md.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`section '${heading}' not found`);
  const rest = md.slice(start + heading.length + 2);
  const end = rest.search(heading.startsWith("### ") ? /\n#{1,3} / : /\n#{1,2} /);
  return end < 0 ? rest : rest.slice(0, end);
}

Deno.test("docs/hparams.md documents exactly the data hparams keys extract accepts", () => {
  const table = section(read("docs/hparams.md"), "## Data hparams: `data/<set>/hparams.yaml` (read by `extract`)");
  const documented = [...table.matchAll(/^\| `([a-z_.]+)` *\|/gm)].map((m) => m[1]);
  assertEquals(documented, schemaKeyPaths(DATA_HPARAMS_SCHEMA));
});

Deno.test("docs/hparams.md documents exactly the training hparams keys and test-set keys train accepts", () => {
  const md = read("docs/hparams.md");
  const train = section(md, "## Training hparams: `egs/<set>/config/hparams.yaml` (read by `train`)");
  const keys = (t: string) => [...t.matchAll(/^\| `([a-z_.0-9<>]+)` *\|/gm)].map((m) => m[1]);
  assertEquals(keys(train.split("### Test sets")[0]!), schemaKeyPaths(TRAIN_HPARAMS_SCHEMA));
  assertEquals(keys(section(md, "### Test sets")), schemaKeyPaths(TESTSET_SCHEMA, "<set>."));
});

Deno.test("docs/cli.md documents exactly each command's flags", async () => {
  const md = read("docs/cli.md");
  for (const [name, cmd] of Object.entries(COMMANDS)) {
    const mod = await cmd.load() as { OPTIONS?: Record<string, unknown> };
    const documented = [...section(md, `## ${name}`).matchAll(/^\| `--([a-z_-]+)` *\|/gm)].map((m) => m[1]).sort();
    assertEquals(documented, Object.keys(mod.OPTIONS ?? {}).sort(), `flags of '${name}'`);
  }
});

Deno.test("the shipped data configs load with the documented schema", async () => {
  const { loadDataConfig } = await import("../lib/data/data_hparams.ts");
  for (const set of ["covers80", "covers80_testset"]) {
    await loadDataConfig(new URL(`../data/${set}/hparams.yaml`, import.meta.url).pathname);
  }
});
