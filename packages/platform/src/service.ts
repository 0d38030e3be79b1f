import type { EventEnvelope } from '@assetops/contracts';
import type { Clock, IdGenerator } from './clock.js';
import type { MigrationSource } from './db/migrations.js';
import type { Pool } from './db/pool.js';
import type { HttpApp } from './http/app.js';
import type { MetricsRegistry } from './http/metrics.js';
import type { Logger } from './logger.js';
import type { EventHandlers } from './messaging/event-consumer.js';
import type { EventBus } from './messaging/types.js';

/**
 * What a runtime hands to a service's composition root. Only the service's own database (`pool`,
 * absent for the gateway) — never another's.
 */
export interface ServiceContext {
  logger: Logger;
  metrics: MetricsRegistry;
  clock: Clock;
  ids: IdGenerator;
  pool: Pool;
  bus: EventBus;
  /** The process environment (or a test's), for the service's own settings. */
  env: Record<string, string | undefined>;
  /**
   * Device messages handed over in this process by an embedded MQTT broker (the all-in-one
   * runtime); absent when the service reaches its broker over the network (`MQTT_URL`).
   */
  mqttIntake?: MqttIntake;
}

/**
 * An MQTT broker in the same process, handing messages to a service before it acknowledges them.
 * A device's message on a topic matching an attached filter goes to `handle` first: the broker
 * answers the device (PUBACK) and passes the message on to subscribers only once the returned
 * promise resolved. A rejection disconnects the device, which sends the message again, and so does
 * a message arriving while nothing is attached to the broker's intake topics.
 */
export interface MqttIntake {
  /** Attaches the handler of a topic filter (`+`, `#` wildcards); returns what detaches it. */
  attach(filter: string, handle: (topic: string, payload: Buffer) => Promise<void>): () => void;
}

/** The events a service consumes: handlers by CloudEvents type, from the named producing services. */
export interface ServiceConsumer {
  sources: readonly string[];
  handlers: EventHandlers;
  /** Events not worth storing (see the event consumer's `accept`). */
  accept?: (event: EventEnvelope) => boolean;
}

/** A built service: its HTTP app, the events it consumes, and its own background work. */
export interface ServiceInstance {
  app: HttpApp;
  consumer?: ServiceConsumer;
  /** Starts timers and workers of the service's own (the runtime starts the relay and consumer). */
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/**
 * A service as the runtimes see it. Both runtimes run the same definition; only the wiring differs.
 *
 * @example
 * export const assetService: ServiceDefinition = {
 *   name: 'asset', migrations: { module: 'asset', dir }, create: (ctx) => createAssetService(ctx),
 * };
 */
export interface ServiceDefinition {
  name: string;
  migrations: MigrationSource;
  create(ctx: ServiceContext): Promise<ServiceInstance>;
}
