// Download progress: a live block of per-layer lines on a TTY, plain lines otherwise, nothing with --quiet.

export interface ProgressEvent {
  digest: string;
  size: number;
  received: number;
  cached: boolean;
}

const units = ["B", "KiB", "MiB", "GiB"];
export function bytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

interface Layer {
  size: number;
  received: number;
  started: number;
  cached: boolean;
  lastPlainQuarter: number;
}

export class PullProgress {
  private readonly layers = new Map<string, Layer>();
  private drawn = 0;
  private lastDraw = 0;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly label: string,
    private readonly quiet = false,
  ) {}

  update = (e: ProgressEvent): void => {
    if (this.quiet) return;
    let layer = this.layers.get(e.digest);
    if (!layer) {
      layer = { size: e.size, received: 0, started: Date.now(), cached: e.cached, lastPlainQuarter: -1 };
      this.layers.set(e.digest, layer);
    }
    layer.received = e.received;
    if (this.out.isTTY) this.draw(false);
    else this.plain(e.digest, layer);
  };

  done(summary: string): void {
    if (this.quiet) return;
    if (this.out.isTTY) this.draw(true);
    this.out.write(`${this.label}: ${summary}\n`);
  }

  private line(digest: string, l: Layer): string {
    const short = digest.slice("sha256:".length, "sha256:".length + 12);
    if (l.cached) return `  ${short}  cached (${bytes(l.size)})`;
    const secs = Math.max((Date.now() - l.started) / 1000, 0.001);
    const pct = l.size > 0 ? Math.floor((100 * l.received) / l.size) : 100;
    return `  ${short}  ${bytes(l.received)} / ${bytes(l.size)}  ${String(pct).padStart(3)}%  ${bytes(l.received / secs)}/s`;
  }

  private plain(digest: string, l: Layer): void {
    const quarter = l.cached ? 4 : Math.floor((4 * l.received) / Math.max(l.size, 1));
    if (quarter === l.lastPlainQuarter) return;
    l.lastPlainQuarter = quarter;
    this.out.write(`${this.label}:${this.line(digest, l)}\n`);
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const lines = [...this.layers].map(([d, l]) => this.line(d, l));
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    this.out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
    this.drawn = lines.length;
  }
}
