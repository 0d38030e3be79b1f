import { type MetricsRegistry, prometheus } from '@assetops/platform';

/** What the proxy records per forwarded request. */
export interface ProxyMetrics {
  observe(upstream: string, method: string, status: number, seconds: number): void;
}

/**
 * Counts and times proxied requests by upstream and status (the status the client got, so the
 * gateway's own 502/503/504 answers are counted against the upstream that caused them). Latency is
 * until the last byte was sent, so it includes streaming the upstream's body.
 *
 * @example
 * const proxyMetrics = createProxyMetrics(app.metrics);
 * proxyMetrics.observe('asset', 'GET', 200, 0.012);
 */
export function createProxyMetrics(registry: MetricsRegistry): ProxyMetrics {
  const requests = new prometheus.Counter({
    name: 'assetops_gateway_proxied_requests_total',
    help: 'Requests the gateway forwarded (or failed to forward) to an upstream service',
    labelNames: ['upstream', 'method', 'status'],
    registers: [registry],
  });
  const duration = new prometheus.Histogram({
    name: 'assetops_gateway_proxied_request_duration_seconds',
    help: 'Duration of proxied requests, until the response was fully sent, by upstream and status',
    labelNames: ['upstream', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    observe(upstream, method, status, seconds) {
      requests.inc({ upstream, method, status: String(status) });
      duration.observe({ upstream, status: String(status) }, seconds);
    },
  };
}
