import type { EventEnvelope } from '@assetops/contracts';
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { producerOf } from './event-source.js';
import type { BusSubscription, BusSubscriptionHandle, EventBus } from './types.js';

export interface NatsBusOptions {
  /** e.g. `nats://127.0.0.1:4222`, or several servers of a cluster. */
  servers: string | string[];
  /** The connection name shown by the server (the service name). */
  name: string;
  /** Token of a server started with token authorization (`authorization { token: … }`). */
  token?: string;
  logger: Logger;
  /**
   * Streams are named `<prefix>_<SERVICE>`. Default `ASSETOPS`. Any other prefix also namespaces
   * the subjects (`<prefix lower-cased>.assetops.asset.…`), because JetStream refuses two streams
   * whose subjects overlap: that is what lets tests and benchmarks run side by side in isolation.
   */
  streamPrefix?: string;
  /** Redelivery after this long without an ack. Default 30 s. */
  ackWaitMs?: number;
  /** JetStream drops a republished event (same `Nats-Msg-Id`) within this window. Default 2 min. */
  duplicateWindowMs?: number;
  /** Events older than this leave the stream. Default 7 days; 0 keeps them for ever. */
  maxAgeMs?: number;
  /** Stream replicas (3 on a cluster). Default 1. */
  replicas?: number;
  /** Most events per `deliver` call. Default 200. */
  deliverBatchSize?: number;
  /** Unacknowledged messages per consumer (bounds what a subscriber holds in memory). Default 2000. */
  maxAckPending?: number;
  /** How long a publish waits for the JetStream ack. Default 5 s. */
  publishTimeoutMs?: number;
}

/** The JetStream bus; see {@link createNatsBus}. */
export interface NatsBus extends EventBus {
  /** The stream holding a producing service's events, e.g. `ASSETOPS_ASSET`. */
  streamName(service: string): string;
  /** The subject an event is published on (its CloudEvents type, namespaced by a non-default prefix). */
  subjectOf(event: Pick<EventEnvelope, 'source' | 'type'>): string;
  /** Deletes every stream of this bus's prefix. For tests and benchmarks only. */
  deleteStreams(): Promise<string[]>;
}

const DEFAULT_PREFIX = 'ASSETOPS';
const STREAM_PREFIX = /^[A-Z][A-Z0-9_]*$/;

/**
 * The distributed bus on NATS JetStream. One stream per producing service (`ASSETOPS_ASSET` holding
 * `assetops.asset.>`), the subject of an event being its CloudEvents type. A publish sends the
 * batch pipelined, each message with `Nats-Msg-Id` = event id so JetStream drops a republished one
 * within the duplicate window, and resolves when every ack is in. A subscription is one durable pull
 * consumer per (consumer, source stream), named after the consumer, so it survives restarts and is
 * taken over by whichever instance of the service reads next; messages of types not asked for are
 * acknowledged and dropped. Each stream is read by one loop that hands `deliver` one batch at a time
 * and acknowledges it only after `deliver` resolved; a rejected `deliver` is retried in place
 * (keeping the messages, and so their order) rather than nak'ed, since a nak'ed batch would come
 * back after the messages behind it. Survives server restarts: the client reconnects for ever and
 * the read loops re-create what they need.
 *
 * @example
 * const bus = await createNatsBus({ servers: config.NATS_URL, name: 'asset', logger });
 * // on shutdown, after the relay and consumers stopped:
 * await bus.close();
 */
