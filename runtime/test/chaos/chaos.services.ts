import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, sleep, TailBuffer, waitFor } from './chaos.wait.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const serviceMain = path.join(repoRoot, 'runtime/src/service.main.ts');

/** How one service process is started: `service.main.ts <name>` with this environment. */
export interface ServiceSpec {
  name: string;
  port: number;
  env: Record<string, string>;
}

/** What the supervisor saw happen to one service. */
export interface ServiceRecord {
  starts: number;
  sigkills: number;
  pauses: number;
  /** Exits nobody asked for (a crash); the supervisor starts the process again, like an orchestrator. */
  unexpectedExits: number;
}

/**
 * The distributed runtime's processes, one per service, as an orchestrator would run them: a
 * process that exits on its own is started again (and counted), a killed one is restarted by the
 * fault that killed it.
 */
export interface ServiceFleet {
  readonly names: readonly string[];
  url(name: string): string;
  startAll(): Promise<void>;
  /**
   * Waits until every named service (default: all but the paused ones) is ready (`/ready` 200);
   * resolves with how long each took.
   */
  waitReady(opts: { timeoutMs: number; names?: readonly string[] }): Promise<Record<string, number>>;
  /** SIGKILL, wait for the exit, start again (readiness is the caller's to wait for). */
  killAndRestart(name: string): Promise<void>;
  pause(name: string): void;
  resume(name: string): void;
  isPaused(name: string): boolean;
  /** `assetops_inbox_duplicates_total` of the running process (redeliveries its inbox dropped). */
  inboxDuplicates(name: string): Promise<number>;
  records(): Record<string, ServiceRecord>;
  output(name: string): string;
  /** The first distinct errors of its failed requests (5xx), across its restarts. */
  errors(name: string): string[];
  stopAll(): Promise<void>;
  /** Synchronous last resort when the test process exits. */
  killAllNow(): void;
}

interface Running {
  spec: ServiceSpec;
  child: ChildProcess | undefined;
  /** Set before a deliberate kill, so the exit is not mistaken for a crash. */
  expectExit: boolean;
  paused: boolean;
  record: ServiceRecord;
  log: TailBuffer;
  /** The first distinct errors of its failed requests (5xx), across its restarts. */
  errors: string[];
}

