import type { AlertRule, ClearCondition, Condition, Severity } from '@assetops/contracts';
import type { RuleSpec } from '../evaluation/engine.js';

/** A `rules` row as PostgreSQL returns it. */
export interface RuleRow {
  id: string;
  name: string;
  asset_id: string | null;
  asset_type: string | null;
  metric: string;
  condition: Condition;
  severity: Severity;
  for_ms: number;
  clear: ClearCondition | null;
  keep_firing_ms: number;
  escalation: { severity: Severity; afterSeconds: number } | null;
  enabled: boolean;
  origin: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const RULE_COLUMNS = `id, name, asset_id, asset_type, metric, condition, severity, for_ms, clear,
  keep_firing_ms, escalation, enabled, origin, version, created_at, updated_at`;

/**
 * SQL: when the evaluation of rule `r` falls due for a no-data check, counted from `lastSeen` (the
 * rule's silence plus its `for` time, as `silenceMs` in the engine); NULL for other kinds of rule and
 * for a disabled rule.
 */
export const silentAtSql = (lastSeen: string) =>
  `CASE WHEN r.enabled AND r.condition->>'kind' = 'no_data' THEN ${lastSeen} + ((r.condition->>'seconds')::float8 * 1000 + r.for_ms) * interval '1 millisecond' END`;

/** {@link RULE_COLUMNS} of the table aliased `r`, for joins. */
export const RULE_COLUMNS_R = RULE_COLUMNS.replaceAll(/(\w+)/g, 'r.$1');

/** A rule as the API shows it. */
export function toRule(row: RuleRow): AlertRule {
  return {
    id: row.id,
    name: row.name,
    assetId: row.asset_id,
    assetType: row.asset_type,
    metric: row.metric,
    condition: row.condition,
    severity: row.severity,
    forSeconds: row.for_ms / 1000,
    clear: row.clear,
    keepFiringSeconds: row.keep_firing_ms / 1000,
    escalation: row.escalation,
    enabled: row.enabled,
    origin: row.origin,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** What the evaluation engine needs of a rule. */
export function specOf(
  rule: Pick<AlertRule, 'condition' | 'forSeconds' | 'clear' | 'keepFiringSeconds' | 'escalation'>,
): RuleSpec {
  return {
    condition: rule.condition,
    forMs: Math.round(rule.forSeconds * 1000),
    clear: rule.clear,
    keepFiringMs: Math.round(rule.keepFiringSeconds * 1000),
    escalation: rule.escalation
      ? { severity: rule.escalation.severity, afterMs: Math.round(rule.escalation.afterSeconds * 1000) }
      : null,
  };
}