export async function createNatsBus(opts: NatsBusOptions): Promise<NatsBus> {
  const { logger } = opts;
  const prefix = opts.streamPrefix ?? DEFAULT_PREFIX;
  if (!STREAM_PREFIX.test(prefix)) throw new Error(`streamPrefix must match ${STREAM_PREFIX}: ${prefix}`);
  const subjectPrefix = prefix === DEFAULT_PREFIX ? '' : `${prefix.toLowerCase()}.`;
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  const deliverBatchSize = opts.deliverBatchSize ?? 200;
  const maxAckPending = opts.maxAckPending ?? 2000;

  const nc = await connect({
    servers: opts.servers,
    name: opts.name,
    ...(opts.token ? { token: opts.token } : {}),
    // Never give up: a service outlives NATS restarts and rolling upgrades of the cluster.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // By default every request captures a stack trace up front for its possible error; at thousands
    // of publishes a second that is a noticeable share of the CPU, for traces we do not need.
    noAsyncTraces: true,
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        logger.warn({ nats: status }, `nats ${status.type}`);
      }
    }
  })().catch(() => {});
  const js = jetstream(nc, { timeout: opts.publishTimeoutMs ?? 5000 });
  const jsm = await jetstreamManager(nc);

  const streamName = (service: string) => `${prefix}_${service.toUpperCase().replace(/-/g, '_')}`;
  const serviceSubjects = (service: string) => `${subjectPrefix}assetops.${service}.>`;
  const subjectOf = (event: Pick<EventEnvelope, 'source' | 'type'>) => `${subjectPrefix}${event.type}`;

  const streams = new Map<string, Promise<void>>();
  function ensureStream(service: string): Promise<void> {
    let ready = streams.get(service);
    if (!ready) {
      ready = createStream(service);
      streams.set(service, ready);
      // A failed attempt is forgotten, so the next publish or read loop tries again.
      ready.catch(() => streams.delete(service));
    }
    return ready;
  }

  async function createStream(service: string): Promise<void> {
    if (!/^[a-z][a-z0-9-]*$/.test(service)) throw new Error(`not a service name: "${service}"`);
    const name = streamName(service);
    try {
      // Adding a stream that exists with the same configuration is a no-op, so every instance can do it.
      await jsm.streams.add({
        name,
        subjects: [serviceSubjects(service)],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        duplicate_window: nanos(opts.duplicateWindowMs ?? 120_000),
        max_age: nanos(opts.maxAgeMs ?? 7 * 24 * 60 * 60 * 1000),
        num_replicas: opts.replicas ?? 1,
      });
    } catch (err) {
      // It exists with another configuration (changed by an operator, or by a newer release): use it.
      const exists = await jsm.streams.info(name).then(
        () => true,
        () => false,
      );
      if (!exists) throw err;
      logger.warn({ err, stream: name }, 'stream exists with a different configuration; using it as it is');
    }
  }

  async function ensureConsumer(stream: string, durable: string, filter: string): Promise<void> {
    try {
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: filter,
        ack_wait: nanos(ackWaitMs),
        max_ack_pending: maxAckPending,
        max_deliver: -1,
      });
    } catch (err) {
      try {
        await jsm.consumers.update(stream, durable, {
          ack_wait: nanos(ackWaitMs),
          max_ack_pending: maxAckPending,
        });
      } catch {
        throw err;
      }
    }
  }

  const readers = new Set<StreamReader>();

  const bus: NatsBus = {
    kind: 'nats',
    streamName,
    subjectOf,

    async publish(events: readonly EventEnvelope[]): Promise<void> {
      if (events.length === 0) return;
      const services = [...new Set(events.map((e) => producerOf(e)))];
      await Promise.all(services.map(ensureStream));
      // Pipelined: all messages leave at once on the one connection, so the server stores them in
      // this order; then every ack is awaited. A failed one fails the batch and the relay sends it
      // again — the duplicate window drops the ones already stored. (Should a message fail while a
      // later one of the same subject was stored — a stream leader change in a cluster — the retry
      // stores it after that one; consumers that must not apply older data check versions.)
      const acks = events.map((e) => js.publish(subjectOf(e), JSON.stringify(e), { msgID: e.id }));
      const results = await Promise.allSettled(acks);
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failures.length > 0) {
        // The stream may have been deleted or the server replaced: check it again next time.
        for (const service of services) streams.delete(service);
        const first = failures[0]!.reason as Error;
        throw new UnavailableError(
          'BUS_PUBLISH_FAILED',
          `JetStream did not acknowledge ${failures.length} of ${events.length} events: ${first.message}`,
        );
      }
    },

    async subscribe(subscription: BusSubscription): Promise<BusSubscriptionHandle> {
      const durable = subscription.consumer.replace(/[^A-Za-z0-9_-]/g, '_');
      const started = subscription.sources.map((source) => {
        const reader = new StreamReader({
          subscription,
          stream: streamName(source),
          durable,
          logger: logger.child({ consumer: subscription.consumer, stream: streamName(source) }),
          batchSize: deliverBatchSize,
          setUp: async () => {
            await ensureStream(source);
            await ensureConsumer(streamName(source), durable, serviceSubjects(source));
            return js.consumers.get(streamName(source), durable);
          },
        });
        readers.add(reader);
        return reader;
      });
      // Waits for the first set-up attempt only: when NATS is unreachable the readers keep trying.
      await Promise.all(started.map((r) => r.firstAttempt));
      return {
        async stop() {
          await Promise.all(
            started.map(async (r) => {
              readers.delete(r);
              await r.stop();
            }),
          );
        },
      };
    },

    async deleteStreams(): Promise<string[]> {
      const deleted: string[] = [];
      for await (const name of jsm.streams.names()) {
        if (!name.startsWith(`${prefix}_`)) continue;
        await jsm.streams.delete(name);
        deleted.push(name);
      }
      streams.clear();
      return deleted;
    },

    async close(): Promise<void> {
      await Promise.all([...readers].map((r) => r.stop()));
      readers.clear();
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
  return bus;
}

interface StreamReaderOptions {
  subscription: BusSubscription;
  stream: string;
  durable: string;
  logger: Logger;
  batchSize: number;
  setUp: () => Promise<Consumer>;
}

/**
 * Reads one durable consumer: `consume()` pushes messages into a queue (its callback must stay
 * synchronous), and one processing loop hands them to `deliver` in batches, strictly one batch at a
 * time, acknowledging a batch only after `deliver` resolved.
 */
