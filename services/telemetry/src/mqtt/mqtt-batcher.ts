import {
  type Logger,
  type NewDeadLetter,
  type Pool,
  type RetryPolicy,
  recordDeadLetter,
  retryDelayMs,
  withTransaction,
} from '@assetops/platform';
import type { Counter } from 'prom-client';
import type { Ingestor } from '../ingest/ingest.js';
import {
  type DeviceMessage,
  deadLetterReason,
  parseTopic,
  printable,
  type RejectedInMessage,
  storedPayload,
} from './mqtt-message.js';

/** The consumer name of device payloads in `dead_letters`. */
export const MQTT_DEAD_LETTER_CONSUMER = 'telemetry.mqtt';

/** A message received from the broker, parsed, and not yet acknowledged. */
export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  parsed: DeviceMessage;
  /** Acknowledges the message to the broker; called once, after its batch committed. */
  ack(): void;
}

export interface MqttBatcherOptions {
  ingestor: Pick<Ingestor, 'ingest'>;
  pool: Pool;
  logger: Logger;
  metrics?: MqttBatcherMetrics | undefined;
  /** A batch is written once it holds this many readings (default 5,000)… */
  maxBatchReadings?: number;
  /** …or once its oldest message has waited this long (default 10 ms). */
  flushIntervalMs?: number;
  /**
   * While this many readings are held (buffered or being written), `add` asks its caller to wait:
   * the MQTT client then stops reading, and the broker and TCP hold the rest (default 4 batches).
   */
  maxHeldReadings?: number;
  /** Likewise for the payloads' bytes (default 64 MiB). */
  maxHeldBytes?: number;
  /** Backoff of a failed write (the database is down): retried until it succeeds or `close` gives up. */
  retry?: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>;
  /**
   * Batches being written at once (default 2, as many as the ingest's write queue runs): the next
   * batch is written while the last one commits. Acknowledgements keep the arrival order all the
   * same — a batch that commits first waits for the ones before it.
   */
  maxConcurrentWrites?: number;
}

/** Counters of the MQTT ingest, kept across restarts of it. */
export interface MqttBatcherMetrics {
  deadLetters: Counter;
  writeFailures: Counter;
}

interface Queued {
  message: ReceivedMessage;
  queuedAt: number;
}

/**
 * Buffers device messages and writes them in batches through the Ingestor, in arrival order (up to
 * `maxConcurrentWrites` batches at once). A message is acknowledged only once its readings and its
 * dead letter (if any of it was rejected) are committed, and after every message received before
 * it (the dead letters of batches written at once are recorded in that order too); a failed write
 * is retried with backoff, never skipped, so an unacknowledged message is redelivered by the broker
 * and nothing is lost. Re-writing a reading is harmless: the readings table ignores a reading it
 * already holds.
 */
export class MqttBatcher {
  private readonly queue: Queued[] = [];
  /** Readings buffered or being written. */
  private held = 0;
  /** Their payloads' bytes. */
  private heldBytes = 0;
  /** Readings queued and not yet in a batch being written. */
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Batches being written. */
  private readonly flushing = new Set<Promise<void>>();
  /** The last batch started: the next one acknowledges only after it. */
  private lastFlush: Promise<void> = Promise.resolve();
  private roomWaiters: (() => void)[] = [];
  private closing = false;
  private abandoned = false;
  private readonly wakeRetries = new Set<() => void>();
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;
  private readonly intervalMs: number;
  private readonly maxHeld: number;
  private readonly maxHeldBytes: number;
  private readonly retry: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>;

  constructor(private readonly opts: MqttBatcherOptions) {
    this.maxBatch = opts.maxBatchReadings ?? 5000;
    this.maxConcurrent = opts.maxConcurrentWrites ?? 2;
    this.intervalMs = opts.flushIntervalMs ?? 10;
    this.maxHeld = opts.maxHeldReadings ?? 4 * this.maxBatch;
    this.maxHeldBytes = opts.maxHeldBytes ?? 64 * 1024 * 1024;
    this.retry = opts.retry ?? { baseDelayMs: 100, maxDelayMs: 5000 };
  }

  /** Readings received and not yet acknowledged (buffered or being written). */
  get heldReadings(): number {
    return this.held;
  }

