import client from 'prom-client';

export type MetricsRegistry = client.Registry;
export { client as prometheus };

/**
 * A Prometheus registry for one service, with the service name as a default label and the Node
 * process metrics. Each service has its own, also when several share a process (all-in-one).
 *
 * @example
 * const metrics = createMetricsRegistry('asset');
 * new prometheus.Counter({ name: 'assetops_assets_registered_total', help: '…', registers: [metrics] });
 */
export function createMetricsRegistry(
  service: string,
  opts: { processMetrics?: boolean } = {},
): MetricsRegistry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  if (opts.processMetrics ?? true) client.collectDefaultMetrics({ register: registry, prefix: 'assetops_' });
  return registry;
}
