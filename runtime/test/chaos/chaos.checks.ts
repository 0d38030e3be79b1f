import pg from 'pg';
import type { GatewayCall } from './chaos.load.js';
import { jetStreamConsumers } from './chaos.servers.js';

// What the chaos test reads at the end, each service's facts from that service's own database (as
// that service's own role) or from the API. Nothing here joins across databases: facts are joined
// in memory, by the ids the services share as references.

async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'assetops-chaos-check' });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Work still under way somewhere in the event pipeline; everything 0 means settled. */
export interface Backlog {
  /** Outbox rows not yet published, by service. */
  outbox: Record<string, number>;
  /** Inbox rows received and not processed yet, by service. */
  inbox: Record<string, number>;
  /** Telemetry aggregates not yet announced as events. */
  feed: number;
  /** Messages JetStream has not delivered or not had acknowledged, by consumer. */
  jetstream: Record<string, number>;
}

export async function pipelineBacklog(
  databaseUrls: Record<string, string>,
  natsMonitorUrl: string,
): Promise<Backlog> {
  const backlog: Backlog = { outbox: {}, inbox: {}, feed: 0, jetstream: {} };
  await Promise.all(
    Object.entries(databaseUrls).map(async ([service, url]) => {
      const [row] = await query<{ outbox: number; inbox: number }>(
        url,
        `SELECT (SELECT coalesce(sum(events), 0)::int FROM outbox WHERE published_at IS NULL) AS outbox,
                (SELECT count(*)::int FROM inbox WHERE status = 'pending') AS inbox`,
      );
      backlog.outbox[service] = row!.outbox;
      backlog.inbox[service] = row!.inbox;
      if (service === 'telemetry') {
        const [feed] = await query<{ n: number }>(
          url,
          'SELECT coalesce(sum(cardinality(series_ids)), 0)::int AS n FROM feed_pending',
        );
        backlog.feed = feed!.n;
      }
    }),
  );
  for (const consumer of await jetStreamConsumers(natsMonitorUrl)) {
    backlog.jetstream[`${consumer.stream}/${consumer.name}`] = consumer.numPending + consumer.numAckPending;
  }
  return backlog;
}

export function backlogTotal(backlog: Backlog): number {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return sum(backlog.outbox) + sum(backlog.inbox) + backlog.feed + sum(backlog.jetstream);
}

/** Readings stored in the telemetry database, in all and per series (`assetId/metric`). */
export async function readingsStored(
  telemetryUrl: string,
): Promise<{ total: number; bySeries: Map<string, number> }> {
  const rows = await query<{ asset_id: string; metric: string; n: string }>(
    telemetryUrl,
    `SELECT s.asset_id, s.metric, count(*) AS n FROM readings r JOIN series s USING (series_id)
      GROUP BY s.asset_id, s.metric`,
  );
  const bySeries = new Map(rows.map((r) => [`${r.asset_id}/${r.metric}`, Number(r.n)]));
  const [packed] = await query<{ n: string }>(
    telemetryUrl,
    'SELECT coalesce(sum(cardinality(offsets_ms)), 0) AS n FROM readings_packed',
  );
  const total = [...bySeries.values()].reduce((a, b) => a + b, 0) + Number(packed!.n);
  return { total, bySeries };
}

export interface AlertFacts {
  alerts: number;
  /** Alerts that reached firing (were raised). */
  raised: number;
  /** Raised with (or escalated to) major or critical: each must have exactly one work order. */
  raisedMajorOrCritical: string[];
  /** (rule, asset, episode) → alert ids, for the episodes with more than one alert. */
  duplicateEpisodes: Record<string, string[]>;
  /** Alert ids with more than one AlertRaised event in the outbox. */
  duplicateRaisedEvents: Record<string, number>;
  episodeOf: Map<string, string>;
}

export async function alertFacts(alertUrl: string): Promise<AlertFacts> {
  const rows = await query<{
    id: string;
    rule_id: string;
    asset_id: string;
    episode: number;
    severity: string;
    raised: boolean;
  }>(
    alertUrl,
    'SELECT id, rule_id, asset_id, episode, severity, raised_at IS NOT NULL AS raised FROM alerts',
  );
  const episodeOf = new Map(rows.map((r) => [r.id, `${r.rule_id}/${r.asset_id}/${r.episode}`]));
  const byEpisode = new Map<string, string[]>();
  for (const [id, episode] of episodeOf) byEpisode.set(episode, [...(byEpisode.get(episode) ?? []), id]);
  const raisedEvents = await query<{ alert_id: string; n: number }>(
    alertUrl,
    `SELECT event->'data'->>'alertId' AS alert_id, count(*)::int AS n FROM outbox
      WHERE type = 'assetops.alert.raised.v1' GROUP BY 1 HAVING count(*) > 1`,
  );
  return {
    alerts: rows.length,
    raised: rows.filter((r) => r.raised).length,
    raisedMajorOrCritical: rows
      .filter((r) => r.raised && (r.severity === 'major' || r.severity === 'critical'))
      .map((r) => r.id),
    duplicateEpisodes: Object.fromEntries([...byEpisode].filter(([, ids]) => ids.length > 1)),
    duplicateRaisedEvents: Object.fromEntries(raisedEvents.map((r) => [r.alert_id, r.n])),
    episodeOf,
  };
}

