import {
  type Logger,
  loadConfig,
  type MqttIntake,
  type Pool,
  type RetryPolicy,
  type ServiceContext,
} from '@assetops/platform';
import { connect, type IPublishPacket, type MqttClient } from 'mqtt';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Ingestor } from '../ingest/ingest.js';
import { mqttIngestConfigSpec } from './mqtt.config.js';
import { MqttBatcher, type MqttBatcherMetrics } from './mqtt-batcher.js';
import { parseDeviceMessage, topicRoot } from './mqtt-message.js';

export interface MqttIngestOptions {
  /** `mqtt://host:1883` (also mqtts, ws, wss). */
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** The persistent session's id: stable across restarts, one per instance. */
  clientId: string;
  /** Topic filter, normally `assetops/+/telemetry`. */
  topic: string;
  ingestor: Pick<Ingestor, 'ingest' | 'limits'>;
  pool: Pool;
  logger: Logger;
  metrics?: Registry | undefined;
  maxBatchReadings?: number;
  flushIntervalMs?: number;
  retry?: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>;
  /** How long `start` waits for the first subscription before going on without it (default 5 s). */
  startTimeoutMs?: number;
  /** How long `stop` keeps trying to write what was received (default 10 s). */
  stopTimeoutMs?: number;
}

/** Device telemetry over MQTT, as the service sees it. */
export interface MqttIngest {
  /** Connects and subscribes; waits for the subscription at most `startTimeoutMs`, then goes on retrying. */
  start(): Promise<void>;
  /** Stops reading, writes and acknowledges what was received, then disconnects. */
  stop(): Promise<void>;
  /** Readiness check: resolves while connected and subscribed. */
  ready(): Promise<void>;
}

/**
 * mqtt.js hands received messages to `handleMessage` one at a time, sends the PUBACK when its
 * callback is called, and reads the next message only after that. Holding the callback until the
 * batch commits would make every batch a single message. So the callback is called at once with
 * this error, which (mqtt.js 5, handlers/publish) skips the PUBACK and goes on reading; the PUBACK
 * is sent by `sendPuback` once the message's batch committed. The MQTT ingest tests fail should a
 * new mqtt.js change either behaviour.
 */
const ACK_DEFERRED = new Error('PUBACK deferred until the batch commits');

function sendPuback(client: MqttClient, messageId: number): void {
  // `_sendPacket` is mqtt.js's own way to send a packet (private in its types).
  (client as unknown as { _sendPacket(packet: object, cb: () => void): void })._sendPacket(
    { cmd: 'puback', messageId },
    () => {},
  );
}

/**
 * Subscribes (QoS 1, persistent session) to device telemetry and ingests it in batches: a message
 * is acknowledged only after its readings — and its dead letter, when any of it was rejected — are
 * committed. A message received but not yet acknowledged when the connection drops or the service
 * stops is delivered again by the broker (to the same client id); its readings with a `ts` are then
 * recognised as duplicates.
 */
