/**
 * Where a probe's time went, from the timestamps the platform leaves along the path (all from the
 * same machine's clock):
 *
 *   ingest answer (t0, client)
 *   → feed drain transaction start   telemetry outbox.created_at of the TelemetryAggregated event
 *   → drain query done               that event's `time` (set in JS when the drained rows came back)
 *   → alert inbox insert             alert inbox.received_at (the relay's bus delivery)
 *   → inbox round start              alerts.created_at (now() of the round's transaction)
 *   → rule evaluated                 the AlertRaised event's `time` (set in JS by the evaluator)
 *   → commit                         first seen by the commit watcher
 *   → listed by the API              first alerts listing that showed it (client)
 *
 * The chain is followed exactly: alert (asset, raisedAt = the probe's reading time) → its
 * AlertRaised (alert outbox, data.alertId) → causationid = the TelemetryAggregated event id → the
 * telemetry outbox row and the alert inbox row of that event.
 */
import type { Pool } from '@assetops/platform';
import type { SeenAlert } from './commit-watch.worker.js';
import type { ProbeRecord } from './probe.worker.js';
import { type TailSummary, tail } from './tail.js';

export interface ProbeTimeline {
  assetId: string;
  tsMs: number;
  ackAt: number;
  alertId?: string;
  commitAt?: number;
  /** The watcher's previous query before it saw the commit (the commit came after). */
  commitAfter?: number;
  apiSeenAt?: number;
  /** When the probe thread heard of the commit from the watcher (its fast API polling began). */
  commitSignalAt?: number;
  feedDrainStart?: number;
  feedEventTime?: number;
  relayMarkedAt?: number;
  inboxReceivedAt?: number;
  roundStart?: number;
  evaluatedAt?: number;
  /** TelemetryAggregated events of the same drain transaction, and of the same relay batch. */
  drainBatch?: number;
  relayBatch?: number;
  /** Events of the inbox round that raised the alert, and those before it in that round. */
  roundSize?: number;
  aheadInRound?: number;
  /** Rounds of the alert consumer that started between the probe's arrival in the inbox and its own round, and their events. */
  roundsBetween?: number;
  eventsInRoundsBetween?: number;
  error?: string;
}

/** The segments of the path, in order: [name, from, to]. */
export const SEGMENTS: [string, keyof ProbeTimeline, keyof ProbeTimeline][] = [
  ['1 ingest ack → feed drain starts (100 ms poll)', 'ackAt', 'feedDrainStart'],
  ['2 feed drain query', 'feedDrainStart', 'feedEventTime'],
  ['3 drain commit → relay → alert inbox insert', 'feedEventTime', 'inboxReceivedAt'],
  ['4 waiting in the alert inbox (round starts)', 'inboxReceivedAt', 'roundStart'],
  ['5 round: events before it', 'roundStart', 'evaluatedAt'],
  ['6 round: events after it + commit', 'evaluatedAt', 'commitAt'],
  ['7 commit → listed by GET /api/v1/alerts', 'commitAt', 'apiSeenAt'],
];

const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

