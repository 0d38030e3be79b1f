import { randomUUID } from 'node:crypto';
import { integer, loadConfig, optional, string, url } from './config.js';
import type { MetricsRegistry } from './http/metrics.js';
import type { Logger } from './logger.js';
import { withTimeout } from './timeout.js';

/**
 * Pushes a service's Prometheus registry to an OpenTelemetry collector over OTLP/HTTP with JSON
 * encoding — the metrics counterpart of the span exporter in `tracing.ts`, with no OpenTelemetry
 * SDK: the registry stays the one source of truth (also served at `/metrics`), and each push is a
 * snapshot of it converted to OTLP. Counters become cumulative monotonic sums, gauges gauges,
 * histograms cumulative histograms (Prometheus' cumulative `le` buckets turned into per-bucket
 * counts), summaries summaries; labels become attributes.
 */

/** Where and how often metrics are pushed; `undefined` from {@link otlpMetricsSettings} means not at all. */
export interface OtlpMetricsSettings {
  /** The full URL pushed to, e.g. `http://collector:4318/v1/metrics`. */
  endpoint: string;
  intervalMs: number;
  /** `service.name` of the resource; default `assetops-<service>` (as the spans have). */
  serviceName: string | undefined;
}

/** The standard OpenTelemetry variables the metrics export reads (checked at start, like every setting). */
export const otlpMetricsConfigSpec = {
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(
    url({
      protocols: ['http:', 'https:'],
      description: 'OpenTelemetry collector base URL (OTLP/HTTP): /v1/traces and /v1/metrics are appended',
    }),
  ),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: optional(
    url({ protocols: ['http:', 'https:'], description: 'OTLP/HTTP metrics URL, used as it is' }),
  ),
  OTEL_METRIC_EXPORT_INTERVAL: integer({
    default: 60_000,
    min: 100,
    max: 86_400_000,
    description: 'milliseconds between two pushes of the metrics',
  }),
  OTEL_METRICS_EXPORTER: string({
    default: 'otlp',
    oneOf: ['otlp', 'none'],
    description: "'none' turns the metrics export off while spans are still exported",
  }),
  OTEL_SERVICE_NAME: optional(string({ description: 'service.name of the exported metrics' })),
};

/**
 * The metrics export settings of an environment, with the standard OpenTelemetry semantics:
 * `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is used as it is, else `OTEL_EXPORTER_OTLP_ENDPOINT` gets
 * `/v1/metrics` appended; neither set (or `OTEL_METRICS_EXPORTER=none`): `undefined`, no export.
 * A malformed value throws a `ConfigError` (the process stops at start).
 *
 * @example
 * otlpMetricsSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
 * // { endpoint: 'http://collector:4318/v1/metrics', intervalMs: 60000, serviceName: undefined }
 */
export function otlpMetricsSettings(
  env: Record<string, string | undefined>,
): OtlpMetricsSettings | undefined {
  const config = loadConfig(otlpMetricsConfigSpec, env);
  if (config.OTEL_METRICS_EXPORTER === 'none') return undefined;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint =
    config.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ??
    (base ? `${base.replace(/\/+$/, '')}/v1/metrics` : undefined);
  if (!endpoint) return undefined;
  return { endpoint, intervalMs: config.OTEL_METRIC_EXPORT_INTERVAL, serviceName: config.OTEL_SERVICE_NAME };
}

/** A periodic push of one registry; `shutdown` stops it after a last push. Neither ever throws. */
export interface OtlpMetricsExporter {
  /** Pushes a snapshot now (after any push under way); resolves whether it succeeded or not. */
  flush(): Promise<void>;
  /** Stops the timer and pushes a last snapshot (idempotent). */
  shutdown(): Promise<void>;
  /** Pushes that failed (refused, unreachable, timed out) since the start. */
  failures(): number;
}

// One id per process: two instances of a service push the same series, and a collector tells
// their cumulative counts apart by this resource attribute (Prometheus does it with `instance`).
const processInstanceId = randomUUID();

/**
 * Starts pushing `registry` every `intervalMs`. A push is given at most 10 s (or the interval, when
 * shorter); one still under way when the next is due makes that one skipped, not queued, so a slow
 * collector never piles up work or memory. Failures are logged (a warning when pushing starts to
 * fail, then quietly until it works again) and never thrown.
 *
 * @example
 * const settings = otlpMetricsSettings(process.env);
 * const exporter = settings && createOtlpMetricsExporter({ registry, service: 'asset', logger, ...settings });
 * await exporter?.shutdown(); // at close: the last values are pushed
 */
