import type { EventEnvelope } from '@assetops/contracts';
import { UnavailableError } from '../errors.js';
import { producerOf } from './event-source.js';
import type { BusSubscription, BusSubscriptionHandle, EventBus } from './types.js';

/**
 * The bus of the all-in-one runtime: `publish` hands each batch straight to the subscribed
 * consumers and resolves once every one of them has stored it (in its inbox). Nothing is kept in
 * memory, so it is as durable as the outbox and the inboxes on either side — provided every
 * consumer subscribes before the relays start: an event published while a consumer is not
 * subscribed is never delivered to it. The all-in-one runtime therefore starts every consumer
 * first and every relay after, and stops the relays first.
 *
 * A rejected delivery rejects the publish, so the relay republishes the batch to every subscriber;
 * the ones that already stored it ignore the duplicates. A durable subscription (the event
 * consumer's) that is stopped makes publishes of its events fail (`BUS_CONSUMER_STOPPED`) until it
 * subscribes again, so that a shutdown in the wrong order delays events instead of losing them;
 * still, stop the relays before the consumers.
 *
 * @example
 * const bus = createInProcessBus();
 * await telemetryConsumer.start(); await dashboardConsumer.start();
 * assetRelay.start();
 */
export function createInProcessBus(): EventBus {
  const subscriptions = new Set<BusSubscription>();
  // Durable subscriptions that were stopped, by consumer: their events are refused, not dropped,
  // until the consumer subscribes again (a restart) or the bus closes.
  const stopped = new Map<string, BusSubscription>();
  const wants = (sub: BusSubscription, event: EventEnvelope) =>
    sub.sources.includes(producerOf(event)) && sub.types.includes(event.type);
  return {
    kind: 'inprocess',
    async publish(events: readonly EventEnvelope[]): Promise<void> {
      if (events.length === 0) return;
      for (const sub of stopped.values()) {
        if (events.some((e) => wants(sub, e))) {
          throw new UnavailableError(
            'BUS_CONSUMER_STOPPED',
            `consumer ${sub.consumer} is stopped; its events stay in the outbox until it is back`,
          );
        }
      }
      const deliveries: Promise<void>[] = [];
      for (const sub of subscriptions) {
        const batch = events.filter((e) => wants(sub, e));
        // Deliveries to different consumers run side by side; each receives its batch in order.
        if (batch.length > 0) deliveries.push(sub.deliver(batch));
      }
      const results = await Promise.allSettled(deliveries);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    async subscribe(subscription: BusSubscription): Promise<BusSubscriptionHandle> {
      // A copy, so that a caller mutating its arrays later cannot change the routing under us.
      const registered: BusSubscription = {
        consumer: subscription.consumer,
        sources: [...subscription.sources],
        types: [...subscription.types],
        durable: subscription.durable,
        deliver: (batch) => subscription.deliver(batch),
      };
      stopped.delete(registered.consumer);
      subscriptions.add(registered);
      return {
        async stop() {
          if (!subscriptions.delete(registered)) return;
          if (registered.durable) stopped.set(registered.consumer, registered);
        },
      };
    },
    async close(): Promise<void> {
      subscriptions.clear();
      stopped.clear();
    },
  };
}
