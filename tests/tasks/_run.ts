/**
 * Runs this repository's tasks in a subprocess, the way a user does, with the permissions that
 * deno.json gives them.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs `deno task <name> ...args` from the repository root; returns exit code and output. */
export async function runTask(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A fresh folder under `data/` (the tasks may only write there); removed by the caller. */
export async function tempDataDir(prefix: string): Promise<string> {
  const rel = `data/.test-${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(ROOT + rel, { recursive: true });
  return rel;
}
