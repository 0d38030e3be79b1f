import {
  AssetStatuses,
  Severities,
  type Severity,
  type SeverityCounts,
  type WorkOrderStatus,
} from '@assetops/contracts';

/** Severity order, lowest first: an escalation never lowers it, whatever order events arrive in. */
export function severityRank(severity: Severity): number {
  return Severities.indexOf(severity);
}

/** The higher of two severities. */
export function worseSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

// Counts above this saturate: the score then still orders by the worse severities first.
const SCORE_CAP = 999;

/**
 * The worst-first sort key of an asset's active alerts: critical, then major, warning and info
 * counts, as one number (each level capped at 999).
 *
 * @example
 * alertScore({ info: 0, warning: 2, major: 1, critical: 0 }); // 1_002_000
 */
export function alertScore(counts: SeverityCounts): number {
  const cap = (n: number) => Math.min(n, SCORE_CAP);
  return (
    cap(counts.critical) * 1_000_000_000 +
    cap(counts.major) * 1_000_000 +
    cap(counts.warning) * 1_000 +
    cap(counts.info)
  );
}

/** Work orders that are not over: these count as open on the dashboard. */
export const OpenWorkOrderStatuses: readonly WorkOrderStatus[] = [
  'open',
  'assigned',
  'in_progress',
  'on_hold',
];

/** Statuses that put an asset on the fleet's "needs attention" list by themselves. */
export const AttentionStatuses = ['commissioning_failed'] as const;

/** A record with every key set to 0 (every status or severity is present in the totals). */
export function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export const emptySeverityCounts = (): SeverityCounts => zeroCounts(Severities);
export const emptyStatusCounts = () => zeroCounts(AssetStatuses);
