import { alertService } from '@assetops/alert';
import { assetService } from '@assetops/asset';
import { maintenanceService } from '@assetops/maintenance';
import type { ServiceDefinition } from '@assetops/platform';
import { telemetryService } from '@assetops/telemetry';

/**
 * Every service that owns a database, in start order. The names are also their database and role
 * names (`assetops_<name>`), provisioned even before a service is built so isolation is in place.
 */
export const databaseServices = ['asset', 'telemetry', 'alert', 'maintenance', 'dashboard'] as const;
export type DatabaseServiceName = (typeof databaseServices)[number];

/** The services that are implemented so far; the runtimes start these. */
export const serviceDefinitions: Partial<Record<DatabaseServiceName, ServiceDefinition>> = {
  asset: assetService,
  telemetry: telemetryService,
  alert: alertService,
  maintenance: maintenanceService,
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
