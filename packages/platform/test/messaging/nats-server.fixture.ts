import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isReachable } from '../../src/testkit/index.js';
import { waitFor } from './backbone.harness.js';

/**
 * A private `nats-server` with JetStream on a free port and a temporary store, which a test may
 * stop and start again (the shared server of the machine is never touched).
 */
export interface PrivateNatsServer {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a `nats-server` binary can be run here. */
export async function natsServerBinaryAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = spawn('nats-server', ['--version'], { stdio: 'ignore' });
    probe.once('error', () => resolve(false));
    probe.once('exit', (code) => resolve(code === 0));
  });
}

export async function startPrivateNatsServer(): Promise<PrivateNatsServer> {
  const port = await freePort();
  const storeDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const server: PrivateNatsServer = {
    url,
    async start() {
      child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
        stdio: 'ignore',
      });
      await waitFor(() => isReachable(url, port, 200), { timeoutMs: 10_000, what: 'nats-server to listen' });
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
    async dispose() {
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
