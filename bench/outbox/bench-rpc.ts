import { parentPort, Worker } from 'node:worker_threads';
import { createLogger, createNatsBus, createPool } from '@assetops/platform';

/** What every benchmark service thread connects to. */
export interface ServiceThreadSettings {
  databaseUrl: string;
  natsUrl: string;
  streamPrefix: string;
}

/** The logger, pool and NATS bus of one benchmark service thread. */
export async function connectServiceThread(settings: ServiceThreadSettings, name: string, poolSize: number) {
  const logger = createLogger({ service: name, level: process.env.LOG_LEVEL ?? 'warn' });
  const pool = createPool({ connectionString: settings.databaseUrl, applicationName: name, max: poolSize });
  const bus = await createNatsBus({
    servers: settings.natsUrl,
    name,
    logger,
    streamPrefix: settings.streamPrefix,
  });
  return { logger, pool, bus };
}

/**
 * A minimal request/response channel between the benchmark's coordinator and its service threads:
 * each service (producer + relay, consumer) runs on its own thread with its own event loop, as it
 * would in its own process, so that one does not delay the other's I/O callbacks.
 */
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

/** The coordinator's side: starts a service thread and calls its commands. */
export class ServiceThread {
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
