import type { ChildProcess } from 'node:child_process';

/** Pauses for pacing only (load and fault rhythm); correctness always polls with {@link waitFor}. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Errors of the probe that end the wait at once (the others count as "not yet"). */
  rethrow?: (err: unknown) => boolean;
}

/**
 * Polls `probe` until it returns a value other than `undefined`, or fails after `timeoutMs` with
 * `what` and the probe's last error — generous timeouts, since the machine may be loaded.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  opts: WaitOptions,
): Promise<T> {
  const until = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (opts.rethrow?.(err)) throw err;
      lastError = err;
    }
    if (Date.now() > until) {
      const cause =
        lastError === undefined ? '' : ` (last error: ${(lastError as Error).message ?? lastError})`;
      throw new Error(`timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${what}${cause}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

/** Resolves with the exit code (null when killed by a signal) once the process has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** The last `limit` characters of a process's output, for diagnostics when something fails. */
export class TailBuffer {
  private chunks: string[] = [];
  private size = 0;

  constructor(private readonly limit = 64 * 1024) {}

  push(text: string): void {
    this.chunks.push(text);
    this.size += text.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    return this.chunks.join('');
  }
}
