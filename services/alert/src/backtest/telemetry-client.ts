import type { Aggregation, TelemetryQueryResult } from '@assetops/contracts';
import { AppError, NotFoundError, UnavailableError } from '@assetops/platform';
import type { Window } from './backtest.plan.js';

/** One point of a series: a reading (raw) or a bucket's aggregate at the bucket start. */
export interface HistoryPoint {
  tsMs: number;
  value: number;
}

export interface HistoryQuery {
  assetId: string;
  metric: string;
  window: Window;
  /** `raw`, or a bucket width the Telemetry service knows (`1m`, `10s`…). */
  bucket: string;
  /** The bucket width in ms (1 for raw): a refused window is split on a multiple of it. */
  alignMs: number;
  agg?: Aggregation;
}

export interface TelemetryHistoryOptions {
  /** Base URL of the Telemetry service API (ASSETOPS_TELEMETRY_URL). */
  baseUrl: string;
  /** Time limit of one request. */
  timeoutMs?: number;
}

interface Problem {
  code?: string;
  detail?: string;
}

/**
 * Reads an asset's history through the Telemetry service's HTTP API (`GET
 * /api/v1/assets/:id/telemetry`) — never its database. A window the service refuses as too large
 * (400 TOO_MANY_POINTS: its TELEMETRY_MAX_POINTS) is split in two and asked again, so the caller
 * plans windows by expected size and this stays correct whatever the limit is.
 */
export class TelemetryHistory {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(opts: TelemetryHistoryOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async points(query: HistoryQuery): Promise<HistoryPoint[]> {
    const answer = await this.get(query);
    if (answer !== 'too-many') return answer;
    const { fromMs, toMs } = query.window;
    const middle = fromMs + Math.floor((toMs - fromMs) / 2 / query.alignMs) * query.alignMs;
    if (middle <= fromMs) {
      throw new AppError(
        'TELEMETRY_QUERY_FAILED',
        `the telemetry service refuses even one ${query.bucket} bucket of ${query.metric} as too many points`,
        502,
      );
    }
    const first = await this.points({ ...query, window: { fromMs, toMs: middle } });
    const second = await this.points({ ...query, window: { fromMs: middle, toMs } });
    return first.concat(second);
  }

  private async get(query: HistoryQuery): Promise<HistoryPoint[] | 'too-many'> {
    const params = new URLSearchParams({
      metric: query.metric,
      from: new Date(query.window.fromMs).toISOString(),
      to: new Date(query.window.toMs).toISOString(),
      bucket: query.bucket,
    });
    if (query.agg) params.set('agg', query.agg);
    const url = `${this.baseUrl}/api/v1/assets/${encodeURIComponent(query.assetId)}/telemetry?${params}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new UnavailableError(
        'BACKTEST_UNAVAILABLE',
        `the telemetry service at ${this.baseUrl} cannot be reached (${reason(err)}); try again later`,
      );
    }
    if (response.ok) {
      const body = (await response.json()) as TelemetryQueryResult;
      const series = body.series.find((s) => s.metric === query.metric);
      return (series?.points ?? []).flatMap((p) =>
        p.value === null ? [] : [{ tsMs: Date.parse(p.ts), value: p.value }],
      );
    }
    const problem = (await response.json().catch(() => ({}))) as Problem;
    if (response.status === 400 && problem.code === 'TOO_MANY_POINTS') return 'too-many';
    if (response.status === 404 && problem.code === 'ASSET_NOT_FOUND') {
      throw new NotFoundError(
        'ASSET_NOT_FOUND',
        `asset ${query.assetId} is not known to the telemetry service`,
      );
    }
    if (response.status >= 500) {
      throw new UnavailableError(
        'BACKTEST_UNAVAILABLE',
        `the telemetry service answered ${response.status} (${problem.code ?? 'no code'}); try again later`,
      );
    }
    // Any other refusal is a disagreement on the API contract, not the caller's fault.
    throw new AppError(
      'TELEMETRY_QUERY_FAILED',
      `the telemetry service refused the history query: ${response.status} ${problem.code ?? ''} ${problem.detail ?? ''}`.trim(),
      502,
    );
  }
}

function reason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? 'failed';
}
