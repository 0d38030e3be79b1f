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
