import { type EventEnvelope, TelemetryAggregated, type TelemetryAggregatedData } from '@assetops/contracts';
import type { EventHandler, EventHandlers, PoolClient } from '@assetops/platform';
import { applyEvent, projectedEvents } from './projection.apply.js';

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
 * The key under which a later event supersedes this one for the projection: the latest value of
 * an asset's metric depends only on the newest reading, so older telemetry windows of the same
 * asset and metric can leave the journal without changing what a replay builds.
 */
export function compactionKey(event: EventEnvelope): { key: string; ts: string } | undefined {
  if (event.type !== TelemetryAggregated.type) return undefined;
  const d = event.data as TelemetryAggregatedData;
  return { key: `telemetry:${d.assetId}:${d.metric}`, ts: d.lastTs };
}

/** The dashboard's event handlers: every projected event type, journaled and applied. */
export function projectionHandlers(deps: ProjectionHandlerDeps = {}): EventHandlers {
  const handler: EventHandler = async (tx, event) => {
    if (await journalAndApply(tx, event)) deps.onApplied?.(event);
  };
  return Object.fromEntries(projectedEvents.map((def) => [def.type, handler]));
}
