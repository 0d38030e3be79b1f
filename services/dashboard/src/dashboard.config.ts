import { type ConfigOf, duration, integer, optional, url } from '@assetops/platform';

const sourceUrl = (service: string) =>
  optional(
    url({
      protocols: ['http:', 'https:'],
      description: `base URL of the ${service} service API, read by the reconciliation check (unset: not checked)`,
    }),
  );

/** The Dashboard service's settings (environment variables), validated at start. */
export const dashboardConfigSpec = {
  DASHBOARD_ASSET_URL: sourceUrl('Asset'),
  DASHBOARD_ALERT_URL: sourceUrl('Alert'),
  DASHBOARD_MAINTENANCE_URL: sourceUrl('Maintenance'),
  DASHBOARD_STREAM_KEEPALIVE: duration({
    default: 15_000,
    description: 'interval of the keep-alive comments on the SSE stream (default 15s)',
  }),
  DASHBOARD_FLEET_INTERVAL: duration({
    default: 500,
    description: 'the stream sends fleet totals at most once per this interval (default 500ms)',
  }),
  DASHBOARD_JOURNAL_TRIM_INTERVAL: duration({
    default: 10_000,
    description:
      'pause between two journal trimming passes once caught up (default 10s; 0 turns trimming off)',
  }),
  DASHBOARD_JOURNAL_TRIM_BATCH: integer({
    default: 5_000,
    min: 100,
    max: 1_000_000,
    description: 'journal rows a trimming pass examines, and deletes, at most (default 5000)',
  }),
  DASHBOARD_RECONCILIATION_TIMEOUT: duration({
    default: 10_000,
    description: 'time limit of each call the reconciliation makes to a source service (default 10s)',
  }),
};

export type DashboardConfig = ConfigOf<typeof dashboardConfigSpec>;
