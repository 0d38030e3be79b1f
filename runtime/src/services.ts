import { alertService } from '@assetops/alert';
import { assetService } from '@assetops/asset';
import { dashboardService } from '@assetops/dashboard';
import { maintenanceService } from '@assetops/maintenance';
import type { ServiceDefinition } from '@assetops/platform';
import { telemetryService } from '@assetops/telemetry';

/**
 * Every service that owns a database, in start order. The names are also their database and role
 * names (`assetops_<name>`), provisioned even before a service is built so isolation is in place.
 * The gateway's (users and tokens) comes last: it is not a `ServiceDefinition`, the runtimes start
 * it after the others.
 */
export const databaseServices = [
  'asset',
  'telemetry',
  'alert',
  'maintenance',
  'dashboard',
  'gateway',
] as const;
export type DatabaseServiceName = (typeof databaseServices)[number];

/** The services that are implemented so far; the runtimes start these. */
export const serviceDefinitions: Partial<Record<DatabaseServiceName, ServiceDefinition>> = {
  asset: assetService,
  telemetry: telemetryService,
  alert: alertService,
  maintenance: maintenanceService,
  dashboard: dashboardService,
};

/** Default HTTP port of each service when it runs in its own process. */
export const defaultPorts: Record<DatabaseServiceName | 'gateway', number> = {
  gateway: 8080,
  asset: 8081,
  telemetry: 8082,
  alert: 8083,
  maintenance: 8084,
  dashboard: 8085,
};

/**
 * The environment variables that tell a service where the APIs it reads are, from the URLs of the
 * services already running (all-in-one): the alert service reads history (backtests) through the
 * telemetry service; the dashboard reconciles its read model with the asset, alert and maintenance
 * services. The distributed runtime sets the same variables itself.
 */
export function peerUrlEnv(
  name: string,
  running: Readonly<Record<string, { url: string } | undefined>>,
): Record<string, string> {
  const peers: Record<string, Record<string, string>> = {
    alert: { ASSETOPS_TELEMETRY_URL: 'telemetry' },
    dashboard: {
      DASHBOARD_ASSET_URL: 'asset',
      DASHBOARD_ALERT_URL: 'alert',
      DASHBOARD_MAINTENANCE_URL: 'maintenance',
    },
  };
  const env: Record<string, string> = {};
  for (const [variable, peer] of Object.entries(peers[name] ?? {})) {
    const url = running[peer]?.url;
    if (url) env[variable] = url;
  }
  return env;
}