/** Joins the probes with what the watcher saw and with the databases' timestamps. */
export async function probeTimelines(
  probes: readonly ProbeRecord[],
  seen: readonly SeenAlert[],
  alertDb: Pool,
  telemetryDb: Pool,
  probeAssetIds: readonly string[],
): Promise<ProbeTimeline[]> {
  const seenById = new Map(seen.map((s) => [s.alertId, s]));
  const { rows: alerts } = await alertDb.query<{
    id: string;
    asset_id: string;
    raised_ms: number;
    created_ms: number;
    raised_time: string | null;
    cause_id: string | null;
  }>(
    `SELECT a.id::text AS id, a.asset_id::text AS asset_id,
            extract(epoch FROM a.raised_at)::float8 * 1000 AS raised_ms,
            extract(epoch FROM a.created_at)::float8 * 1000 AS created_ms,
            o.event->>'time' AS raised_time, o.event->>'causationid' AS cause_id
       FROM alerts a
       LEFT JOIN outbox o ON o.type = 'assetops.alert.raised.v1' AND o.event->'data'->>'alertId' = a.id::text
      WHERE a.asset_id = ANY($1::uuid[]) AND a.raised_at IS NOT NULL`,
    [probeAssetIds],
  );
  const alertByProbe = new Map(alerts.map((a) => [`${a.asset_id}|${Math.round(a.raised_ms)}`, a]));
  const causeIds = alerts.map((a) => a.cause_id).filter((id): id is string => id !== null);

  const { rows: inbox } = await alertDb.query<{
    event_id: string;
    received_ms: number;
    round_size: number;
    ahead_in_round: number;
    rounds_between: number;
    events_between: number;
  }>(
    `SELECT p.event_id::text AS event_id,
            extract(epoch FROM p.received_at)::float8 * 1000 AS received_ms,
            (SELECT count(*) FROM inbox i WHERE i.consumer = 'alert' AND i.status = 'processed'
                AND i.processed_at = p.processed_at)::int AS round_size,
            (SELECT count(*) FROM inbox i WHERE i.consumer = 'alert' AND i.status = 'processed'
                AND i.processed_at = p.processed_at AND i.seq < p.seq)::int AS ahead_in_round,
            (SELECT count(DISTINCT i.processed_at) FROM inbox i WHERE i.consumer = 'alert' AND i.status = 'processed'
                AND i.processed_at > p.received_at AND i.processed_at < p.processed_at)::int AS rounds_between,
            (SELECT count(*) FROM inbox i WHERE i.consumer = 'alert' AND i.status = 'processed'
                AND i.processed_at > p.received_at AND i.processed_at < p.processed_at)::int AS events_between
       FROM inbox p
      WHERE p.consumer = 'alert' AND p.event_id = ANY($1::uuid[])`,
    [causeIds],
  );
  const inboxById = new Map(inbox.map((r) => [r.event_id, r]));

  const { rows: feed } = await telemetryDb.query<{
    id: string;
    created_ms: number;
    published_ms: number | null;
    time: string;
    created_key: string;
    published_key: string | null;
  }>(
    `SELECT id::text AS id, extract(epoch FROM created_at)::float8 * 1000 AS created_ms,
            extract(epoch FROM published_at)::float8 * 1000 AS published_ms, event->>'time' AS time,
            created_at::text AS created_key, published_at::text AS published_key
       FROM outbox_events WHERE id = ANY($1::uuid[])`,
    [causeIds],
  );
  const feedById = new Map(feed.map((r) => [r.id, r]));
  // Drain transactions and relay batches of those events: one pass over the outbox each.
  const countBy = async (column: 'created_at' | 'published_at', keys: string[]) => {
    const { rows } = await telemetryDb.query<{ k: string; n: number }>(
      `SELECT ${column}::text AS k, sum(events)::int AS n FROM outbox
        WHERE ${column} = ANY($1::timestamptz[]) GROUP BY ${column}`,
      [[...new Set(keys)]],
    );
    return new Map(rows.map((r) => [r.k, r.n]));
  };
  const drains = await countBy(
    'created_at',
    feed.map((r) => r.created_key),
  );
  const relays = await countBy(
    'published_at',
    feed.map((r) => r.published_key).filter((k): k is string => k !== null),
  );

  return probes.map((p) => {
    const t: ProbeTimeline = { assetId: p.assetId, tsMs: p.tsMs, ackAt: p.ackAt };
    if (p.apiSeenAt !== undefined) t.apiSeenAt = p.apiSeenAt;
    if (p.commitSignalAt !== undefined) t.commitSignalAt = p.commitSignalAt;
    if (p.error !== undefined) t.error = p.error;
    const alert = alertByProbe.get(`${p.assetId}|${p.tsMs}`);
    if (!alert) return t;
    t.alertId = alert.id;
    t.roundStart = num(alert.created_ms);
    if (alert.raised_time) t.evaluatedAt = Date.parse(alert.raised_time);
    const watched = seenById.get(alert.id);
    if (watched) {
      t.commitAt = watched.seenAt;
      t.commitAfter = watched.previousAt;
    }
    const received = alert.cause_id ? inboxById.get(alert.cause_id) : undefined;
    if (received) {
      t.inboxReceivedAt = num(received.received_ms);
      t.roundSize = received.round_size;
      t.aheadInRound = received.ahead_in_round;
      t.roundsBetween = received.rounds_between;
      t.eventsInRoundsBetween = received.events_between;
    }
    const drained = alert.cause_id ? feedById.get(alert.cause_id) : undefined;
    if (drained) {
      t.feedDrainStart = num(drained.created_ms);
      t.feedEventTime = Date.parse(drained.time);
      t.relayMarkedAt = num(drained.published_ms);
      t.drainBatch = drains.get(drained.created_key);
      if (drained.published_key) t.relayBatch = relays.get(drained.published_key);
    }
    return t;
  });
}

