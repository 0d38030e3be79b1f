import { createHash } from 'node:crypto';
import {
  type EventEnvelope,
  TelemetryAggregated,
  type TelemetryAggregatedData,
  telemetryWindows,
} from '@assetops/contracts';
import {
  type BatchEventHandler,
  type EventHandler,
  type EventHandlers,
  type PoolClient,
  withBatchHandler,
} from '@assetops/platform';
import { applyEvent, applyTelemetry, projectedEvents } from './projection.apply.js';

/** The channel a committed projection change is announced on (the SSE hub listens). */
export const CHANGES_CHANNEL = 'assetops_dashboard_changes';

export interface ProjectionHandlerDeps {
  /** Called after an event was applied (before its transaction commits), for the lag metric. */
  onApplied?: (event: EventEnvelope) => void;
}

/**
 * Journals an event and applies it to the active generation, in the consumer's transaction.
 *
 * The journal row comes first, in its own statement: a rebuild's switch-over locks the journal
 * table, so a handler waiting there reads the active generation only after the switch committed
 * and writes to the new one. An event already journaled (a redelivery the inbox had purged) is
 * not applied again — though applying it again would be harmless.
 */
export async function journalAndApply(tx: PoolClient, event: EventEnvelope): Promise<boolean> {
  const compact = compactionKey(event);
  const { rows } = await tx.query<{ position: number | null }>(
    `WITH journaled AS (
       INSERT INTO journal (event_id, type, subject, event_time, compact_key, compact_ts, event)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (event_id) DO NOTHING
       RETURNING position)
     SELECT (SELECT position FROM journaled) AS position, pg_notify($8, '')`,
    [
      event.id,
      event.type,
      event.subject ?? null,
      event.time,
      compact?.key ?? null,
      compact?.ts ?? null,
      JSON.stringify(event),
      CHANGES_CHANNEL,
    ],
  );
  if (rows[0]?.position === null || rows[0]?.position === undefined) return false;
  return applyEvent(tx, event, null);
}

/**
 * {@link journalAndApply} for a run of TelemetryAggregated events, in two statements whatever their
 * number (journal, then apply; the same order and reason as above). Only the newest windows of each
 * asset and set of metrics are journaled and applied: an older one would change nothing after
 * them, now or in a rebuild. Returns the events that count as applied — all but those journaled
 * before.
 */
export async function journalAndApplyTelemetry(
  tx: PoolClient,
  events: readonly EventEnvelope<TelemetryAggregatedData>[],
): Promise<EventEnvelope<TelemetryAggregatedData>[]> {
  const kept = newestWindows(events);
  const { rows } = await tx.query<{ journaled: string[] }>(
    `WITH journaled AS (
       INSERT INTO journal (event_id, type, subject, event_time, compact_key, compact_ts, event)
       SELECT u.event_id, $1, u.subject, u.event_time, u.compact_key, u.compact_ts, u.event
         FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::timestamptz[], $7::jsonb[])
              WITH ORDINALITY AS u(event_id, subject, event_time, compact_key, compact_ts, event, ord)
        ORDER BY u.ord
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id)
     SELECT coalesce(array_agg(event_id::text), '{}') AS journaled, pg_notify($8, '') FROM journaled`,
    [
      TelemetryAggregated.type,
      kept.map((e) => e.id),
      kept.map((e) => e.subject ?? null),
      kept.map((e) => e.time),
      kept.map((e) => telemetryKey(e.data)),
      kept.map((e) => e.data.windowStart),
      kept.map((e) => JSON.stringify(e)),
      CHANGES_CHANNEL,
    ],
  );
  // PostgreSQL returns ids in canonical (lower case) form.
  const journaled = new Set(rows[0]?.journaled ?? []);
  const isNew = (e: EventEnvelope) => journaled.has(e.id.toLowerCase());
  await applyTelemetry(
    tx,
    kept.filter(isNew).flatMap((e) => telemetryWindows(e.data)),
    null,
  );
  const duplicates = new Set(kept.filter((e) => !isNew(e)));
  return events.filter((e) => !duplicates.has(e));
}

/**
 * The windows of a run that can still change the latest values: per asset and set of metrics,
 * those of the newest window (all of them: windows of one time can hold later readings of a metric
 * than one another). In their original order. Every metric of an older window has its newest
 * reading before that window's end, so before every reading of a newer window of the same metrics.
 *
 * @example
 * newestWindows([w([rpm], '10:00:01'), w([rpm], '10:00:03'), w([temp], '10:00:02'), w([rpm], '10:00:03')]);
 * // [w([rpm], '10:00:03'), w([temp], '10:00:02'), w([rpm], '10:00:03')]
 */
export function newestWindows<T extends { data: TelemetryAggregatedData }>(events: readonly T[]): T[] {
  const newest = new Map<string, number>();
  const keys = events.map((e) => telemetryKey(e.data));
  const times = events.map((e) => Date.parse(e.data.windowStart));
  events.forEach((_, i) => {
    if (times[i]! > (newest.get(keys[i]!) ?? Number.NEGATIVE_INFINITY)) newest.set(keys[i]!, times[i]!);
  });
  // A time JavaScript cannot read (schemas check the format, so none should come) is left to the database.
  return events.filter((_, i) => Number.isNaN(times[i]) || times[i] === newest.get(keys[i]!));
}

/**
 * The key under which a later event supersedes this one for the projection: the latest values of
 * an asset's metrics depend only on their newest readings, so the windows of an asset and set of
 * metrics older than its newest window can leave the journal without changing what a replay builds
 * (see journal.trim.ts). `ts` is the window's start.
 */
export function compactionKey(event: EventEnvelope): { key: string; ts: string } | undefined {
  if (event.type !== TelemetryAggregated.type) return undefined;
  const d = event.data as TelemetryAggregatedData;
  return { key: telemetryKey(d), ts: d.windowStart };
}

/** `telemetry:<assetId>:<digest of the sorted metric names>` (metric names are up to 100 characters, and many). */
function telemetryKey(d: TelemetryAggregatedData): string {
  const metrics = d.metrics.map((m) => m.metric).sort();
  const digest = createHash('sha256').update(metrics.join('\n')).digest('base64url').slice(0, 22);
  return `telemetry:${d.assetId}:${digest}`;
}

/**
 * The dashboard's event handlers: every projected event type, journaled and applied. Runs of
 * TelemetryAggregated (the bulk of the traffic) are journaled and applied together.
 */
export function projectionHandlers(deps: ProjectionHandlerDeps = {}): EventHandlers {
  const handler: EventHandler = async (tx, event) => {
    if (await journalAndApply(tx, event)) deps.onApplied?.(event);
  };
  const telemetry: BatchEventHandler = async (tx, events) => {
    const applied = await journalAndApplyTelemetry(
      tx,
      events as readonly EventEnvelope<TelemetryAggregatedData>[],
    );
    for (const event of applied) deps.onApplied?.(event);
  };
  return Object.fromEntries(
    projectedEvents.map((def) => [
      def.type,
      def === TelemetryAggregated ? withBatchHandler(handler, telemetry) : handler,
    ]),
  );
}