export function createOtlpMetricsExporter(opts: {
  registry: MetricsRegistry;
  service: string;
  endpoint: string;
  intervalMs: number;
  serviceName?: string | undefined;
  logger?: Logger | undefined;
  headers?: Record<string, string>;
}): OtlpMetricsExporter {
  const timeoutMs = Math.min(10_000, opts.intervalMs);
  const startTimeUnixNano = unixNano(Date.now());
  const resource = {
    'service.name': opts.serviceName ?? `assetops-${opts.service}`,
    'service.instance.id': processInstanceId,
  };
  let failures = 0;
  let failing = false;
  let pushing: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  async function push(): Promise<void> {
    const startedMs = Date.now();
    try {
      const body = toOtlpMetrics(
        await withTimeout(
          opts.registry.getMetricsAsJSON(),
          timeoutMs,
          `collecting the metrics took over ${timeoutMs} ms`,
        ),
        {
          resource,
          startTimeUnixNano,
          timeUnixNano: unixNano(Date.now()),
        },
      );
      const response = await fetch(opts.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers },
        body: JSON.stringify(body),
        // One time limit for the whole push, collection included.
        signal: AbortSignal.timeout(Math.max(1, timeoutMs - (Date.now() - startedMs))),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`the collector answered HTTP ${response.status}`);
      if (failing) opts.logger?.info({ endpoint: opts.endpoint }, 'metrics export works again');
      failing = false;
    } catch (err) {
      failures += 1;
      if (!failing) opts.logger?.warn({ err, endpoint: opts.endpoint }, 'metrics export failed');
      else opts.logger?.debug({ err, endpoint: opts.endpoint }, 'metrics export failed again');
      failing = true;
    }
  }

  function tick(): void {
    if (pushing) return;
    pushing = push().finally(() => {
      pushing = undefined;
    });
  }

  async function flush(): Promise<void> {
    while (pushing) await pushing;
    pushing = push().finally(() => {
      pushing = undefined;
    });
    await pushing;
  }

  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  return {
    flush,
    shutdown() {
      stopped ??= (async () => {
        clearInterval(timer);
        await flush();
      })();
      return stopped;
    },
    failures: () => failures,
  };
}

/** A metric as prom-client's `getMetricsAsJSON` gives it (its declared `type` is an enum; it is a string). */
interface PromMetric {
  name: string;
  help: string;
  type: unknown;
  values: { labels: Labels; value: number; metricName?: string | undefined }[];
}

type Labels = Partial<Record<string, string | number>>;
type OtlpAttribute = { key: string; value: { stringValue: string } };
type OtlpDouble = number | 'NaN' | 'Infinity' | '-Infinity';

/** One metric of an OTLP request: exactly one of sum, gauge, histogram or summary. */
type OtlpMetric = { name: string; description: string } & (
  | { sum: { aggregationTemporality: number; isMonotonic: boolean; dataPoints: object[] } }
  | { gauge: { dataPoints: object[] } }
  | { histogram: { aggregationTemporality: number; dataPoints: object[] } }
  | { summary: { dataPoints: object[] } }
);

/**
 * Converts a prom-client registry snapshot into an OTLP `ExportMetricsServiceRequest` (JSON
 * encoding: 64-bit integers and times as strings). Pure.
 *
 * @example
 * toOtlpMetrics(await registry.getMetricsAsJSON(), {
 *   resource: { 'service.name': 'assetops-asset' }, startTimeUnixNano: '1…', timeUnixNano: '2…',
 * });
 */