export function createMqttIngest(opts: MqttIngestOptions): MqttIngest {
  const logger = opts.logger.child({ component: 'mqtt-ingest' });
  const broker = brokerAddress(opts.url);
  const metrics = opts.metrics ? mqttMetrics(opts.metrics, () => batcher?.heldReadings ?? 0) : undefined;

  let client: MqttClient | undefined;
  let batcher: MqttBatcher | undefined;
  let subscribed = false;
  // Message ids belong to one connection: a message is acknowledged only on the connection it came
  // by. After a reconnect the broker sends it again, and the new copy is the one acknowledged.
  let connection = 0;
  let lastError: string | undefined;

  // Topics are <root>/<assetId>/telemetry, the root taken from the subscription filter.
  const root = topicRoot(opts.topic);
  const handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void): void => {
    const deferred = packet.qos > 0 ? ACK_DEFERRED : undefined;
    const mqtt = client;
    // Received while stopping: not acknowledged, so delivered again to the next session.
    if (!mqtt || !batcher) {
      callback(deferred);
      return;
    }
    const { topic, messageId, qos } = packet;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const parsed = parseDeviceMessage(topic, payload, opts.ingestor.limits(), root);
    const receivedOn = connection;
    const room = batcher.add({
      topic,
      payload,
      parsed,
      ack: () => {
        if (qos > 0 && messageId !== undefined && receivedOn === connection && mqtt.connected) {
          sendPuback(mqtt, messageId);
        }
      },
    });
    // A full buffer holds the callback: mqtt.js reads no further message until it is called.
    if (room) void room.then(() => callback(deferred));
    else callback(deferred);
  };

  const subscribe = async (mqtt: MqttClient, onSubscribed: () => void) => {
    try {
      const grants = await mqtt.subscribeAsync(opts.topic, { qos: 1 });
      if (grants.some((g) => g.qos !== 1)) {
        logger.error({ topic: opts.topic, grants }, 'the MQTT broker refused the QoS 1 subscription');
        return;
      }
      subscribed = true;
      metrics?.connected.set(1);
      logger.info({ broker, topic: opts.topic, clientId: opts.clientId }, 'subscribed to device telemetry');
      onSubscribed();
    } catch (err) {
      // The connection dropped before the SUBACK; the next connection subscribes again.
      logger.warn({ err, topic: opts.topic }, 'MQTT subscription failed');
    }
  };

  return {
    async start() {
      if (client) return;
      batcher = batcherOf(opts, logger, metrics);
      const mqtt = connect(opts.url, {
        clientId: opts.clientId,
        clean: false,
        protocolVersion: 4,
        ...(opts.username === undefined ? {} : { username: opts.username }),
        ...(opts.password === undefined ? {} : { password: opts.password }),
        keepalive: 30,
        connectTimeout: 10_000,
        reconnectPeriod: 1000,
        reconnectOnConnackError: true,
        // The subscription is renewed below, when needed, not replayed by mqtt.js on reconnect.
        resubscribe: false,
      });
      client = mqtt;
      mqtt.handleMessage = handleMessage;
      // Whether this start's subscription was confirmed (SUBACK) on some connection.
      let renewed = false;
      let inTime = (_: boolean) => {};
      const subscribedInTime = new Promise<boolean>((resolve) => {
        inTime = resolve;
      });
      const onSubscribed = () => {
        renewed = true;
        inTime(true);
      };
      mqtt.on('connect', (connack) => {
        connection++;
        lastError = undefined;
        // A session the broker kept has the subscription. It is renewed once per start all the
        // same (MQTT_TOPIC may have changed), but not on every reconnect: a new subscription
        // replays the topic's retained messages.
        if (!renewed || !connack.sessionPresent) void subscribe(mqtt, onSubscribed);
        else {
          subscribed = true;
          metrics?.connected.set(1);
        }
      });
      mqtt.on('close', () => {
        // `batcher` is unset while stopping: the connection is closed on purpose then.
        if (subscribed && batcher) logger.warn({ broker }, 'MQTT connection lost; reconnecting');
        subscribed = false;
        metrics?.connected.set(0);
      });
      mqtt.on('error', (err) => {
        // Logged once per distinct error: a broker that is down fails every reconnect alike.
        if (err.message === lastError) return;
        lastError = err.message;
        logger.warn({ err, broker }, 'MQTT connection failed; retrying');
      });
      const timer = setTimeout(() => inTime(false), opts.startTimeoutMs ?? 5000);
      const subscribedSoon = await subscribedInTime;
      clearTimeout(timer);
      if (!subscribedSoon)
        logger.warn({ broker }, 'not subscribed to the MQTT broker yet; retrying in the background');
    },

    async stop() {
      const mqtt = client;
      const stopping = batcher;
      if (!mqtt || !stopping) return;
      // From here on, messages are left unacknowledged (handleMessage finds no batcher).
      batcher = undefined;
      const complete = await stopping.close(opts.stopTimeoutMs ?? 10_000);
      if (!complete) {
        logger.warn('stopped before every MQTT message was written; the broker will deliver them again');
      }
      // The acknowledgements were written before this DISCONNECT, on the same connection.
      await mqtt.endAsync(!mqtt.connected);
      client = undefined;
      subscribed = false;
      metrics?.connected.set(0);
    },

    async ready() {
      if (!client?.connected) throw new Error(`not connected to the MQTT broker ${broker}`);
      if (!subscribed) throw new Error(`not subscribed to ${opts.topic}`);
    },
  };
}

function mqttMetrics(registry: Registry, heldReadings: () => number) {
  new Gauge({
    name: 'telemetry_mqtt_held_readings',
    help: 'MQTT readings received and not yet acknowledged (buffered or being written)',
    registers: [registry],
    collect() {
      this.set(heldReadings());
    },
  });
  return {
    connected: new Gauge({
      name: 'telemetry_mqtt_connected',
      help: 'Whether the service is connected to its MQTT broker and subscribed (1) or not (0)',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'telemetry_mqtt_dead_letters_total',
      help: 'MQTT messages dead-lettered (wholly or partly rejected)',
      registers: [registry],
    }),
    writeFailures: new Counter({
      name: 'telemetry_mqtt_write_failures_total',
      help: 'Failed writes of MQTT batches (each retried with backoff)',
      registers: [registry],
    }),
  };
}

