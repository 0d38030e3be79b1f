import { fileURLToPath } from 'node:url';
import { type EventEnvelope, TelemetryAggregated } from '@assetops/contracts';
import {
  createHttpApp,
  type EventHandlers,
  eventHandler,
  LeaderLoop,
  loadConfig,
  type PoolClient,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceInstance,
} from '@assetops/platform';
import { alertConfigSpec } from './alert.config.js';
import { registerAlertRoutes } from './alerts/alert.routes.js';
import { assetHandlers } from './assets/asset-handlers.js';
import { decommissioningHandlers } from './assets/decommissioning-handlers.js';
import { onboardingHandlers } from './assets/onboarding-handlers.js';
import { registerBacktestRoutes } from './backtest/backtest.routes.js';
import { TelemetryHistory } from './backtest/telemetry-client.js';
import { Evaluator } from './evaluation/evaluator.js';
import { RelevanceChanges, RelevanceIndex } from './evaluation/relevance.js';
import { loadProfiles } from './rules/profiles.js';
import { registerRuleRoutes } from './rules/rule.routes.js';

/**
 * The Alert service's composition root: rules and alerts on its own database, evaluated on the
 * TelemetryAggregated feed (event time), the asset events for its own list of assets and default
 * thresholds, and a timer for no-data rules.
 */
export async function createAlertService(ctx: ServiceContext): Promise<ServiceInstance> {
  const config = loadConfig(alertConfigSpec, ctx.env);
  const profiles = await loadProfiles(config.ALERT_PROFILES_FILE);
  const evaluator = new Evaluator({ clock: ctx.clock, ids: ctx.ids, metrics: ctx.metrics });
  // Telemetry windows that no rule watches are not even stored in the inbox.
  const relevance = new RelevanceIndex(ctx.pool, ctx.logger);
  await relevance.refresh();
  const noteProfile = (handlers: EventHandlers): EventHandlers =>
    Object.fromEntries(
      Object.entries(handlers).map(([type, handler]) => [
        type,
        async (tx: PoolClient, event: EventEnvelope<never>) => {
          await handler(tx, event);
          const d = event.data as { assetId?: string; type?: string; assetType?: string };
          const assetType = d.type ?? d.assetType;
          if (!d.assetId || !assetType) return;
          relevance.noteAsset(d.assetId, assetType);
          for (const rule of profiles[assetType] ?? [])
            relevance.noteRule({ assetId: d.assetId, metric: rule.metric });
        },
      ]),
    );
  // Evaluation states of new (no-data rule, asset) pairs: made when rules or assets changed.
  const noDataSeeding = new RelevanceChanges(ctx.pool);
  const silence = new LeaderLoop({
    name: 'alert-no-data',
    pool: ctx.pool,
    lockName: 'assetops.alert.no-data',
    channel: 'assetops_alert_no_data',
    pollIntervalMs: config.ALERT_NO_DATA_INTERVAL,
    standbyRetryMs: 5000,
    errorBackoff: { baseMs: 500, maxMs: 30_000 },
    logger: ctx.logger,
    work: async () => {
      const startedAt = Date.now();
      const seed = await noDataSeeding.due(startedAt);
      await evaluator.checkSilence(ctx.pool, { seed });
      if (seed) noDataSeeding.ran(startedAt, Date.now() - startedAt);
      return { more: false };
    },
  });

  const app = await createHttpApp({
    service: 'alert',
    logger: ctx.logger,
    metrics: ctx.metrics,
    description: 'Alert rules, alerts and their history; evaluation on the telemetry feed.',
    readiness: { database: async () => void (await ctx.pool.query('SELECT 1')) },
  });
  const commandDeps = { pool: ctx.pool, clock: ctx.clock, ids: ctx.ids };
  registerRuleRoutes(app, commandDeps);
  // A rule created or changed here takes effect on the next window, not after the next reload.
  // (before the answer is sent: the change committed, and the caller may send readings at once).
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'GET' && request.url.startsWith('/api/v1/alert-rules') && reply.statusCode < 300) {
      await relevance
        .refresh({ force: true })
        .catch((err) => ctx.logger.warn({ err }, 'alert rule index refresh failed'));
    }
    return payload;
  });
  registerAlertRoutes(app, commandDeps);
  // Backtests read history through the Telemetry service's API; without its URL they answer 503.
  const telemetry = config.ASSETOPS_TELEMETRY_URL
    ? new TelemetryHistory({ baseUrl: config.ASSETOPS_TELEMETRY_URL })
    : undefined;
  registerBacktestRoutes(app, { pool: ctx.pool, telemetry });

  return {
    app,
    consumer: {
      sources: ['asset', 'telemetry'],
      handlers: {
        ...noteProfile(assetHandlers({ clock: ctx.clock, ids: ctx.ids, profiles })),
        ...noteProfile(onboardingHandlers({ clock: ctx.clock, ids: ctx.ids, profiles })),
        ...decommissioningHandlers({
          clock: ctx.clock,
          ids: ctx.ids,
          onRulesEnabled: (rules) => {
            for (const rule of rules) relevance.noteRule(rule);
          },
        }),
        // Runs of telemetry windows are evaluated together: a fixed number of statements per run.
        ...eventHandler(
          TelemetryAggregated,
          (tx, event) => evaluator.onTelemetry(tx, event),
          (tx, events) => evaluator.onTelemetryBatch(tx, events),
        ),
      },
      accept: relevance.accepts,
    },
    async start() {
      silence.start();
      relevance.start();
    },
    async stop() {
      relevance.stop();
      await silence.stop();
    },
  };
}

export const alertService: ServiceDefinition = {
  name: 'alert',
  migrations: { module: 'alert', dir: fileURLToPath(new URL('../migrations', import.meta.url)) },
  create: createAlertService,
};
