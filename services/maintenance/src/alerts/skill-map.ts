/**
 * Which skill the work order of an alert requires: by the alert's metric first (a vibration alert
 * needs a mechanic whatever the asset), then by the asset's type. Nothing matching: no skill
 * required, any technician may take it.
 */
export interface SkillMap {
  metrics: Record<string, string>;
  assetTypes: Record<string, string>;
}

export function requiredSkillFor(
  map: SkillMap,
  alert: { metric?: string | undefined; assetType?: string | undefined },
): string | null {
  const byMetric = alert.metric === undefined ? undefined : own(map.metrics, alert.metric);
  if (byMetric) return byMetric;
  return (alert.assetType === undefined ? undefined : own(map.assetTypes, alert.assetType)) ?? null;
}

// Keys come from the configuration and names from events: never let `constructor` or `__proto__`
// resolve to something inherited.
function own(record: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
