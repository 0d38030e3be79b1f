import type {
  Asset,
  AssetPage,
  CreateMaintenancePlanBody,
  CreateTechnicianBody,
  IngestResult,
  MaintenancePlan,
  RegisterAssetBody,
  Technician,
} from '@assetops/contracts';
import { AppError } from '@assetops/platform';

/**
 * A small client of the AssetOps HTTP API (the gateway, with a bearer token) for the demo and the
 * simulator CLI: they use the platform the way any outside client does.
 */
export interface ApiClient {
  baseUrl: string;
  /** Sends a request; a non-2xx answer throws an {@link AppError} with the problem's `code`. */
  call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T>;
}

/** Thrown when the API cannot be reached at all (`code` `API_UNREACHABLE`, retryable). */
export const API_UNREACHABLE = 'API_UNREACHABLE';

/**
 * @example
 * const api = createApiClient({ baseUrl: 'http://localhost:8080', token });
 * const page = await api.call<AssetPage>('GET', '/api/v1/assets?limit=1');
 */
export function createApiClient(opts: { baseUrl: string; token: string; timeoutMs?: number }): ApiClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return {
    baseUrl,
    async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Response;
      try {
        res = await fetch(`${baseUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${opts.token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
        throw new AppError(API_UNREACHABLE, `${method} ${baseUrl}${path}: ${cause}`, 0, true);
      }
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      if (!res.ok) {
        const problem = (parsed ?? {}) as { code?: string; detail?: string; title?: string };
        throw new AppError(
          problem.code ?? `HTTP_${res.status}`,
          `${method} ${path}: ${res.status} ${problem.detail ?? problem.title ?? text.slice(0, 200)}`,
          res.status,
          res.status >= 500 || res.status === 429,
        );
      }
      return parsed as T;
    },
  };
}

/** Every asset the API lists for a query (all pages). */
export async function listAllAssets(
  api: ApiClient,
  query: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Asset[]> {
  const assets: Asset[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ ...query, limit: '500', ...(cursor ? { cursor } : {}) });
    const page: AssetPage = await api.call<AssetPage>('GET', `/api/v1/assets?${params}`, undefined, signal);
    assets.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return assets;
}

export function registerAsset(api: ApiClient, body: RegisterAssetBody, signal?: AbortSignal): Promise<Asset> {
  return api.call<Asset>('POST', '/api/v1/assets', body, signal);
}

export function createTechnician(
  api: ApiClient,
  body: CreateTechnicianBody,
  signal?: AbortSignal,
): Promise<Technician> {
  return api.call<Technician>('POST', '/api/v1/technicians', body, signal);
}

export function createMaintenancePlan(
  api: ApiClient,
  body: CreateMaintenancePlanBody,
  signal?: AbortSignal,
): Promise<MaintenancePlan> {
  return api.call<MaintenancePlan>('POST', '/api/v1/maintenance-plans', body, signal);
}

/** The readings as `POST /api/v1/telemetry` takes them (`ts` in RFC 3339). */
export function postReadings(
  api: ApiClient,
  readings: readonly { assetId: string; metric: string; value: number; ts: number }[],
  signal?: AbortSignal,
): Promise<IngestResult> {
  const body = {
    readings: readings.map((r) => ({
      assetId: r.assetId,
      metric: r.metric,
      value: r.value,
      ts: new Date(r.ts).toISOString(),
    })),
  };
  return api.call<IngestResult>('POST', '/api/v1/telemetry', body, signal);
}

/**
 * Waits until the onboarding saga of each asset has made it `active` (polling). Resolves with the
 * assets as they then are; those still not active when `timeoutMs` ran out are returned as they
 * stand (a failed onboarding leaves `commissioning_failed`).
 */
export async function waitUntilActive(
  api: ApiClient,
  ids: readonly string[],
  opts: { timeoutMs: number; pollMs?: number; signal?: AbortSignal },
): Promise<Asset[]> {
  const until = Date.now() + opts.timeoutMs;
  const latest = new Map<string, Asset>();
  let pending = [...ids];
  for (;;) {
    const seen = await Promise.all(
      pending.map((id) => api.call<Asset>('GET', `/api/v1/assets/${id}`, undefined, opts.signal)),
    );
    for (const asset of seen) latest.set(asset.id, asset);
    // Commissioning is the only state that still moves on its own.
    pending = seen.filter((a) => a.status === 'commissioning').map((a) => a.id);
    if (pending.length === 0 || Date.now() > until) break;
    await sleep(opts.pollMs ?? 250, opts.signal);
  }
  return ids.map((id) => latest.get(id)).filter((a): a is Asset => a !== undefined);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