/**
 * The service's MQTT ingest from its settings: from the embedded broker's intake when the runtime
 * gives one (all-in-one), else as a client of `MQTT_URL`, else none; the rest of the MQTT settings
 * (`mqttIngestConfigSpec`) are read from the environment only then.
 */
export function mqttIngestFromConfig(
  broker: {
    MQTT_URL?: string | undefined;
    MQTT_USERNAME?: string | undefined;
    MQTT_PASSWORD?: string | undefined;
  },
  ctx: Pick<ServiceContext, 'env' | 'pool' | 'logger' | 'metrics' | 'mqttIntake'>,
  ingestor: Pick<Ingestor, 'ingest' | 'limits'>,
): MqttIngest | undefined {
  if (!ctx.mqttIntake && !broker.MQTT_URL) return undefined;
  const settings = loadConfig(mqttIngestConfigSpec, ctx.env);
  const common = {
    topic: settings.MQTT_TOPIC,
    maxBatchReadings: settings.MQTT_BATCH_SIZE,
    flushIntervalMs: settings.MQTT_FLUSH_INTERVAL,
    stopTimeoutMs: settings.MQTT_STOP_TIMEOUT,
    ingestor,
    pool: ctx.pool,
    logger: ctx.logger,
    metrics: ctx.metrics,
  };
  if (ctx.mqttIntake) return createMqttIntakeIngest({ intake: ctx.mqttIntake, ...common });
  return createMqttIngest({
    url: broker.MQTT_URL!,
    username: broker.MQTT_USERNAME,
    password: broker.MQTT_PASSWORD,
    clientId: settings.MQTT_CLIENT_ID,
    ...common,
  });
}

export interface MqttIntakeIngestOptions
  extends Omit<MqttIngestOptions, 'url' | 'username' | 'password' | 'clientId' | 'startTimeoutMs'> {
  /** The embedded broker in this process (the all-in-one runtime). */
  intake: MqttIntake;
}

/**
 * Device telemetry taken from a broker in this process: each message of the topic is handed over
 * before the broker acknowledges it, and the returned promise resolves once its readings (and its
 * dead letter, when any of it was rejected) are committed — so the device's PUBACK means durable,
 * and a message the process dies holding was never acknowledged (the device sends it again). The
 * broker reads no further message of a device until those of its last read are acknowledged.
 */
export function createMqttIntakeIngest(opts: MqttIntakeIngestOptions): MqttIngest {
  const logger = opts.logger.child({ component: 'mqtt-ingest' });
  const metrics = opts.metrics ? mqttMetrics(opts.metrics, () => batcher?.heldReadings ?? 0) : undefined;
  const root = topicRoot(opts.topic);
  let batcher: MqttBatcher | undefined;
  let detach: (() => void) | undefined;
  return {
    async start() {
      if (batcher) return;
      const taking = batcherOf(opts, logger, metrics);
      batcher = taking;
      detach = opts.intake.attach(
        opts.topic,
        (topic, payload) =>
          new Promise<void>((acknowledged) => {
            const parsed = parseDeviceMessage(topic, payload, opts.ingestor.limits(), root);
            taking.add({ topic, payload, parsed, ack: acknowledged });
          }),
      );
      metrics?.connected.set(1);
      logger.info({ topic: opts.topic }, 'taking device telemetry from the embedded MQTT broker');
    },

    async stop() {
      const stopping = batcher;
      if (!stopping) return;
      // New messages are refused from here on (their devices send them again later).
      detach?.();
      detach = undefined;
      batcher = undefined;
      metrics?.connected.set(0);
      const complete = await stopping.close(opts.stopTimeoutMs ?? 10_000);
      if (!complete) {
        logger.warn('stopped before every MQTT message was written; they were not acknowledged');
      }
    },

    async ready() {
      if (!batcher) throw new Error('not taking device telemetry from the embedded MQTT broker');
    },
  };
}

/** The batcher of either way of taking messages, with the ingest's settings. */
function batcherOf(
  opts: Pick<MqttIngestOptions, 'ingestor' | 'pool' | 'maxBatchReadings' | 'flushIntervalMs' | 'retry'>,
  logger: Logger,
  metrics: MqttBatcherMetrics | undefined,
): MqttBatcher {
  return new MqttBatcher({
    ingestor: opts.ingestor,
    pool: opts.pool,
    logger,
    metrics,
    ...(opts.maxBatchReadings === undefined ? {} : { maxBatchReadings: opts.maxBatchReadings }),
    ...(opts.flushIntervalMs === undefined ? {} : { flushIntervalMs: opts.flushIntervalMs }),
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  });
}

/** The broker's address without credentials, for logs and errors. */
function brokerAddress(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}