export function createServiceFleet(
  specs: readonly ServiceSpec[],
  opts: { logLevel?: string } = {},
): ServiceFleet {
  const services = new Map<string, Running>(
    specs.map((spec) => [
      spec.name,
      {
        spec,
        child: undefined,
        expectExit: false,
        paused: false,
        record: { starts: 0, sigkills: 0, pauses: 0, unexpectedExits: 0 },
        log: new TailBuffer(),
        errors: [],
      },
    ]),
  );
  let stopping = false;

  const get = (name: string): Running => {
    const service = services.get(name);
    if (!service) throw new Error(`no service '${name}' in the chaos fleet`);
    return service;
  };
  const url = (name: string) => `http://127.0.0.1:${get(name).spec.port}`;

  function start(service: Running): void {
    const { spec } = service;
    const child = spawn(process.execPath, ['--import', 'tsx', serviceMain, spec.name], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: opts.logLevel ?? 'warn', ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk) => {
      service.log.push(String(chunk));
      noteErrors(service.errors, String(chunk));
    });
    child.stderr?.on('data', (chunk) => service.log.push(String(chunk)));
    service.child = child;
    service.expectExit = false;
    service.paused = false;
    service.record.starts++;
    child.once('exit', (code, signal) => {
      if (service.child !== child) return;
      service.child = undefined;
      if (service.expectExit || stopping) return;
      // A crash (or a start refused while PostgreSQL or NATS was down): start it again, as
      // Kubernetes or systemd would, after a short back-off.
      service.record.unexpectedExits++;
      service.log.push(
        `[chaos] ${spec.name} exited on its own (code ${code}, signal ${signal}); restarting\n`,
      );
      setTimeout(() => {
        if (!stopping && service.child === undefined) start(service);
      }, 1000);
    });
  }

  async function ready(name: string): Promise<boolean> {
    // The gateway's /ready asks every upstream, so it fails while one is paused: its own /health
    // tells that it serves, and each upstream's readiness is checked on its own.
    const probe = name === 'gateway' ? '/health' : '/ready';
    const res = await fetch(`${url(name)}${probe}`, { signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.status === 200;
  }

  async function terminate(service: Running, signal: NodeJS.Signals): Promise<void> {
    const child = service.child;
    if (!child) return;
    service.expectExit = true;
    if (service.paused) child.kill('SIGCONT');
    child.kill(signal);
    const outcome = await Promise.race([exited(child), sleep(15_000).then(() => 'timeout' as const)]);
    if (outcome === 'timeout') {
      child.kill('SIGKILL');
      await exited(child);
    }
    service.paused = false;
  }

  return {
    names: specs.map((s) => s.name),
    url,
    async startAll() {
      for (const service of services.values()) start(service);
    },
    async waitReady({ timeoutMs, names }) {
      const wanted = (names ?? [...services.keys()]).filter((name) => !get(name).paused);
      const since = Date.now();
      const took: Record<string, number> = {};
      await Promise.all(
        wanted.map((name) =>
          waitFor(async () => ((await ready(name)) ? true : undefined), `${name} to be ready`, {
            timeoutMs,
            intervalMs: 200,
          }).then(
            () => {
              took[name] = Date.now() - since;
            },
            (err: Error) => {
              throw new Error(
                `${err.message}\n--- ${name} output (tail) ---\n${get(name).log.text().slice(-4000)}`,
              );
            },
          ),
        ),
      );
      return took;
    },
    async killAndRestart(name) {
      const service = get(name);
      service.record.sigkills++;
      await terminate(service, 'SIGKILL');
      start(service);
    },
    pause(name) {
      const service = get(name);
      if (!service.child || service.paused) throw new Error(`cannot pause ${name}: not running or paused`);
      service.child.kill('SIGSTOP');
      service.paused = true;
      service.record.pauses++;
    },
    resume(name) {
      const service = get(name);
      if (!service.paused) return;
      service.child?.kill('SIGCONT');
      service.paused = false;
    },
    isPaused: (name) => get(name).paused,
    async inboxDuplicates(name) {
      const res = await fetch(`${url(name)}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      let total = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith('assetops_inbox_duplicates_total')) continue;
        total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
      }
      return total;
    },
    records: () => Object.fromEntries([...services].map(([name, s]) => [name, { ...s.record }])),
    output: (name) => get(name).log.text(),
    errors: (name) => [...get(name).errors],
    async stopAll() {
      stopping = true;
      await Promise.all([...services.values()].map((service) => terminate(service, 'SIGKILL')));
    },
    killAllNow() {
      stopping = true;
      for (const service of services.values()) {
        service.child?.kill('SIGKILL');
      }
    },
  };
}

/** Keeps the first 10 distinct errors of failed requests in the JSON log lines of `chunk`. */
function noteErrors(errors: string[], chunk: string): void {
  for (const line of chunk.split('\n')) {
    if (errors.length >= 10 || !line.includes('"level":')) continue;
    try {
      const entry = JSON.parse(line) as {
        level?: number;
        msg?: string;
        err?: { message?: string; code?: string };
      };
      // Failed requests only (500s and 503s): the rest is the expected noise of the faults.
      if ((entry.level ?? 0) < 50 || entry.msg !== 'request failed') continue;
      const text = `${entry.msg ?? ''}${entry.err ? `: ${entry.err.message ?? ''}${entry.err.code ? ` (${entry.err.code})` : ''}` : ''}`;
      if (!errors.includes(text)) errors.push(text);
    } catch {
      // a partial line (split across chunks) or not JSON
    }
  }
}