class StreamReader {
  readonly firstAttempt: Promise<void>;
  private settleFirstAttempt: () => void = () => {};
  private readonly queue: JsMsg[] = [];
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private wakeProcessor: (() => void) | undefined;
  private readonly sleepers = new Set<() => void>();
  private readonly done: Promise<unknown>;
  private readonly types: ReadonlySet<string>;

  constructor(private readonly opts: StreamReaderOptions) {
    this.types = new Set(opts.subscription.types);
    this.firstAttempt = new Promise((resolve) => {
      this.settleFirstAttempt = resolve;
    });
    this.done = Promise.all([this.readLoop(), this.processLoop()]);
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.done.then(() => {});
    this.stopped = true;
    for (const wake of this.sleepers) wake();
    this.wakeProcessor?.();
    await this.messages?.close().catch(() => {});
    await this.done;
  }

  private async readLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const consumer = await this.opts.setUp();
        if (this.stopped) break;
        const messages = await consumer.consume({
          max_messages: this.opts.batchSize * 2,
          callback: (msg: JsMsg) => {
            this.queue.push(msg);
            this.wakeProcessor?.();
          },
        });
        this.messages = messages;
        this.settleFirstAttempt();
        failures = 0;
        void this.watch(messages);
        const ended = await messages.closed();
        if (this.stopped) break;
        this.opts.logger.warn({ err: ended }, 'consumer stopped delivering; setting it up again');
      } catch (err) {
        this.settleFirstAttempt();
        if (this.stopped) break;
        failures++;
        this.opts.logger.error({ err, failures }, 'cannot read the stream; retrying');
      }
      await this.sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
    }
    this.settleFirstAttempt();
  }

  /** Logs what the consumer reports, and starts over when the durable consumer is gone. */
  private async watch(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const note of messages.status()) {
        if (note.type === 'consumer_deleted' || (note.type === 'consumer_not_found' && note.count >= 3)) {
          this.opts.logger.warn({ note }, 'durable consumer lost; re-creating it');
          await messages.close();
          return;
        }
        if (
          note.type === 'heartbeats_missed' ||
          note.type === 'stream_not_found' ||
          note.type === 'consumer_not_found'
        ) {
          this.opts.logger.warn({ note }, `consumer: ${note.type}`);
        }
      }
    } catch {
      // the status iterator ends with the consumer
    }
  }

  private async processLoop(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        if (this.stopped) break;
        await new Promise<void>((resolve) => {
          this.wakeProcessor = resolve;
        });
        this.wakeProcessor = undefined;
        continue;
      }
      const batch = this.queue.splice(0, this.opts.batchSize);
      if (!(await this.handle(batch))) {
        for (const msg of batch) msg.nak();
        break;
      }
    }
    // Handed back at once, so that the next reader (another instance) need not wait for ack_wait.
    for (const msg of this.queue.splice(0)) msg.nak();
  }

  /** Delivers one batch, retrying until it succeeds (true) or the reader stops (false). */
  private async handle(batch: JsMsg[]): Promise<boolean> {
    const { subscription, logger } = this.opts;
    const events: EventEnvelope[] = [];
    const malformed: { msg: JsMsg; reason: string; handled: boolean }[] = [];
    for (const msg of batch) {
      let value: unknown;
      try {
        value = JSON.parse(msg.string());
      } catch (err) {
        malformed.push({ msg, reason: (err as Error).message, handled: false });
        continue;
      }
      const type = (value as { type?: unknown } | null)?.type;
      // Other types of this producer are not wanted; anything without a string type goes to the
      // consumer, which validates it and dead-letters it.
      if (typeof type === 'string' && !this.types.has(type)) continue;
      events.push(value as EventEnvelope);
    }
    for (let failures = 0; ; failures++) {
      try {
        for (const item of malformed) {
          if (item.handled) continue;
          if (subscription.onMalformed) {
            await subscription.onMalformed({
              subject: item.msg.subject,
              raw: item.msg.string(),
              reason: item.reason,
            });
          } else {
            logger.error({ subject: item.msg.subject, reason: item.reason }, 'malformed message dropped');
          }
          item.handled = true;
        }
        if (events.length > 0) await subscription.deliver(events);
        break;
      } catch (err) {
        if (this.stopped) return false;
        const retryInMs = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        logger.error({ err, failures: failures + 1, retryInMs }, 'deliver failed; retrying the batch');
        // Keeps these (and the queued ones) from being redelivered while the retry is pending.
        for (const msg of batch) msg.working();
        for (const msg of this.queue) msg.working();
        await this.sleep(retryInMs);
        if (this.stopped) return false;
      }
    }
    const malformedMsgs = new Set(malformed.map((m) => m.msg));
    for (const msg of batch) {
      if (malformedMsgs.has(msg)) msg.term();
      else msg.ack();
    }
    return true;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.sleepers.delete(finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.sleepers.add(finish);
    });
  }
}
