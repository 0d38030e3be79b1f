import { randomBytes, randomUUID } from 'node:crypto';
import { AssetUpdated } from '@assetops/contracts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, listDeadLetters, type NatsBus } from '../../src/index.js';
import { natsAvailable, testEnv } from '../../src/testkit/index.js';
import {
  assetUpdated,
  type Backbone,
  CONSUMER,
  silentLogger,
  startBackbone,
  type TransportUnderTest,
  waitFor,
} from './backbone.harness.js';
import { describeBackbone } from './backbone.suite.js';
import {
  natsServerBinaryAvailable,
  type PrivateNatsServer,
  startPrivateNatsServer,
} from './nats-server.fixture.js';

/** JetStream on `servers`, isolated by a fresh stream prefix (and so fresh subjects) per use. */
function natsTransport(
  servers: () => string,
  extra: { publishTimeoutMs?: number } = {},
): TransportUnderTest & {
  lastPrefix?: string;
} {
  const transport: TransportUnderTest & { lastPrefix?: string } = {
    name: 'NATS JetStream',
    async open() {
      const streamPrefix = `T${randomBytes(5).toString('hex').toUpperCase()}`;
      transport.lastPrefix = streamPrefix;
      const common = { servers: servers(), logger: silentLogger, streamPrefix, ackWaitMs: 5000, ...extra };
      const producerBus = await createNatsBus({ ...common, name: 'test-producer' });
      const consumerBus = await createNatsBus({ ...common, name: 'test-consumer' });
      const raw = await connect({ servers: servers() });
      return {
        producerBus,
        consumerBus,
        // Published again without a message id, the stream stores it a second time and the durable
        // consumer delivers it again: a redelivery as the consumer sees one.
        async redeliver(event) {
          await jetstream(raw).publish(producerBus.subjectOf(event), JSON.stringify(event));
        },
        async close() {
          await producerBus.deleteStreams().catch(() => {});
          await Promise.all([producerBus.close(), consumerBus.close(), raw.close()]);
        },
      };
    },
  };
  return transport;
}

describe.runIf(await natsAvailable())('NATS JetStream transport', () => {
  describeBackbone(natsTransport(() => testEnv.natsUrl));

  describe('streams and subjects', () => {
    let bus: NatsBus;
    beforeAll(async () => {
      bus = await createNatsBus({
        servers: testEnv.natsUrl,
        name: 'test-streams',
        logger: silentLogger,
        streamPrefix: `T${randomBytes(5).toString('hex').toUpperCase()}`,
      });
    });
    afterAll(async () => {
      await bus.deleteStreams();
      await bus.close();
    });

    it('keeps one stream per producing service, with the event type as subject', async () => {
      const event = assetUpdated(randomUUID(), 1);
      await bus.publish([event]);
      const prefix = bus.streamName('asset').replace(/_ASSET$/, '');
      expect(bus.streamName('asset')).toBe(`${prefix}_ASSET`);
      expect(bus.streamName('work-orders')).toBe(`${prefix}_WORK_ORDERS`);
      expect(bus.subjectOf(event)).toBe(`${prefix.toLowerCase()}.${AssetUpdated.type}`);

      const nc = await connect({ servers: testEnv.natsUrl });
      try {
        const jsm = await jetstreamManager(nc);
        const info = await jsm.streams.info(bus.streamName('asset'));
        expect(info.config.subjects).toEqual([`${prefix.toLowerCase()}.assetops.asset.>`]);
        expect(info.config.duplicate_window).toBe(120_000_000_000);
      } finally {
        await nc.close();
      }
    });

    it('has JetStream drop an event republished within the duplicate window', async () => {
      const event = assetUpdated(randomUUID(), 1);
      const nc = await connect({ servers: testEnv.natsUrl });
      try {
        const jsm = await jetstreamManager(nc);
        await bus.publish([event]);
        const before = (await jsm.streams.info(bus.streamName('asset'))).state.messages;
        await bus.publish([event]);
        await bus.publish([event, assetUpdated(randomUUID(), 1)]);
        const after = (await jsm.streams.info(bus.streamName('asset'))).state.messages;
        expect(after - before).toBe(1);
      } finally {
        await nc.close();
      }
    });

    it('uses the event type itself as subject with the default prefix', async () => {
      const nc = await connect({ servers: testEnv.natsUrl });
      // Connecting is enough to compute names; nothing is created on the shared server.
      const defaultBus = await createNatsBus({
        servers: testEnv.natsUrl,
        name: 'test-defaults',
        logger: silentLogger,
      });
      try {
        expect(defaultBus.streamName('asset')).toBe('ASSETOPS_ASSET');
        expect(defaultBus.subjectOf({ source: '/assetops/asset', type: AssetUpdated.type })).toBe(
          AssetUpdated.type,
        );
      } finally {
        await defaultBus.close();
        await nc.close();
      }
    });
  });

  describe('messages that are not events', () => {
    const transport = natsTransport(() => testEnv.natsUrl);
    let backbone: Backbone | undefined;
    afterEach(async () => {
      await backbone?.stop();
      backbone = undefined;
    });

    it('dead-letters a message that is not JSON and keeps consuming', async () => {
      backbone = await startBackbone(transport);
      // A first event creates the stream the foreign message is then published to.
      const first = assetUpdated(randomUUID(), 1);
      await backbone.append([first]);
      await backbone.waitProcessed([first.id]);
      const nc = await connect({ servers: testEnv.natsUrl });
      try {
        const subject = `${transport.lastPrefix!.toLowerCase()}.${AssetUpdated.type}`;
        await jetstream(nc).publish(subject, '{"specversion": "1.0", truncated');
      } finally {
        await nc.close();
      }
      const event = assetUpdated(randomUUID(), 1);
      await backbone.append([event]);

      await backbone.waitProcessed([event.id]);
      const letters = await waitFor(async () => {
        const found = await listDeadLetters(backbone!.consuming.pool, { consumer: CONSUMER });
        return found.length > 0 ? found : undefined;
      });
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ eventId: null, type: null });
      expect(letters[0]!.reason).toMatch(/^malformed message: /);
      expect(letters[0]!.payload).toMatchObject({ raw: '{"specversion": "1.0", truncated' });
    });
  });
});

describe.runIf((await natsAvailable()) && (await natsServerBinaryAvailable()))('NATS server restart', () => {
  let server: PrivateNatsServer;
  let backbone: Backbone | undefined;
  beforeAll(async () => {
    server = await startPrivateNatsServer();
  });
  afterAll(async () => {
    await backbone?.stop();
    await server?.dispose();
  });

  it('delivers what was appended while the server was down, once it is back', async () => {
    backbone = await startBackbone(natsTransport(() => server.url, { publishTimeoutMs: 1000 }));
    const assetId = randomUUID();
    const before = assetUpdated(assetId, 1);
    await backbone.append([before]);
    await backbone.waitProcessed([before.id]);

    await server.stop();
    const during = [assetUpdated(assetId, 2), assetUpdated(assetId, 3)];
    await backbone.append(during);
    await server.start();

    await backbone.waitProcessed(
      during.map((e) => e.id),
      25_000,
    );
    const effects = await backbone.effects();
    expect(effects.map((e) => e.version)).toEqual([1, 2, 3]);
  }, 40_000);
});
