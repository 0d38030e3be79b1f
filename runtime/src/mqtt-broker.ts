import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { ConfigError, type Logger } from '@assetops/platform';
import { Aedes, type AuthenticateError } from 'aedes';

export interface MqttBrokerOptions {
  /** Listen address (`127.0.0.1`: this machine only). */
  host: string;
  /** 0: any free port. */
  port: number;
  /** When set, every client must log in with these (the telemetry service and the devices alike). */
  credentials?: { username: string; password: string } | undefined;
  logger?: Logger | undefined;
}

/** The all-in-one runtime's MQTT broker for devices. */
export interface EmbeddedMqttBroker {
  /** `mqtt://host:port` to connect to (a loopback address when listening on every interface). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts an MQTT broker in this process (aedes: QoS 0/1/2, persistent sessions, kept in memory —
 * a session's queued messages last as long as the process). A port already in use is a
 * configuration problem (`ConfigError` naming MQTT_PORT), not a crash.
 *
 * @example
 * const broker = await startMqttBroker({ host: '127.0.0.1', port: 0 });
 * // …devices publish to `${broker.url}`, topic assetops/<assetId>/telemetry
 * await broker.stop();
 */
export async function startMqttBroker(opts: MqttBrokerOptions): Promise<EmbeddedMqttBroker> {
  const credentials = opts.credentials;
  const broker = await Aedes.createBroker(
    credentials
      ? {
          authenticate: (_client, username, password, done) => {
            if (
              same(username ?? '', credentials.username) &&
              same(password?.toString() ?? '', credentials.password)
            ) {
              return done(null, true);
            }
            const error = new Error('bad user name or password') as AuthenticateError;
            error.returnCode = 4;
            done(error, false);
          },
        }
      : {},
  );
  broker.on('clientError', (client, err) =>
    opts.logger?.debug({ err, clientId: client.id }, 'MQTT client error'),
  );
  const server = net.createServer(broker.handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw listenProblem(err as NodeJS.ErrnoException, opts) ?? err;
  }
  server.on('error', (err) => opts.logger?.error({ err }, 'MQTT broker server error'));
  if (!credentials && !isLoopback(opts.host)) {
    opts.logger?.warn(
      { host: opts.host },
      'the MQTT broker accepts anonymous clients from the network; set MQTT_USERNAME and MQTT_PASSWORD',
    );
  }
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://${connectHost(opts.host)}:${port}`,
    port,
    async stop() {
      // Closing the broker disconnects its clients; only then can the server finish closing.
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listenProblem(err: NodeJS.ErrnoException, opts: MqttBrokerOptions): ConfigError | undefined {
  const where = `${opts.host}:${opts.port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new ConfigError([
        `MQTT_PORT=${opts.port}: the embedded MQTT broker cannot listen on ${where}, the port is in use ` +
          '(another MQTT broker, such as Mosquitto?); set MQTT_PORT to a free port, or 0 for any free port',
      ]);
    case 'EACCES':
      return new ConfigError([
        `MQTT_PORT=${opts.port}: not allowed to listen on ${where}; choose a port above 1023`,
      ]);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ConfigError([`MQTT_HOST=${opts.host}: not an address of this machine`]);
    default:
      return undefined;
  }
}

function same(given: string, expected: string): boolean {
  // Hashes first: equal lengths for timingSafeEqual, and no early exit on a length mismatch.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Where a client on this machine reaches a server listening on `host`. */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
