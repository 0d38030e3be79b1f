import type { EventEnvelope } from '@assetops/contracts';

const SOURCE_PREFIX = '/assetops/';
const TYPE_PATTERN = /^assetops\.([a-z][a-z0-9-]*)\./;

/**
 * The producing service of an event: `source` without its `/assetops/` prefix, or else the second
 * segment of its `type` (`assetops.<service>.…`). Transports route and partition by it.
 *
 * @example
 * producerOf(event); // 'asset' for source '/assetops/asset'
 */
export function producerOf(event: Pick<EventEnvelope, 'source' | 'type'>): string {
  if (typeof event.source === 'string' && event.source.startsWith(SOURCE_PREFIX)) {
    return event.source.slice(SOURCE_PREFIX.length);
  }
  const match = typeof event.type === 'string' ? TYPE_PATTERN.exec(event.type) : null;
  return match?.[1] ?? '';
}
