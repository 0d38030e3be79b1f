/** @assetops/telemetry — the Telemetry service: ingestion, time-series storage, roll-ups, retention. */

export { telemetryConfigSpec } from './telemetry.config.js';
export { createTelemetryService, telemetryService } from './telemetry.service.js';
