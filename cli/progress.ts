/**
 * Progress bars for long CLI work. On a terminal the bar redraws in place; elsewhere (CI logs,
 * pipes) it prints a plain line at most every `intervalMs` and at the end.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  stream?: NodeJS.WriteStream;
  /** Non-TTY: minimum time between lines. @default 10000 (ms) */
  intervalMs?: number;
  width?: number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly started = Date.now();
  private lastLine = 0;
  private startDone: number | null = null;
  private drawn = false;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
  }

  update(done: number, info = ''): void {
    this.startDone ??= done;
    const now = Date.now();
    const total = Math.max(1, this.o.total);
    const rate = (done - this.startDone) / Math.max(1e-3, (now - this.started) / 1000);
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const pct = Math.min(1, done / total);
    const text = `${this.o.label} ${done}/${this.o.total} ${info}${done < total ? ` ETA ${duration(eta)}` : ` ${duration((now - this.started) / 1000)}`}`;
    if (this.stream.isTTY) {
      const width = this.o.width ?? 24;
      const fill = Math.round(pct * width);
      this.stream.write(`\r\x1b[2K[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${text}`);
      this.drawn = true;
    } else if (done >= total || now - this.lastLine >= (this.o.intervalMs ?? 10_000)) {
      this.stream.write(`${text}\n`);
      this.lastLine = now;
    }
  }

  /** Ends the bar's line so later output starts on a fresh one. */
  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
