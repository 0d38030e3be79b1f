import { ReconciliationReportSchema } from '@assetops/contracts';
import type { HttpApp } from '@assetops/platform';
import { type ReconciliationDeps, runReconciliation } from './reconciliation.sources.js';

export function registerReconciliationRoutes(app: HttpApp, deps: ReconciliationDeps): void {
  app.get(
    '/api/v1/dashboard/reconciliation',
    {
      schema: {
        tags: ['dashboard'],
        summary:
          'Compare the read model with the Asset, Alert and Maintenance APIs (statuses, active alerts, open work orders) and report drift',
        response: { 200: ReconciliationReportSchema },
      },
    },
    async () => runReconciliation(deps),
  );
}
