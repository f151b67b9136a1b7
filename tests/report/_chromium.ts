/**
 * Headless Chromium for page tests, driven over the DevTools protocol through a pipe
 * (`--remote-debugging-pipe`: Chromium reads commands on fd 3 and writes replies on fd 4, each a JSON message
 * ended by a NUL byte), so the test needs `--allow-run` but no network permission. A `bash` wrapper maps the
 * child's stdin/stdout pipes onto fds 3 and 4.
 *
 * @module
 */
import { join } from "node:path";

/** Where Chromium is: `$CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on PATH; null if none. */
export function findChromium(): string | null {
  const explicit = Deno.env.get("CHROMIUM");
  if (explicit) return explicit;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
      const path = join(dir, name);
      try {
        if (Deno.statSync(path).isFile) return path;
      } catch {
        // not in this folder
      }
    }
  }
  return null;
}

/** `promise`'s value, or false after `ms` milliseconds (the timer is cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | false> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<false>((r) => (timer = setTimeout(r, ms, false)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a page did while it loaded. */
export interface PageInspection {
  /** Console errors, uncaught exceptions and browser log errors (failed loads, CSP refusals), one line each. */
  errors: string[];
  /** The value of the evaluated expression (`returnByValue`). */
  value: unknown;
  /** A PNG screenshot of the viewport. */
  screenshot: Uint8Array;
}

/** Options of {@linkcode inspectPage}. */
export interface InspectOptions {
  /** Viewport width in CSS pixels. */
  width: number;
  /** Viewport height in CSS pixels. */
  height: number;
  /** A JavaScript expression evaluated in the page after load (may return a promise). */
  expression: string;
  /** Give up after this many milliseconds. */
  timeoutMs: number;
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/**
 * Loads `url` in a fresh headless Chromium and reports console errors, an evaluated value and a screenshot.
 *
 * @param chromium the browser executable
 * @param url the page (e.g. a `file://` URL)
 * @param options viewport, expression, time limit
 * @throws {Error} when the browser fails to start, answers with an error, or runs past the time limit (the
 *   message carries the end of its stderr)
 */
export async function inspectPage(chromium: string, url: string, options: InspectOptions): Promise<PageInspection> {
  const profile = await Deno.makeTempDir({ prefix: "report_chromium_" });
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      'exec "$0" "$@" 3<&0 4>&1 1>/dev/null 0</dev/null',
      chromium,
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--remote-debugging-pipe",
      `--user-data-dir=${profile}`,
      `--window-size=${options.width},${options.height}`,
      "about:blank",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  const events: Message[] = [];
  const waiters: { method: string; resolve: () => void }[] = [];
  let nextId = 0;
  let stderr = "";
  let closed: Error | null = null;

  // Readers kept by hand so that they can be cancelled if a leftover browser process holds the pipes open.
  const errReader = child.stderr.getReader(), outReader = child.stdout.getReader();
  const stderrDone = (async () => {
    const dec = new TextDecoder();
    for (let r = await errReader.read(); !r.done; r = await errReader.read()) {
      stderr = (stderr + dec.decode(r.value, { stream: true })).slice(-4000);
    }
  })();
  const stdoutDone = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for (let r = await outReader.read(); !r.done; r = await outReader.read()) {
      buf += dec.decode(r.value, { stream: true });
      for (let end = buf.indexOf("\0"); end >= 0; end = buf.indexOf("\0")) {
        const m = JSON.parse(buf.slice(0, end)) as Message;
        buf = buf.slice(end + 1);
        if (m.id !== undefined && pending.has(m.id)) {
          const p = pending.get(m.id)!;
          pending.delete(m.id);
          if (m.error) p.reject(new Error(`DevTools error: ${m.error.message}`));
          else p.resolve(m);
        } else if (m.method) {
          events.push(m);
          for (const w of waiters.filter((x) => x.method === m.method)) w.resolve();
        }
      }
    }
    closed = new Error(`the browser closed its DevTools pipe; stderr: ${stderr.slice(-1500)}`);
    for (const p of pending.values()) p.reject(closed);
    pending.clear();
  })();

  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Message> => {
    if (closed) return Promise.reject(closed);
    const id = ++nextId;
    const reply = new Promise<Message>((resolve, reject) => pending.set(id, { resolve, reject }));
    writer.write(encoder.encode(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0"))
      .catch(() => {});
    return reply;
  };
  const waitFor = (method: string) =>
    events.some((e) => e.method === method)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ method, resolve }));

  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Chromium did not finish within ${options.timeoutMs} ms; stderr: ${stderr.slice(-1500)}`)),
      options.timeoutMs,
    );
  });
  try {
    return await Promise.race([
      deadline,
      (async () => {
        const targets = await send("Target.getTargets");
        const infos = targets.result!.targetInfos as { targetId: string; type: string }[];
        const page = infos.find((t) => t.type === "page");
        if (!page) throw new Error("Chromium opened no page");
        const attached = await send("Target.attachToTarget", { targetId: page.targetId, flatten: true });
        const session = attached.result!.sessionId as string;
        for (const domain of ["Runtime", "Log", "Page"]) await send(`${domain}.enable`, {}, session);
        await send("Emulation.setDeviceMetricsOverride", {
          width: options.width,
          height: options.height,
          deviceScaleFactor: 1,
          mobile: false,
        }, session);
        const loaded = waitFor("Page.loadEventFired");
        const nav = await send("Page.navigate", { url }, session);
        if (nav.result?.errorText) throw new Error(`navigation failed: ${nav.result.errorText}`);
        await loaded;
        const evaluated = await send("Runtime.evaluate", {
          expression: options.expression,
          returnByValue: true,
          awaitPromise: true,
        }, session);
        const ex = evaluated.result!.exceptionDetails as { text?: string; exception?: { description?: string } };
        if (ex) throw new Error(`the expression threw: ${ex.exception?.description ?? ex.text}`);
        const shot = await send("Page.captureScreenshot", { format: "png" }, session);
        const errors: string[] = [];
        for (const e of events) {
          const p = e.params ?? {};
          if (e.method === "Runtime.consoleAPICalled" && ["error", "assert"].includes(p.type as string)) {
            const args = (p.args as { value?: unknown; description?: string }[]).map((a) => a.value ?? a.description);
            errors.push(`console.${p.type}: ${args.join(" ")}`);
          } else if (e.method === "Runtime.exceptionThrown") {
            const d = p.exceptionDetails as { text: string; exception?: { description?: string } };
            errors.push(`uncaught: ${d.exception?.description ?? d.text}`);
          } else if (e.method === "Log.entryAdded") {
            const entry = p.entry as { level: string; text: string; url?: string };
            if (entry.level === "error") errors.push(`log: ${entry.text}${entry.url ? ` (${entry.url})` : ""}`);
          }
        }
        const bytes = Uint8Array.from(atob(shot.result!.data as string), (c) => c.charCodeAt(0));
        return { errors, value: (evaluated.result!.result as { value?: unknown }).value, screenshot: bytes };
      })(),
    ]);
  } finally {
    clearTimeout(timer);
    await within(send("Browser.close"), 3000).catch(() => {});
    await writer.close().catch(() => {});
    if (!(await within(child.status.then(() => true), 5000))) {
      child.kill("SIGKILL");
      await child.status;
    }
    if (!(await within(Promise.all([stdoutDone, stderrDone]).then(() => true), 5000))) {
      await Promise.all([outReader.cancel(), errReader.cancel()]);
      await Promise.all([stdoutDone, stderrDone]).catch(() => {});
    }
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
