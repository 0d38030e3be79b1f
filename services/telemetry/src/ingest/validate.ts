import { METRIC_NAME_PATTERN } from '@assetops/contracts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A reading that passed its own checks (its asset is checked afterwards, in batch). */
export interface ParsedReading {
  assetId: string;
  metric: string;
  value: number;
  tsMs: number;
}

export interface Rejection {
  code: string;
  reason: string;
}

export interface TimeLimits {
  /** Server time the reading was received, the default `ts`. */
  receivedAtMs: number;
  latenessMs: number;
  maxFutureMs: number;
}

/**
 * Parses a reading time: an RFC 3339 string with a zone, or epoch milliseconds. Returns undefined
 * when it is neither.
 */
export function parseTimestamp(ts: unknown): number | undefined {
  if (typeof ts === 'number')
    return Number.isFinite(ts) && Math.abs(ts) < 8.64e15 ? Math.floor(ts) : undefined;
  if (typeof ts !== 'string' || ts.length > 40) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(ts)) return undefined;
  const ms = Date.parse(ts);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Parses a value: a finite number, or a boolean (true = 1, false = 0). */
export function parseValue(value: unknown): number | undefined {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}

/** Checks a reading time against the acceptance window. */
export function checkTime(tsMs: number, limits: TimeLimits): Rejection | undefined {
  if (tsMs > limits.receivedAtMs + limits.maxFutureMs) {
    return {
      code: 'TS_IN_FUTURE',
      reason: `ts is more than ${limits.maxFutureMs} ms ahead of the server clock`,
    };
  }
  if (tsMs < limits.receivedAtMs - limits.latenessMs) {
    return {
      code: 'TOO_LATE',
      reason: `ts is older than the lateness window (${limits.latenessMs} ms, TELEMETRY_LATENESS_WINDOW)`,
    };
  }
  return undefined;
}

/**
 * Validates one reading of an ingest request (`{assetId, metric, value, ts?}`), everything but
 * whether its asset is known.
 */
export function parseReading(input: unknown, limits: TimeLimits): ParsedReading | Rejection {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { code: 'INVALID_READING', reason: 'a reading must be an object {assetId, metric, value, ts?}' };
  }
  const r = input as Record<string, unknown>;
  if (typeof r.assetId !== 'string' || !UUID.test(r.assetId)) {
    return { code: 'INVALID_ASSET_ID', reason: 'assetId must be a UUID' };
  }
  return parseMeasurement(r.assetId.toLowerCase(), r.metric, r.value, r.ts, limits);
}

/** Validates metric, value and time of one measurement of a known-format asset id. */
export function parseMeasurement(
  assetId: string,
  metric: unknown,
  value: unknown,
  ts: unknown,
  limits: TimeLimits,
): ParsedReading | Rejection {
  if (typeof metric !== 'string' || !METRIC_NAME_PATTERN.test(metric)) {
    return {
      code: 'INVALID_METRIC',
      reason: 'metric must start with a letter and hold only letters, digits, _ . - : (at most 100)',
    };
  }
  const parsedValue = parseValue(value);
  if (parsedValue === undefined) {
    return { code: 'INVALID_VALUE', reason: 'value must be a finite number (or a boolean)' };
  }
  let tsMs = limits.receivedAtMs;
  if (ts !== undefined && ts !== null) {
    const parsed = parseTimestamp(ts);
    if (parsed === undefined) {
      return { code: 'INVALID_TS', reason: 'ts must be an RFC 3339 time with a zone, or epoch milliseconds' };
    }
    tsMs = parsed;
  }
  const late = checkTime(tsMs, limits);
  if (late) return late;
  return { assetId, metric, value: parsedValue, tsMs };
}

export const isRejection = (r: ParsedReading | Rejection): r is Rejection => 'code' in r;
