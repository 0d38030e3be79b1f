import { type ConfigOf, duration, integer, optional, parseDuration, string, url } from '@assetops/platform';

const DAY = 86_400_000;

/** The Telemetry service's settings (environment variables), validated at start. */
export const telemetryConfigSpec = {
  TELEMETRY_LATENESS_WINDOW: duration({
    default: 3_600_000,
    description:
      'how late a reading may arrive and still be accepted (its roll-ups are revised); older readings are rejected with TOO_LATE',
  }),
  TELEMETRY_MAX_FUTURE: duration({
    default: 300_000,
    description:
      'how far ahead of the server clock a reading time may be (clock skew); later ones are rejected',
  }),
  TELEMETRY_RETENTION_RAW: duration({ default: 30 * DAY, description: 'how long raw readings are kept' }),
  TELEMETRY_RETENTION_1M: duration({
    default: 180 * DAY,
    description: 'how long 1-minute roll-ups are kept',
  }),
  TELEMETRY_RETENTION_1H: duration({
    default: 5 * 365 * DAY,
    description: 'how long 1-hour roll-ups are kept',
  }),
  TELEMETRY_RETENTION_1D: duration({
    default: 5 * 365 * DAY,
    description: 'how long 1-day roll-ups are kept',
  }),
  TELEMETRY_RETENTION_BY_TYPE: optional(
    string({
      description:
        'per asset type retention overrides as JSON, e.g. {"pump":{"raw":"7d","1m":"90d"}} (tiers raw, 1m, 1h, 1d)',
    }),
  ),
  TELEMETRY_COMPACT_AFTER: duration({
    default: 2 * DAY,
    description:
      'raw day partitions older than this are compacted into packed rows (must exceed TELEMETRY_LATENESS_WINDOW)',
  }),
  TELEMETRY_FEED_WINDOW: duration({
    default: 1000,
    description: 'event-time window of TelemetryAggregated events (100ms to 60s)',
  }),
  TELEMETRY_ROLLUP_INTERVAL: duration({
    default: 250,
    description:
      'how often ingested readings are merged into the roll-up tiers and latest values (50ms to 60s); queries are exact meanwhile, and read the rows not merged yet',
  }),
  TELEMETRY_PARTITIONS_AHEAD: integer({
    default: 2,
    min: 1,
    max: 60,
    description: 'how many days of raw partitions are created ahead of today',
  }),
  TELEMETRY_MAX_POINTS: integer({
    default: 20_000,
    min: 100,
    max: 1_000_000,
    description: 'the most points a query may return (over all its metrics) before it is refused',
  }),
  TELEMETRY_MAINTENANCE_INTERVAL: duration({
    default: 600_000,
    description: 'how often partitions are created ahead, retention is enforced and compaction runs',
  }),
  MQTT_URL: optional(
    url({
      protocols: ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:'],
      description: 'MQTT broker the service subscribes to for device telemetry (unset: no MQTT ingest)',
    }),
  ),
  MQTT_USERNAME: optional(string({ description: 'MQTT user name of the telemetry service' })),
  MQTT_PASSWORD: optional(string({ secret: true, description: 'MQTT password of the telemetry service' })),
};

export type TelemetryConfig = ConfigOf<typeof telemetryConfigSpec>;

export const TIERS = ['raw', '1m', '1h', '1d'] as const;
export type Tier = (typeof TIERS)[number];

/** Retention of each tier, in milliseconds. */
export type Retention = Record<Tier, number>;

/** The retention of each asset type with overrides, and the default for every other type. */
export interface RetentionPolicy {
  default: Retention;
  byType: Record<string, Retention>;
}

/**
 * Resolves the retention settings; throws with a clear message on a bad override or on a
 * compaction age not beyond the lateness window (late readings must never reach packed rows).
 */
export function retentionPolicy(config: TelemetryConfig): RetentionPolicy {
  const base: Retention = {
    raw: config.TELEMETRY_RETENTION_RAW,
    '1m': config.TELEMETRY_RETENTION_1M,
    '1h': config.TELEMETRY_RETENTION_1H,
    '1d': config.TELEMETRY_RETENTION_1D,
  };
  const byType: Record<string, Retention> = {};
  if (config.TELEMETRY_RETENTION_BY_TYPE) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(config.TELEMETRY_RETENTION_BY_TYPE);
    } catch {
      throw new Error('TELEMETRY_RETENTION_BY_TYPE must be a JSON object such as {"pump":{"raw":"7d"}}');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('TELEMETRY_RETENTION_BY_TYPE must be a JSON object such as {"pump":{"raw":"7d"}}');
    }
    for (const [type, tiers] of Object.entries(parsed)) {
      if (typeof tiers !== 'object' || tiers === null) {
        throw new Error(`TELEMETRY_RETENTION_BY_TYPE.${type} must be an object of tier durations`);
      }
      const retention = { ...base };
      for (const [tier, value] of Object.entries(tiers)) {
        if (!(TIERS as readonly string[]).includes(tier)) {
          throw new Error(
            `TELEMETRY_RETENTION_BY_TYPE.${type}: unknown tier ${tier} (tiers: ${TIERS.join(', ')})`,
          );
        }
        try {
          retention[tier as Tier] = parseDuration(String(value));
        } catch (err) {
          throw new Error(`TELEMETRY_RETENTION_BY_TYPE.${type}.${tier}: ${(err as Error).message}`);
        }
      }
      byType[type] = retention;
    }
  }
  for (const [name, retention] of [['default', base] as const, ...Object.entries(byType)]) {
    if (retention.raw <= config.TELEMETRY_LATENESS_WINDOW) {
      throw new Error(`raw retention of ${name} must exceed TELEMETRY_LATENESS_WINDOW`);
    }
  }
  if (config.TELEMETRY_COMPACT_AFTER <= config.TELEMETRY_LATENESS_WINDOW) {
    throw new Error('TELEMETRY_COMPACT_AFTER must exceed TELEMETRY_LATENESS_WINDOW');
  }
  if (config.TELEMETRY_ROLLUP_INTERVAL < 50 || config.TELEMETRY_ROLLUP_INTERVAL > 60_000) {
    throw new Error('TELEMETRY_ROLLUP_INTERVAL must be between 50ms and 60s');
  }
  if (config.TELEMETRY_FEED_WINDOW < 100 || config.TELEMETRY_FEED_WINDOW > 60_000) {
    throw new Error('TELEMETRY_FEED_WINDOW must be between 100ms and 60s');
  }
  return { default: base, byType };
}
