import type { DriftItem, ReconciliationReport } from '@assetops/contracts';

/** What reconciliation compares, from one side (a source service's API, or the read model). */
export interface Snapshot {
  assets?: { id: string; status: string }[] | undefined;
  /** Active alerts: `firing` or `acknowledged`. */
  alerts?: { id: string; assetId: string; severity: string; status: string }[] | undefined;
  /** Work orders that are not over. */
  workOrders?: { id: string; assetId: string; status: string }[] | undefined;
}

const MAX_DRIFT_ITEMS = 1_000;

type Counts = ReconciliationReport['counts'];

/**
 * Compares the read model with the sources, item by item and as counts. A part the source could
 * not provide (`undefined`) is not compared.
 *
 * @example
 * reconcile({ assets: [{ id, status: 'active' }] }, { assets: [{ id, status: 'commissioning' }] }).drift;
 * // [{ kind: 'asset', id, assetId: id, issue: 'mismatch', field: 'status', source: 'active', readModel: 'commissioning' }]
 */
export function reconcile(
  source: Snapshot,
  readModel: Snapshot,
): { counts: Counts; drift: DriftItem[]; driftCount: number } {
  const drift: DriftItem[] = [];
  const counts: Counts = { assetsByStatus: {}, activeAlertsBySeverity: {}, openWorkOrdersByStatus: {} };
  if (source.assets) {
    compare(drift, 'asset', source.assets, readModel.assets ?? [], (a) => a.id, ['status']);
    counts.assetsByStatus = countBy(source.assets, readModel.assets ?? [], (a) => a.status);
  }
  if (source.alerts) {
    compare(drift, 'alert', source.alerts, readModel.alerts ?? [], (a) => a.assetId, ['severity', 'status']);
    counts.activeAlertsBySeverity = countBy(source.alerts, readModel.alerts ?? [], (a) => a.severity);
  }
  if (source.workOrders) {
    compare(drift, 'work-order', source.workOrders, readModel.workOrders ?? [], (w) => w.assetId, ['status']);
    counts.openWorkOrdersByStatus = countBy(source.workOrders, readModel.workOrders ?? [], (w) => w.status);
  }
  drift.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
  return { counts, drift: drift.slice(0, MAX_DRIFT_ITEMS), driftCount: drift.length };
}

function compare<T extends { id: string }>(
  drift: DriftItem[],
  kind: DriftItem['kind'],
  source: readonly T[],
  readModel: readonly T[],
  assetOf: (item: T) => string,
  fields: readonly (keyof T & string)[],
): void {
  const modelById = new Map(readModel.map((item) => [item.id, item]));
  const sourceIds = new Set<string>();
  for (const item of source) {
    sourceIds.add(item.id);
    const model = modelById.get(item.id);
    if (!model) {
      drift.push({
        kind,
        id: item.id,
        assetId: assetOf(item),
        issue: 'missing',
        field: null,
        source: item,
        readModel: null,
      });
      continue;
    }
    for (const field of fields) {
      if (item[field] !== model[field]) {
        drift.push({
          kind,
          id: item.id,
          assetId: assetOf(item),
          issue: 'mismatch',
          field,
          source: item[field],
          readModel: model[field],
        });
      }
    }
  }
  for (const model of readModel) {
    if (!sourceIds.has(model.id)) {
      drift.push({
        kind,
        id: model.id,
        assetId: assetOf(model),
        issue: 'unexpected',
        field: null,
        source: null,
        readModel: model,
      });
    }
  }
}

function countBy<T>(
  source: readonly T[],
  readModel: readonly T[],
  key: (item: T) => string,
): Record<string, { source: number; readModel: number }> {
  const counts: Record<string, { source: number; readModel: number }> = {};
  const entry = (k: string) => {
    counts[k] ??= { source: 0, readModel: 0 };
    return counts[k];
  };
  for (const item of source) entry(key(item)).source += 1;
  for (const item of readModel) entry(key(item)).readModel += 1;
  return counts;
}
