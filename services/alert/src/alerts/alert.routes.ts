import {
  AcknowledgeBody,
  AlertPageSchema,
  AlertSchema,
  ListAlertsQuery,
  ProblemSchema,
} from '@assetops/contracts';
import { commandMeta, type HttpApp, NotFoundError } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import { type AlertCommandDeps, acknowledgeAlert } from './alert.commands.js';
import { findAlert, listAlerts } from './alert.store.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const tags = ['alerts'];
const Alert = AlertSchema;
const AlertPage = AlertPageSchema;

/** The Alert API: list and read alerts (with their history), acknowledge a firing one. */
export function registerAlertRoutes(app: HttpApp, deps: AlertCommandDeps): void {
  app.get(
    '/api/v1/alerts',
    {
      schema: {
        tags,
        summary:
          'List alerts, newest first (filter by status — active: pending, firing or acknowledged —, asset, severity, rule)',
        querystring: ListAlertsQuery,
        response: { 200: AlertPage, 400: ProblemSchema },
      },
    },
    async (request) => listAlerts(deps.pool, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/alerts/:id',
    {
      schema: {
        tags,
        summary: 'Get an alert with its history (every transition, with its time, value and cause)',
        params: IdParams,
        response: { 200: Alert, 404: ProblemSchema },
      },
    },
    async (request) => {
      const alert = await findAlert(deps.pool, request.params.id);
      if (!alert) throw new NotFoundError('ALERT_NOT_FOUND', `alert ${request.params.id} does not exist`);
      return alert;
    },
  );

  app.post(
    '/api/v1/alerts/:id/acknowledge',
    {
      schema: {
        tags,
        summary: 'Acknowledge a firing alert (again by the same person: no change); otherwise a 409',
        params: IdParams,
        body: AcknowledgeBody,
        response: { 200: Alert, 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (request) => acknowledgeAlert(deps, request.params.id, request.body, commandMeta(request)),
  );
}