export function toOtlpMetrics(
  metrics: readonly PromMetric[],
  opts: { resource: Record<string, string>; startTimeUnixNano: string; timeUnixNano: string },
) {
  const times = { startTimeUnixNano: opts.startTimeUnixNano, timeUnixNano: opts.timeUnixNano };
  const converted = metrics.flatMap((metric): OtlpMetric[] => {
    const head = { name: metric.name, description: metric.help };
    switch (String(metric.type)) {
      case 'counter':
        return [
          {
            ...head,
            sum: {
              aggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE,
              isMonotonic: true,
              dataPoints: metric.values.map((v) => ({
                attributes: attributes(v.labels),
                ...times,
                asDouble: double(v.value),
              })),
            },
          },
        ];
      case 'gauge':
        return [
          {
            ...head,
            gauge: {
              dataPoints: metric.values.map((v) => ({
                attributes: attributes(v.labels),
                timeUnixNano: opts.timeUnixNano,
                asDouble: double(v.value),
              })),
            },
          },
        ];
      case 'histogram':
        return [
          {
            ...head,
            histogram: {
              aggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE,
              dataPoints: histogramPoints(metric).map((point) => ({ ...point, ...times })),
            },
          },
        ];
      case 'summary':
        return [
          {
            ...head,
            summary: { dataPoints: summaryPoints(metric).map((point) => ({ ...point, ...times })) },
          },
        ];
      default:
        return [];
    }
  });
  return {
    resourceMetrics: [
      {
        resource: { attributes: attributes(opts.resource) },
        scopeMetrics: [{ scope: { name: '@assetops/platform' }, metrics: converted }],
      },
    ],
  };
}

/** OTLP's AGGREGATION_TEMPORALITY_CUMULATIVE: every point counts from the start time. */
const AGGREGATION_TEMPORALITY_CUMULATIVE = 2;

/**
 * The series of a histogram or summary by label set: its `_sum`, its `_count`, and its parts — the
 * samples that carry `mark` (`le` for buckets, `quantile` for quantiles), each turned into a part
 * by `part` (which may leave one out).
 */
function seriesOf<P>(
  metric: PromMetric,
  mark: 'le' | 'quantile',
  part: (mark: string | number, value: number) => P | undefined,
): { labels: Labels; parts: P[]; sum: number; count: number }[] {
  const series = new Map<string, { labels: Labels; parts: P[]; sum: number; count: number }>();
  for (const v of metric.values) {
    const { [mark]: at, ...labels } = v.labels;
    const key = seriesKey(labels);
    let entry = series.get(key);
    if (!entry) {
      entry = { labels, parts: [], sum: 0, count: 0 };
      series.set(key, entry);
    }
    if (v.metricName === `${metric.name}_sum`) entry.sum = v.value;
    else if (v.metricName === `${metric.name}_count`) entry.count = v.value;
    else if (at !== undefined) {
      const p = part(at, v.value);
      if (p !== undefined) entry.parts.push(p);
    }
  }
  return [...series.values()];
}

/**
 * One OTLP point per label set. Prometheus buckets are cumulative (`le="0.1"` counts everything at
 * most 0.1); OTLP wants the count of each bucket alone, the last one being above the last bound.
 */
function histogramPoints(metric: PromMetric) {
  const series = seriesOf(metric, 'le', (le, cumulative): [number, number] | undefined =>
    le === '+Inf' ? undefined : [Number(le), cumulative],
  );
  return series.map((entry) => {
    const buckets = entry.parts.sort((a, b) => a[0] - b[0]);
    let below = 0;
    const bucketCounts = buckets.map(([, cumulative]) => {
      const count = cumulative - below;
      below = cumulative;
      return String(count);
    });
    bucketCounts.push(String(entry.count - below));
    return {
      attributes: attributes(entry.labels),
      count: String(entry.count),
      sum: double(entry.sum),
      explicitBounds: buckets.map(([bound]) => bound),
      bucketCounts,
    };
  });
}

function summaryPoints(metric: PromMetric) {
  const series = seriesOf(metric, 'quantile', (quantile, value) => ({
    quantile: Number(quantile),
    value: double(value),
  }));
  return series.map((entry) => ({
    attributes: attributes(entry.labels),
    count: String(entry.count),
    sum: double(entry.sum),
    quantileValues: entry.parts,
  }));
}

function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function attributes(labels: Labels): OtlpAttribute[] {
  return Object.entries(labels).flatMap(([key, value]) =>
    value === undefined ? [] : [{ key, value: { stringValue: String(value) } }],
  );
}

/** A double as protobuf's JSON mapping writes it: non-finite values are strings (JSON has no NaN). */
function double(value: number): OtlpDouble {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

function unixNano(ms: number): string {
  return (BigInt(ms) * 1_000_000n).toString();
}
