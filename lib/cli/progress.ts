/**
 * Progress lines for long work: a bar with counts, rate and ETA. Pure formatting; the task decides
 * where it goes (a `\r`-rewritten line on a terminal, one line per step in logs).
 *
 * @module
 */

/** Formats seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** One progress line: `label [#####.....] 12/48 25% 3.1/s ETA 0:12 extra`. */
export function formatProgress(label: string, done: number, total: number, elapsedS: number, extra = ""): string {
  const width = 24;
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const fill = Math.round(frac * width);
  const rate = elapsedS > 0 ? done / elapsedS : 0;
  const eta = rate > 0 ? (total - done) / rate : NaN;
  return `${label} [${"#".repeat(fill)}${".".repeat(width - fill)}] ${done}/${total} ${(frac * 100).toFixed(0)}% ` +
    `${rate.toFixed(1)}/s ETA ${formatDuration(eta)}${extra ? " " + extra : ""}`;
}

/** A line writer that rewrites one line on a terminal and prints at most every `everyS` seconds otherwise. */
export function createProgressWriter(
  write: (text: string) => void,
  isTerminal: boolean,
  everyS = 5,
): { update(line: string, force?: boolean): void; end(): void } {
  let last = -Infinity;
  let open = false;
  return {
    update(line, force = false) {
      const now = performance.now() / 1000;
      if (isTerminal) {
        if (!force && now - last < 0.1) return;
        write(`\r\x1b[2K${line}`);
        open = true;
      } else {
        if (!force && now - last < everyS) return;
        write(line + "\n");
      }
      last = now;
    },
    end() {
      if (open) write("\n");
      open = false;
    },
  };
}
