import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@assetops/contracts';
import { describe, expect, it } from 'vitest';
import { createInProcessBus } from '../../src/index.js';
import { assetUpdated } from './backbone.harness.js';

function collector() {
  const received: EventEnvelope[][] = [];
  return { received, deliver: async (batch: readonly EventEnvelope[]) => void received.push([...batch]) };
}

describe('createInProcessBus', () => {
  it('delivers each subscriber the events of its sources and types, in publish order', async () => {
    const bus = createInProcessBus();
    const dashboard = collector();
    const telemetry = collector();
    await bus.subscribe({
      consumer: 'dashboard',
      sources: ['asset'],
      types: ['assetops.asset.updated.v1'],
      ...dashboard,
    });
    await bus.subscribe({
      consumer: 'telemetry',
      sources: ['alert'],
      types: ['assetops.asset.updated.v1'],
      ...telemetry,
    });
    const events = [assetUpdated(randomUUID(), 1), assetUpdated(randomUUID(), 2)];
    const other = { ...assetUpdated(randomUUID(), 3), type: 'assetops.asset.registered.v1' };

    await bus.publish([events[0]!, other, events[1]!]);
    expect(dashboard.received).toEqual([events]);
    expect(telemetry.received).toEqual([]);
  });

  it('fails the publish when a subscriber fails, so the relay publishes the batch again', async () => {
    const bus = createInProcessBus();
    await bus.subscribe({
      consumer: 'dashboard',
      sources: ['asset'],
      types: ['assetops.asset.updated.v1'],
      deliver: async () => {
        throw new Error('inbox unavailable');
      },
    });
    await expect(bus.publish([assetUpdated(randomUUID(), 1)])).rejects.toThrow('inbox unavailable');
  });

  it('keeps the events of a stopped durable subscriber in the outbox (refuses them) until it is back', async () => {
    const bus = createInProcessBus();
    const subscription = {
      consumer: 'dashboard',
      sources: ['asset'],
      types: ['assetops.asset.updated.v1'],
      durable: true,
    };
    const first = collector();
    const handle = await bus.subscribe({ ...subscription, ...first });
    await handle.stop();

    await expect(bus.publish([assetUpdated(randomUUID(), 1)])).rejects.toMatchObject({
      code: 'BUS_CONSUMER_STOPPED',
    });
    // Events it does not want still flow.
    await bus.publish([{ ...assetUpdated(randomUUID(), 1), type: 'assetops.asset.registered.v1' }]);

    const second = collector();
    await bus.subscribe({ ...subscription, ...second });
    const event = assetUpdated(randomUUID(), 2);
    await bus.publish([event]);
    expect(second.received).toEqual([[event]]);
    expect(first.received).toEqual([]);
  });

  it('forgets a stopped subscriber that is not durable (an observer)', async () => {
    const bus = createInProcessBus();
    const observer = collector();
    const handle = await bus.subscribe({
      consumer: 'observer',
      sources: ['asset'],
      types: ['assetops.asset.updated.v1'],
      ...observer,
    });
    await handle.stop();
    await bus.publish([assetUpdated(randomUUID(), 1)]);
    expect(observer.received).toEqual([]);
  });
});
