import net from 'node:net';

/**
 * Where tests find their servers. `ASSETOPS_TEST_DATABASE_URL` is a superuser URL (the test
 * global set-up points it at an embedded PostgreSQL when no server is reachable);
 * `ASSETOPS_REQUIRE_SERVERS=1` (CI) turns a missing server into a failure instead of a skip.
 */
export const testEnv = {
  get databaseUrl(): string {
    return process.env.ASSETOPS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  },
  get natsUrl(): string {
    return process.env.ASSETOPS_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
  },
  get mqttUrl(): string {
    return process.env.ASSETOPS_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
  },
  get requireServers(): boolean {
    return process.env.ASSETOPS_REQUIRE_SERVERS === '1' || process.env.ASSETOPS_REQUIRE_SERVERS === 'true';
  },
};

/** Whether something accepts TCP connections at a URL's host and port (within `timeoutMs`). */
export function isReachable(url: string, defaultPort: number, timeoutMs = 1000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether NATS tests can run: true when the server is reachable; when it is not, false — or a
 * thrown error when servers are required, so CI fails instead of silently skipping.
 *
 * @example
 * describe.runIf(await natsAvailable())('on NATS JetStream', () => { … });
 */
export async function natsAvailable(): Promise<boolean> {
  const ok = await isReachable(testEnv.natsUrl, 4222);
  if (!ok && testEnv.requireServers) {
    throw new Error(`NATS is required (ASSETOPS_REQUIRE_SERVERS=1) but not reachable at ${testEnv.natsUrl}`);
  }
  return ok;
}