export interface WorkOrderFacts {
  workOrders: number;
  fromAlerts: number;
  byStatus: Record<string, number>;
  /** Alert id → work orders, for the alerts with more than one. */
  duplicatesPerAlert: Record<string, number>;
  /** Alert episode → work orders, for the episodes with more than one. */
  duplicatesPerEpisode: Record<string, number>;
  /** Work orders with more than one WorkOrderCreated event in the outbox. */
  duplicateCreatedEvents: Record<string, number>;
  /** Major or critical alerts without a work order (a lost effect). */
  missingForAlerts: string[];
}

export async function workOrderFacts(maintenanceUrl: string, alerts: AlertFacts): Promise<WorkOrderFacts> {
  const rows = await query<{ id: string; source: string; source_ref: string | null; status: string }>(
    maintenanceUrl,
    'SELECT id, source, source_ref, status FROM work_orders',
  );
  const perAlert = new Map<string, number>();
  const perEpisode = new Map<string, number>();
  const byStatus: Record<string, number> = {};
  for (const row of rows) {
    byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
    if (row.source !== 'alert' || row.source_ref === null) continue;
    perAlert.set(row.source_ref, (perAlert.get(row.source_ref) ?? 0) + 1);
    const episode = alerts.episodeOf.get(row.source_ref) ?? `unknown alert ${row.source_ref}`;
    perEpisode.set(episode, (perEpisode.get(episode) ?? 0) + 1);
  }
  const createdEvents = await query<{ work_order_id: string; n: number }>(
    maintenanceUrl,
    `SELECT event->'data'->>'workOrderId' AS work_order_id, count(*)::int AS n FROM outbox
      WHERE type = 'assetops.maintenance.work-order-created.v1' GROUP BY 1 HAVING count(*) > 1`,
  );
  const moreThanOne = (m: Map<string, number>) => Object.fromEntries([...m].filter(([, n]) => n > 1));
  return {
    workOrders: rows.length,
    fromAlerts: [...perAlert.values()].reduce((a, b) => a + b, 0),
    byStatus,
    duplicatesPerAlert: moreThanOne(perAlert),
    duplicatesPerEpisode: moreThanOne(perEpisode),
    duplicateCreatedEvents: Object.fromEntries(createdEvents.map((r) => [r.work_order_id, r.n])),
    missingForAlerts: alerts.raisedMajorOrCritical.filter((id) => !perAlert.has(id)),
  };
}

/** Dead letters nobody redrove, by service: events a consumer gave up on. */
export async function openDeadLetters(databaseUrls: Record<string, string>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  await Promise.all(
    Object.entries(databaseUrls).map(async ([service, url]) => {
      const [row] = await query<{ n: number }>(
        url,
        'SELECT count(*)::int AS n FROM dead_letters WHERE redriven_at IS NULL',
      );
      counts[service] = row!.n;
    }),
  );
  return counts;
}

/** Every saga by status, and why the failed ones failed, through the API (all pages). */
export async function sagaFacts(
  call: GatewayCall,
): Promise<{ byStatus: Record<string, number>; failedReasons: Record<string, number> }> {
  const byStatus: Record<string, number> = {};
  const failedReasons: Record<string, number> = {};
  let cursor: string | null = null;
  do {
    const answer = await call(
      'GET',
      `/api/v1/sagas?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (answer.status !== 200)
      throw new Error(`GET /api/v1/sagas answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    const page = answer.body as {
      items: { status: string; reason: string | null }[];
      nextCursor: string | null;
    };
    for (const saga of page.items) {
      byStatus[saga.status] = (byStatus[saga.status] ?? 0) + 1;
      if (saga.status === 'failed') {
        // Ids and numbers vary per saga; the rest of the reason groups them.
        const reason = (saga.reason ?? 'no reason').replace(/[0-9a-f-]{36}/g, '<id>').replace(/\d+/g, 'N');
        failedReasons[reason] = (failedReasons[reason] ?? 0) + 1;
      }
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  return { byStatus, failedReasons };
}

export const TERMINAL_SAGA_STATUSES = new Set(['completed', 'failed']);
