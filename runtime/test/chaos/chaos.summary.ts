import type { FaultRecord } from './chaos.faults.js';
import type { ServiceRecord } from './chaos.services.js';

/** Everything the chaos test measured; printed at the end (and written as JSON on request). */
export interface ChaosSummary {
  durationSeconds: { configured: number; chaos: number; total: number };
  readings: {
    sent: number;
    acknowledged: number;
    foundStoredOnRetry: number;
    stored: number;
    rejected: number;
    unacknowledged: number;
  };
  ingest: { batches: number; batchesAcknowledged: number; failedAttempts: Record<string, number> };
  /** Seconds from the end of the load until every saga was terminal and every pipeline empty. */
  settleSeconds: number;
  /** The first answer of each failing status, by call. */
  failureSamples: Record<string, string>;
  faults: FaultRecord[];
  ackWaitMs: number;
  inboxDuplicatesDropped: number;
  services: Record<string, ServiceRecord>;
  registrations: { attempted: number; created: number; failed: Record<string, number>; activated: number };
  alerts: {
    total: number;
    raised: number;
    majorOrCritical: number;
    duplicateEpisodes: number;
    duplicateRaisedEvents: number;
  };
  workOrders: {
    total: number;
    fromAlerts: number;
    byStatus: Record<string, number>;
    duplicatesPerAlert: number;
    duplicatesPerEpisode: number;
    duplicateCreatedEvents: number;
    missingForAlerts: number;
    actions: Record<string, { ok: number; conflict: number; failed: number }>;
  };
  sagas: Record<string, number>;
  failedSagaReasons: Record<string, number>;
  deadLetters: Record<string, number>;
  backlog: number;
  reconciliation: { checked: boolean; drift: unknown[]; note: string };
}

const list = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([key, n]) => `${key} ${n}`)
    .join(', ') || 'none';

/** The summary as the closing note quotes it: one fact per line. */
export function formatSummary(s: ChaosSummary): string {
  const byKind: Record<string, number> = {};
  const killed: Record<string, number> = {};
  for (const fault of s.faults) {
    byKind[fault.kind] = (byKind[fault.kind] ?? 0) + 1;
    if (fault.kind === 'sigkill') killed[fault.target] = (killed[fault.target] ?? 0) + 1;
  }
  const pauses = s.faults.filter((f) => f.kind === 'consumer-pause');
  const recoveries = s.faults.filter((f) => f.kind !== 'consumer-pause').map((f) => f.durationMs);
  const crashes = Object.fromEntries(
    Object.entries(s.services)
      .filter(([, r]) => r.unexpectedExits > 0)
      .map(([name, r]) => [name, r.unexpectedExits]),
  );
  const r = s.readings;
  const w = s.workOrders;
  return [
    '=== AssetOps chaos test: summary ===',
    `duration: ${s.durationSeconds.chaos.toFixed(1)} s of load and faults (CHAOS_DURATION=${s.durationSeconds.configured}), ${s.durationSeconds.total.toFixed(1)} s in all`,
    `readings: sent ${r.sent}, acknowledged ${r.acknowledged} (of which ${r.foundStoredOnRetry} a retry found already stored), stored ${r.stored}; rejected ${r.rejected}, unacknowledged ${r.unacknowledged}`,
    `ingest: ${s.ingest.batches} batches, ${s.ingest.batchesAcknowledged} acknowledged; failed attempts (retried with the same readings) by status: ${list(s.ingest.failedAttempts)}`,
    `settled ${s.settleSeconds.toFixed(1)} s after the load stopped (every saga terminal, every outbox, inbox and consumer empty)`,
    `faults injected: ${list(byKind)}; SIGKILL by service: ${list(killed)}`,
    `consumer pauses: ${pauses.map((p) => `${p.target} ${(p.durationMs / 1000).toFixed(1)} s`).join(', ') || 'none'} (ack wait ${s.ackWaitMs / 1000} s)`,
    `recovery after a fault: ${recoveries.length ? `max ${(Math.max(...recoveries) / 1000).toFixed(1)} s, median ${(median(recoveries) / 1000).toFixed(1)} s` : 'n/a'}; unexpected exits (restarted): ${list(crashes)}`,
    `redeliveries dropped by inboxes (counted before each kill and at the end): ${s.inboxDuplicatesDropped}`,
    `registrations during the run: ${s.registrations.created} created, failed by status: ${list(s.registrations.failed)} (not retried), ${s.registrations.activated} active while the load ran`,
    `alerts: ${s.alerts.total} (${s.alerts.raised} raised, ${s.alerts.majorOrCritical} major/critical); duplicate episodes ${s.alerts.duplicateEpisodes}, duplicate AlertRaised events ${s.alerts.duplicateRaisedEvents}`,
    `work orders: ${w.total} (${w.fromAlerts} from alerts; ${list(w.byStatus)}); duplicates per alert ${w.duplicatesPerAlert}, per episode ${w.duplicatesPerEpisode}, duplicate WorkOrderCreated ${w.duplicateCreatedEvents}, missing for major/critical alerts ${w.missingForAlerts}`,
    `work-order transitions: ${
      Object.entries(w.actions)
        .map(([a, c]) => `${a} ${c.ok} ok/${c.conflict} conflict/${c.failed} failed`)
        .join(', ') || 'none'
    }`,
    `sagas by status: ${list(s.sagas)}${Object.keys(s.failedSagaReasons).length ? `; failed because: ${list(s.failedSagaReasons)}` : ''}`,
    `dead letters: ${list(s.deadLetters)}; events still in flight after settling: ${s.backlog}`,
    `dashboard reconciliation: ${s.reconciliation.note}`,
    ...Object.entries(s.failureSamples).map(([call, body]) => `  first answer of ${call}: ${body}`),
  ].join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
