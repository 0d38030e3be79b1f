import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { ConfigError, type Logger, type MqttIntake } from '@assetops/platform';
import { Aedes, type AuthenticateError, type Client } from 'aedes';

export interface MqttBrokerOptions {
  /** Listen address (`127.0.0.1`: this machine only). */
  host: string;
  /** 0: any free port. */
  port: number;
  /**
   * The platform's own account (the telemetry service's subscriber): a client logging in with it
   * may publish and subscribe to anything.
   */
  credentials?: { username: string; password: string } | undefined;
  /**
   * Whether a client may connect without a password (then it may do anything). Default: only when
   * no `credentials` are set — the all-in-one runtime decides from `MQTT_ALLOW_ANONYMOUS`.
   */
  allowAnonymous?: boolean | undefined;
  /** Device logins: the password is a device token, checked by the gateway's access control. */
  devices?: MqttDeviceAuth | undefined;
  /**
   * Topics whose messages go to a service in this process before they are acknowledged (see
   * `intake`): while no handler is attached for one, its messages are refused (the device is
   * disconnected and sends them again), never acknowledged and dropped.
   */
  intakeTopics?: readonly string[] | undefined;
  logger?: Logger | undefined;
}

/**
 * How the broker checks devices (the gateway's `mqttLogin` / `mqttMayPublish`, bound to its access
 * control). A device may publish only where `mayPublish` says, and subscribe to nothing.
 */
export interface MqttDeviceAuth {
  login(
    username: string | undefined,
    password: string,
  ): Promise<{ ok: true; session: unknown } | { ok: false; reason: string }>;
  mayPublish(session: unknown, topic: string): Promise<boolean>;
}

/** Client ids of the platform's own clients; a device taking one over would cut the service off. */
const RESERVED_CLIENT_ID_PREFIX = 'assetops-';

/** The all-in-one runtime's MQTT broker for devices. */
export interface EmbeddedMqttBroker {
  /** `mqtt://host:port` to connect to (a loopback address when listening on every interface). */
  url: string;
  port: number;
  /** Where a service of this process takes the messages of the intake topics. */
  intake: MqttIntake;
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
  const allowAnonymous = opts.allowAnonymous ?? credentials === undefined;
  // Who each connected client is; a client absent from the map is the platform's own or anonymous.
  const deviceSessions = new WeakMap<Client, unknown>();
  const refuse = (
    done: (error: AuthenticateError | null, success: boolean | null) => void,
    code: 2 | 4 | 5,
    message: string,
  ) => {
    const error = new Error(message) as AuthenticateError;
    error.returnCode = code;
    done(error, false);
  };
  const intakeTopics = opts.intakeTopics ?? [];
  const handlers = new Map<string, (topic: string, payload: Buffer) => Promise<void>>();
  const intake: MqttIntake = {
    attach(filter, handle) {
      if (handlers.has(filter)) throw new Error(`an intake handler is attached to ${filter} already`);
      handlers.set(filter, handle);
      return () => {
        if (handlers.get(filter) === handle) handlers.delete(filter);
      };
    },
  };
  // The message's handler (after the device's own check): the broker goes on, and acknowledges,
  // once it is done.
  const takeIn = (topic: string, payload: Buffer | string, done: (error: Error | null) => void) => {
    for (const [filter, handle] of handlers) {
      if (!topicMatches(filter, topic)) continue;
      handle(topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload)).then(
        () => done(null),
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
      );
      return;
    }
    if (intakeTopics.some((filter) => topicMatches(filter, topic))) {
      return done(new Error(`nothing takes messages on ${topic} now; send it again later`));
    }
    done(null);
  };
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const secret = password?.toString();
      if (
        credentials &&
        secret !== undefined &&
        same(username ?? '', credentials.username) &&
        same(secret, credentials.password)
      ) {
        return done(null, true);
      }
      if (secret && opts.devices) {
        if (client.id.startsWith(RESERVED_CLIENT_ID_PREFIX)) {
          return refuse(done, 2, `client ids starting with ${RESERVED_CLIENT_ID_PREFIX} are reserved`);
        }
        opts.devices.login(username, secret).then(
          (login) => {
            if (!login.ok) {
              opts.logger?.debug({ clientId: client.id, reason: login.reason }, 'MQTT device login refused');
              return refuse(done, 4, login.reason);
            }
            deviceSessions.set(client, login.session);
            done(null, true);
          },
          (err: unknown) => {
            opts.logger?.error({ err }, 'MQTT device login failed');
            refuse(done, 5, 'the login could not be checked');
          },
        );
        return;
      }
      if (!secret && allowAnonymous) return done(null, true);
      refuse(
        done,
        secret ? 4 : 5,
        secret ? 'bad user name or password' : 'a user name and password are required',
      );
    },
    authorizePublish: (client, packet, done) => {
      const session = client ? deviceSessions.get(client) : undefined;
      if (session === undefined || !opts.devices) return takeIn(packet.topic, packet.payload, done);
      opts.devices.mayPublish(session, packet.topic).then(
        (allowed) =>
          allowed
            ? takeIn(packet.topic, packet.payload, done)
            : done(new Error(`not allowed to publish to ${packet.topic}`)),
        (err: unknown) => done(err as Error),
      );
    },
    authorizeSubscribe: (client, subscription, done) => {
      // Devices send; they do not read anyone's telemetry. `null` is a refused subscription (0x80).
      done(null, deviceSessions.has(client) ? null : subscription);
    },
  });
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
  if (allowAnonymous && !isLoopback(opts.host)) {
    opts.logger?.warn(
      { host: opts.host },
      'the MQTT broker accepts anonymous clients from the network (MQTT_ALLOW_ANONYMOUS=true); devices should log in with device tokens',
    );
  }
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://${connectHost(opts.host)}:${port}`,
    port,
    intake,
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

/**
 * Whether an MQTT topic matches a filter (`+`: one level, `#`: this level and every one below; a
 * shared subscription's `$share/<group>/` prefix is not part of the filter).
 */
export function topicMatches(filter: string, topic: string): boolean {
  const levels = filter.split('/');
  const want = levels[0] === '$share' ? levels.slice(2) : levels;
  const got = topic.split('/');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '#') return true;
    if (i >= got.length) return false;
    if (want[i] !== '+' && want[i] !== got[i]) return false;
  }
  return want.length === got.length;
}

/** Whether a listen address is reachable from this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Where a client on this machine reaches a server listening on `host`. */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