  /**
   * Queues a message. Returns a promise when the buffer is full: the caller should read no further
   * message until it resolves (backpressure).
   */
  add(message: ReceivedMessage): Promise<void> | undefined {
    this.queue.push({ message, queuedAt: Date.now() });
    this.held += message.parsed.items.length;
    this.queued += message.parsed.items.length;
    this.heldBytes += message.payload.length;
    this.schedule();
    if (!this.full()) return undefined;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Writes what is buffered, waiting at most `timeoutMs`. Resolves true when everything was
   * written and acknowledged; false when it gave up (the database is down): the unwritten messages
   * stay unacknowledged, and the broker delivers them again to the next session.
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.closing = true;
    const until = Date.now() + timeoutMs;
    while (this.queue.length > 0 || this.flushing.size > 0) {
      const left = until - Date.now();
      if (left <= 0) {
        this.abandon();
        return false;
      }
      this.schedule();
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        ...this.flushing,
        new Promise<void>((resolve) => {
          timeout = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(timeout);
    }
    return true;
  }

  private abandon(): void {
    this.abandoned = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queued = 0;
    for (const wake of this.wakeRetries) wake();
    this.releaseRoom(true);
  }

  /** Starts writes now (a full batch, or closing), or when the oldest message is due. */
  private schedule(): void {
    while (!this.abandoned && this.queue.length > 0 && this.flushing.size < this.maxConcurrent) {
      const due = this.queue[0]!.queuedAt + this.intervalMs - Date.now();
      if (!this.closing && this.queued < this.maxBatch && due > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, due);
        return;
      }
      clearTimeout(this.timer);
      this.timer = undefined;
      const batch: ReceivedMessage[] = [];
      let readings = 0;
      while (this.queue.length > 0 && (batch.length === 0 || readings < this.maxBatch)) {
        const { message } = this.queue.shift()!;
        batch.push(message);
        readings += message.parsed.items.length;
      }
      this.queued -= readings;
      const flush: Promise<void> = this.flushOnce(batch, readings, this.lastFlush).finally(() => {
        this.flushing.delete(flush);
        this.schedule();
      });
      this.lastFlush = flush;
      this.flushing.add(flush);
    }
  }

  private async flushOnce(batch: ReceivedMessage[], readings: number, before: Promise<void>): Promise<void> {
    const bytes = batch.reduce((n, m) => n + m.payload.length, 0);
    const letters = await this.untilDone(batch, readings, 'writing MQTT readings', () => this.write(batch));
    if (letters === undefined) return;
    // In arrival order, as MQTT requires of PUBACKs: after the batches before this one. Their dead
    // letters too, so that those are recorded in the order the messages came.
    await before;
    if (letters.length > 0) {
      const recorded = await this.untilDone(batch, readings, 'recording MQTT dead letters', async () => {
        await this.recordDeadLetters(letters);
        return true;
      });
      if (!recorded) return;
    }
    for (const message of batch) message.ack();
    this.held -= readings;
    this.heldBytes -= bytes;
    this.releaseRoom(false);
  }

  /**
   * Runs a step of a batch until it succeeds, with backoff (the database is down), and returns its
   * result (never undefined); undefined when the batcher gave up meanwhile (`close` timed out): the
   * messages stay unacknowledged.
   */
  private async untilDone<T>(
    batch: readonly ReceivedMessage[],
    readings: number,
    step: string,
    run: () => Promise<T>,
  ): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        this.opts.metrics?.writeFailures.inc();
        const delay = retryDelayMs(attempt, { maxAttempts: Number.POSITIVE_INFINITY, ...this.retry });
        this.opts.logger.warn(
          { err, messages: batch.length, readings, attempt, retryInMs: delay },
          `${step} failed; retrying (the messages stay unacknowledged)`,
        );
        if (this.abandoned) return undefined;
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timeout);
            this.wakeRetries.delete(wake);
            resolve();
          };
          const timeout = setTimeout(wake, delay);
          this.wakeRetries.add(wake);
        });
        if (this.abandoned) return undefined;
      }
    }
  }

  private releaseRoom(all: boolean): void {
    if (!all && this.full()) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private full(): boolean {
    return this.held >= this.maxHeld || this.heldBytes >= this.maxHeldBytes;
  }

  /** Writes a batch's readings (one transaction); returns the dead letters of its bad messages. */
  private async write(batch: readonly ReceivedMessage[]): Promise<NewDeadLetter[]> {
    const items = batch.flatMap((m) => m.parsed.items);
    const owner: number[] = [];
    batch.forEach((m, i) => {
      for (let k = 0; k < m.parsed.items.length; k++) owner.push(i);
    });
    const firstIndex: number[] = [];
    let offset = 0;
    for (const m of batch) {
      firstIndex.push(offset);
      offset += m.parsed.items.length;
    }
    const result = await this.opts.ingestor.ingest(items, 'mqtt');
    const rejectedBy = new Map<number, RejectedInMessage[]>();
    for (const r of result.rejected) {
      const m = owner[r.index]!;
      const list = rejectedBy.get(m) ?? [];
      list.push({
        reading: printable(batch[m]!.parsed.labels[r.index - firstIndex[m]!] ?? `#${r.index}`),
        code: r.code,
        reason: r.reason,
      });
      rejectedBy.set(m, list);
    }
    return [...rejectedBy].map(([m, rejected]) => {
      const { topic, payload, parsed } = batch[m]!;
      const assetId = parseTopic(topic, topic.split('/').slice(0, -2).join('/'));
      return {
        consumer: MQTT_DEAD_LETTER_CONSUMER,
        subject: typeof assetId === 'string' ? assetId : null,
        payload: {
          topic: printable(topic, 1000),
          ...storedPayload(payload),
          rejected: rejected.slice(0, 100),
        },
        reason: deadLetterReason(rejected, parsed.items.length),
      };
    });
  }

  /** The dead letters of a batch, in one transaction. */
  private async recordDeadLetters(letters: readonly NewDeadLetter[]): Promise<void> {
    await withTransaction(this.opts.pool, async (tx) => {
      for (const letter of letters) await recordDeadLetter(tx, letter);
    });
    this.opts.metrics?.deadLetters.inc(letters.length);
  }
}
