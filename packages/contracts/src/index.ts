/**
 * @assetops/contracts — the published language of AssetOps: the CloudEvents envelope, the event
 * catalog and the HTTP API schemas. No entities, no database code; every service may import it.
 */

export * from './api/alert.api.js';
export * from './api/asset.api.js';
export * from './api/dashboard.api.js';
export * from './api/maintenance.api.js';
export * from './api/ops.api.js';
export * from './api/problem.js';
export * from './api/saga.api.js';
export * from './api/telemetry.api.js';
export * from './envelope.js';
export * from './events/alert.events.js';
export * from './events/asset.events.js';
export * from './events/maintenance.events.js';
export * from './events/telemetry.events.js';
export * from './validate.js';
