/**
 * @assetops/platform — the runtime kit every service is built on: config, logging, HTTP bootstrap,
 * errors, migrations, the transactional outbox and inbox, and the event bus transports.
 * It knows no domain and none of a service's tables.
 */
export * from './clock.js';
export * from './config.js';
export * from './db/migrations.js';
export * from './db/number-array.js';
export * from './db/pool.js';
export * from './db/provision.js';
export * from './db/self-vacuum.js';
export * from './errors.js';
export * from './http/app.js';
export * from './http/dead-letter.routes.js';
export * from './http/metrics.js';
export * from './http/problem.js';
export * from './http/request-meta.js';
export * from './logger.js';
export * from './messaging/dead-letters.js';
export * from './messaging/event-consumer.js';
export * from './messaging/event-source.js';
export * from './messaging/in-process-bus.js';
export * from './messaging/leader-loop.js';
export * from './messaging/migrations.js';
export * from './messaging/nats-bus.js';
export * from './messaging/outbox.js';
export * from './messaging/outbox-relay.js';
export * from './messaging/retry-policy.js';
export * from './messaging/types.js';
export * from './otel-metrics.js';
export * from './service.js';
export * from './timeout.js';
export * from './tracing.js';
