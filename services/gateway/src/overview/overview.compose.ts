import { describeUpstreamError, type Upstream } from '../upstreams/upstreams.js';
import type { JsonAnswer } from './overview.client.js';

/** The services an overview is composed from, by the names the route table and `degraded` use. */
export const OVERVIEW_PARTS = ['asset', 'telemetry', 'alert', 'maintenance'] as const;
export type OverviewPart = (typeof OVERVIEW_PARTS)[number];

/** Work-order statuses that count as open (not completed, not cancelled). */
export const OPEN_WORK_ORDER_STATUSES = ['open', 'assigned', 'in_progress', 'on_hold'] as const;

/** How many active alerts, and open work orders, an overview carries at most (each list). */
export const OVERVIEW_LIST_LIMIT = 100;

/** One asset's overview: each part is null when its service could not answer (then listed in `degraded`). */
export interface AssetOverview {
  asset: Record<string, unknown> | null;
  latest: { assetId: string; values: unknown[] } | null;
  alerts: unknown[] | null;
  workOrders: unknown[] | null;
  degraded: OverviewPart[];
}

/** The asset service said the asset does not exist: the whole overview is a 404. */
export interface OverviewNotFound {
  notFound: true;
  /** The asset service's own problem document, when it sent one. */
  problem: Record<string, unknown> | undefined;
}

/** An HTTP GET of one JSON document from an upstream: status and parsed body, or a thrown reason. */
export type FetchJson = (upstream: Upstream, path: string, signal: AbortSignal) => Promise<JsonAnswer>;

export interface ComposeOverviewOptions {
  assetId: string;
  upstreams: ReadonlyMap<string, Upstream>;
  /** Budget of each upstream call, headers and body together. */
  timeoutMs: number;
  fetchJson: FetchJson;
  /** Told about each part that could not be had, and why (for logs and metrics). */
  onDegraded?: (part: OverviewPart, reason: string) => void;
}

/** A part that could not be had: its service is down, slow, unconfigured or answered an error. */
class PartUnavailable extends Error {}

/**
 * Composes the overview of one asset from the Asset, Telemetry, Alert and Maintenance APIs: one
 * call each, in parallel, each with the time budget `timeoutMs`. A part that fails is null and named
 * in `degraded`; only the asset service saying 404 fails the whole document, because then there is
 * nothing to show.
 *
 * The Telemetry service answers 404 for an asset it has not heard of yet (registered a moment ago):
 * that is "no readings", not a failure, so `latest` is then empty rather than degraded.
 *
 * @example
 * const overview = await composeOverview({ assetId, upstreams, timeoutMs: 1_000, fetchJson });
 * if ('notFound' in overview) reply.code(404); else overview.degraded; // e.g. ['alert']
 */
export async function composeOverview(
  opts: ComposeOverviewOptions,
): Promise<AssetOverview | OverviewNotFound> {
  const id = encodeURIComponent(opts.assetId);
  // The calls start together, so one timer gives each the same budget it would have had alone; it
  // is cleared as soon as the last one settled (a timer per call would outlive most answers).
  const budget = new AbortController();
  const timer = setTimeout(
    () => budget.abort(new DOMException(`no answer within ${opts.timeoutMs} ms`, 'TimeoutError')),
    opts.timeoutMs,
  );
  const get = async (part: OverviewPart, path: string) => {
    const upstream = opts.upstreams.get(part);
    if (upstream === undefined) throw new PartUnavailable('not configured');
    try {
      return await opts.fetchJson(upstream, path, budget.signal);
    } catch (err) {
      throw new PartUnavailable(err instanceof SyntaxError ? 'invalid JSON' : describeUpstreamError(err));
    }
  };
  const expectOk = (response: JsonAnswer) => {
    if (response.status !== 200) throw new PartUnavailable(`answered ${response.status}`);
    return response.body;
  };

  const [asset, latest, alerts, workOrders] = await Promise.allSettled([
    get('asset', `/api/v1/assets/${id}`),
    get('telemetry', `/api/v1/assets/${id}/telemetry/latest`).then((response) =>
      response.status === 404 ? { assetId: opts.assetId, values: [] } : latestValues(expectOk(response)),
    ),
    get('alert', `/api/v1/alerts?assetId=${id}&status=active&limit=${OVERVIEW_LIST_LIMIT}`).then((response) =>
      pageItems(expectOk(response)),
    ),
    // One call for every open status (the list takes several), newest first as the service sorts.
    get(
      'maintenance',
      `/api/v1/work-orders?assetId=${id}&status=${OPEN_WORK_ORDER_STATUSES.join(',')}&limit=${OVERVIEW_LIST_LIMIT}`,
    ).then((response) => pageItems(expectOk(response))),
  ]).finally(() => clearTimeout(timer));

  if (asset.status === 'fulfilled' && asset.value.status === 404) {
    return { notFound: true, problem: isObject(asset.value.body) ? asset.value.body : undefined };
  }

  const degraded: OverviewPart[] = [];
  const settle = <T>(part: OverviewPart, result: PromiseSettledResult<T>): T | null => {
    if (result.status === 'fulfilled') return result.value;
    degraded.push(part);
    opts.onDegraded?.(part, (result.reason as Error).message);
    return null;
  };
  const assetPart = settle(
    'asset',
    asset.status === 'fulfilled'
      ? settledOf(() => {
          const body = expectOk(asset.value);
          if (!isObject(body)) throw new PartUnavailable('not an asset');
          return body;
        })
      : asset,
  );
  return {
    asset: assetPart,
    latest: settle('telemetry', latest),
    alerts: settle('alert', alerts),
    workOrders: settle('maintenance', workOrders),
    degraded,
  };
}

function settledOf<T>(compute: () => T): PromiseSettledResult<T> {
  try {
    return { status: 'fulfilled', value: compute() };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function pageItems(body: unknown): unknown[] {
  const items = isObject(body) ? body.items : undefined;
  if (!Array.isArray(items)) throw new PartUnavailable('not a page of items');
  return items;
}

function latestValues(body: unknown): { assetId: string; values: unknown[] } {
  if (!isObject(body) || !Array.isArray(body.values) || typeof body.assetId !== 'string') {
    throw new PartUnavailable('not a list of latest values');
  }
  return { assetId: body.assetId, values: body.values };
}
