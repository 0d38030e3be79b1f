import type { AlertRule, CreateRuleBody } from '@assetops/contracts';
import { type Queryable, ValidationError } from '@assetops/platform';
import { RULE_COLUMNS, type RuleRow, toRule } from './rule.model.js';

/**
 * Checks what the schema cannot: exactly one target, a range with low < high, a clear threshold on
 * the right side of the firing one. Throws a 400 naming the field.
 */
export function validateRule(input: CreateRuleBody): void {
  const issues: { path: string; message: string }[] = [];
  const hasAsset = input.assetId != null;
  const hasType = input.assetType != null;
  if (hasAsset === hasType)
    issues.push({ path: '/body/assetId', message: 'give exactly one of assetId and assetType' });
  const c = input.condition;
  const clear = input.clear ?? null;
  if ((c.kind === 'outside' || c.kind === 'inside') && !(c.low < c.high)) {
    issues.push({ path: '/body/condition/low', message: 'low must be below high' });
  }
  if (clear) {
    if (c.kind === 'above' && clear.threshold !== undefined && clear.threshold > c.threshold) {
      issues.push({
        path: '/body/clear/threshold',
        message: 'must not be above the firing threshold of an above rule',
      });
    }
    if (c.kind === 'below' && clear.threshold !== undefined && clear.threshold < c.threshold) {
      issues.push({
        path: '/body/clear/threshold',
        message: 'must not be below the firing threshold of a below rule',
      });
    }
    if (c.kind === 'outside' && ((clear.low ?? c.low) < c.low || (clear.high ?? c.high) > c.high)) {
      issues.push({
        path: '/body/clear',
        message: 'the clear band of an outside rule must lie within [low, high]',
      });
    }
    if (c.kind === 'inside' && ((clear.low ?? c.low) > c.low || (clear.high ?? c.high) < c.high)) {
      issues.push({
        path: '/body/clear',
        message: 'the clear band of an inside rule must contain [low, high]',
      });
    }
  }
  if (input.escalation && SEVERITY_RANK[input.escalation.severity] <= SEVERITY_RANK[input.severity]) {
    issues.push({ path: '/body/escalation/severity', message: 'must be higher than the rule severity' });
  }
  if (issues.length > 0) {
    throw new ValidationError(
      'INVALID_RULE',
      issues.map((i) => `${i.path}: ${i.message}`).join('; '),
      issues,
    );
  }
}

export const SEVERITY_RANK = { info: 0, warning: 1, major: 2, critical: 3 } as const;

/** Inserts a validated rule; `origin` is `user` or `profile:<type>`. */
export async function insertRule(
  db: Queryable,
  id: string,
  input: CreateRuleBody,
  origin: string,
  now: Date,
): Promise<AlertRule> {
  validateRule(input);
  const { rows } = await db.query<RuleRow>(
    `INSERT INTO rules (id, name, asset_id, asset_type, metric, condition, severity, for_ms, clear,
                        keep_firing_ms, escalation, enabled, origin, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
     RETURNING ${RULE_COLUMNS}`,
    [
      id,
      input.name,
      input.assetId ?? null,
      input.assetType ?? null,
      input.metric,
      JSON.stringify(input.condition),
      input.severity,
      Math.round((input.forSeconds ?? 0) * 1000),
      input.clear ? JSON.stringify(input.clear) : null,
      Math.round((input.keepFiringSeconds ?? 0) * 1000),
      input.escalation ? JSON.stringify(input.escalation) : null,
      input.enabled ?? true,
      origin,
      now,
    ],
  );
  return toRule(rows[0]!);
}
