/**
 * A minimal request/response channel between a benchmark's coordinator and its client threads, so
 * that load generation runs on its own event loops (and may use the other core) instead of
 * competing with the coordinator's timers.
 */
import { parentPort, Worker } from 'node:worker_threads';

type Handlers = Record<string, (args: never) => unknown>;

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}

type Response = { id: number; result: unknown } | { id: number; error: string };

/** Serves `handlers` to the coordinator (call once, in the worker thread). */
export function serve(handlers: Handlers): void {
  const port = parentPort;
  if (!port) throw new Error('serve() runs in a worker thread');
  port.on('message', async (request: Request) => {
    try {
      const handler = handlers[request.cmd];
      if (!handler) throw new Error(`unknown command ${request.cmd}`);
      const result = await handler(request.args as never);
      port.postMessage({ id: request.id, result } satisfies Response);
    } catch (err) {
      port.postMessage({ id: request.id, error: (err as Error).stack ?? String(err) } satisfies Response);
    }
  });
}

/** The coordinator's side: starts a thread running a TypeScript file and calls its commands. */
export class BenchThread {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(file: URL, workerData: unknown) {
    // A worker does not inherit tsx's loader: a tiny bootstrap registers it, then imports the
    // TypeScript entry point.
    const bootstrap =
      `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};` +
      `register(); await import(${JSON.stringify(file.href)});`;
    this.worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
      workerData,
    });
    this.worker.on('message', (response: Response) => {
      const waiter = this.pending.get(response.id);
      if (!waiter) return;
      this.pending.delete(response.id);
      if ('error' in response) waiter.reject(new Error(response.error));
      else waiter.resolve(response.result);
    });
    this.worker.on('error', (err) => {
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    });
  }

  call<T>(cmd: string, args?: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, cmd, args } satisfies Request);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