export interface SegmentSummary extends TailSummary {
  segment: string;
  /** Mean share of the commit latency. */
  share: string;
}

const span = (t: ProbeTimeline, from: keyof ProbeTimeline, to: keyof ProbeTimeline) => {
  const a = t[from];
  const b = t[to];
  return typeof a === 'number' && typeof b === 'number' ? b - a : Number.NaN;
};

/** Each segment's distribution over the probes whose timeline is complete. */
export function segmentSummaries(timelines: readonly ProbeTimeline[]): SegmentSummary[] {
  const complete = timelines.filter((t) =>
    SEGMENTS.every(([, from, to]) => Number.isFinite(span(t, from, to))),
  );
  const commitMean =
    complete.reduce((sum, t) => sum + span(t, 'ackAt', 'commitAt'), 0) / Math.max(1, complete.length);
  return SEGMENTS.map(([segment, from, to]) => {
    const summary = tail(complete.map((t) => span(t, from, to)));
    return {
      segment,
      ...summary,
      share: to === 'apiSeenAt' ? '(after commit)' : `${Math.round((summary.meanMs / commitMean) * 100)} %`,
    };
  });
}

/** The slowest probes (by commit latency), each with its segments and queue context. */
export function slowest(timelines: readonly ProbeTimeline[], count: number): Record<string, unknown>[] {
  return [...timelines]
    .filter((t) => Number.isFinite(span(t, 'ackAt', 'commitAt')))
    .sort((a, b) => span(b, 'ackAt', 'commitAt') - span(a, 'ackAt', 'commitAt'))
    .slice(0, count)
    .map((t) => {
      const row: Record<string, unknown> = {
        at: new Date(t.ackAt).toISOString().slice(11, 23),
        commitMs: Math.round(span(t, 'ackAt', 'commitAt')),
        apiMs: Math.round(span(t, 'ackAt', 'apiSeenAt')),
      };
      for (const [segment, from, to] of SEGMENTS)
        row[`s${segment.slice(0, 1)}`] = Math.round(span(t, from, to));
      row.drainBatch = t.drainBatch;
      row.relayBatch = t.relayBatch;
      row.roundsBefore = t.roundsBetween;
      row.eventsBefore = (t.eventsInRoundsBetween ?? 0) + (t.aheadInRound ?? 0);
      row.roundSize = t.roundSize;
      return row;
    });
}

/** Queue context over all probes: drain and relay batch sizes, rounds waited, events ahead. */
export function queueContext(timelines: readonly ProbeTimeline[]): Record<string, TailSummary> {
  const pick = (f: (t: ProbeTimeline) => number | undefined) =>
    tail(timelines.map(f).filter((v): v is number => v !== undefined));
  return {
    'TelemetryAggregated events in the same drain': pick((t) => t.drainBatch),
    'events in the same relay batch': pick((t) => t.relayBatch),
    'alert rounds started between inbox arrival and its own round': pick((t) => t.roundsBetween),
    'events processed before it after it arrived (earlier rounds + ahead in its round)': pick((t) =>
      t.roundSize === undefined ? undefined : (t.eventsInRoundsBetween ?? 0) + (t.aheadInRound ?? 0),
    ),
    'events in its round': pick((t) => t.roundSize),
  };
}
