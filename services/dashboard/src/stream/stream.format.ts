/**
 * One Server-Sent Events message. `data` is JSON on a single line (JSON.stringify escapes line
 * breaks inside strings), so it needs no splitting into several `data:` lines.
 *
 * @example
 * sseMessage({ event: 'asset', id: 42, data: asset }); // 'event: asset\nid: 42\ndata: {…}\n\n'
 */
export function sseMessage(message: { event: string; id?: number | undefined; data: unknown }): string {
  const id = message.id === undefined ? '' : `id: ${message.id}\n`;
  return `event: ${message.event}\n${id}data: ${JSON.stringify(message.data)}\n\n`;
}

/** A comment line: ignored by clients, keeps proxies and load balancers from closing an idle stream. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** The position a reconnecting client last saw (`Last-Event-ID`), or undefined when absent or not ours. */
export function parseLastEventId(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/**
 * Coalesces bursts into at most one run per `intervalMs`: `request()` runs `task` at once when the
 * last run is long enough ago, else once at the end of the interval, however often it is asked.
 */
export class Throttle {
  private timer: NodeJS.Timeout | undefined;
  private lastRunAt = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  request(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastRunAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastRunAt = this.now();
      this.running = this.task().finally(() => {
        this.running = undefined;
      });
    }, wait);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }
}
