import type { ServerResponse } from 'node:http';
import type { Clock, Logger, Pool } from '@assetops/platform';
import pg from 'pg';
import { CHANGES_CHANNEL } from '../projection/projection.handlers.js';
import { changedAssets, currentPosition, fleetTotals } from '../views/view.store.js';
import { parseLastEventId, sseComment, sseMessage, Throttle } from './stream.format.js';

export interface ChangeStreamOptions {
  pool: Pool;
  logger: Logger;
  clock: Clock;
  /** Interval of the `: keepalive` comments. */
  keepaliveMs: number;
  /** At most one `fleet` message per this interval. */
  fleetIntervalMs: number;
  /** Fallback poll for changes, in case a notification was missed (a lost LISTEN connection). */
  pollMs?: number;
}

interface Client {
  res: ServerResponse;
  /** Still receiving its catch-up (Last-Event-ID): live messages are held back meanwhile. */
  catchingUp: boolean;
}

const CHUNK = 500;
// A client this far behind (bytes not yet sent) is dropped; it reconnects with its Last-Event-ID.
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * The live stream behind `GET /api/v1/dashboard/stream`. Every committed projection change is
 * announced by a NOTIFY (from the consumer's transaction, so on any instance); the hub reads the
 * assets whose change position passed its own and sends each once to every client (`event: asset`,
 * `id:` = the position), then the fleet totals, coalesced to one message per `fleetIntervalMs`.
 * A reconnecting client's `Last-Event-ID` gets it every asset changed since — after a rebuild's
 * switch-over that is every asset, as the switch gives them new positions.
 */
export class ChangeStream {
  private readonly clients = new Set<Client>();
  private listener: pg.Client | undefined;
  private position = 0;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private stopped = false;
  private readonly fleet: Throttle;
  private keepalive: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ChangeStreamOptions) {
    this.fleet = new Throttle(opts.fleetIntervalMs, () => this.sendFleet());
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.listen().catch((err) =>
      this.opts.logger.warn({ err }, 'dashboard change listener not connected'),
    );
    this.keepalive = setInterval(() => this.broadcast(sseComment('keepalive')), this.opts.keepaliveMs);
    this.keepalive.unref();
    this.poll = setInterval(() => this.wake(), this.opts.pollMs ?? 1_000);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.keepalive);
    clearInterval(this.poll);
    clearTimeout(this.reconnect);
    for (const client of this.clients) client.res.end();
    this.clients.clear();
    await this.fleet.stop();
    await this.pumping?.catch(() => {});
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }

  /** Number of connected clients. */
  get size(): number {
    return this.clients.size;
  }

  /** Serves one client until it disconnects. The response's headers must not be sent yet. */
  async connect(res: ServerResponse, lastEventId: unknown): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Tells nginx-like proxies not to buffer the stream.
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    res.write('retry: 3000\n\n');
    const client: Client = { res, catchingUp: true };
    if (this.clients.size === 0) this.position = await currentPosition(this.opts.pool);
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    try {
      // Catch-up: every asset changed after the client's position, until it reaches the hub's. The
      // hub's position is re-read after every await, so what a live pass sent meanwhile (held back
      // from this client) is read here too; an asset sent twice is harmless (same or newer state).
      let seen = parseLastEventId(lastEventId);
      while (seen !== undefined && seen < this.position && !res.destroyed) {
        const page = await changedAssets(this.opts.pool, seen, CHUNK);
        if (page.lastPosition === undefined) break;
        for (const asset of page.items) {
          this.write(client, sseMessage({ event: 'asset', id: asset.position, data: asset }));
        }
        seen = page.lastPosition;
      }
      client.catchingUp = false;
      const totals = await fleetTotals(this.opts.pool, this.opts.clock.now());
      this.write(client, sseMessage({ event: 'fleet', id: this.position, data: totals }));
    } catch (err) {
      this.opts.logger.warn({ err }, 'dashboard stream catch-up failed');
      client.catchingUp = false;
      res.end();
    }
  }

  /** Reads and sends what changed (coalesced: one pass at a time, another if asked meanwhile). */
  wake(): void {
    if (this.stopped || this.clients.size === 0) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pump()
      .catch((err) => this.opts.logger.warn({ err }, 'dashboard stream read failed'))
      .finally(() => {
        this.pumping = undefined;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.wake();
        }
      });
  }

  private async pump(): Promise<void> {
    let changed = false;
    for (;;) {
      const page = await changedAssets(this.opts.pool, this.position, CHUNK);
      if (page.lastPosition === undefined) break;
      for (const asset of page.items) {
        this.broadcast(sseMessage({ event: 'asset', id: asset.position, data: asset }), true);
      }
      this.position = page.lastPosition;
      changed = true;
      if (!page.more) break;
    }
    if (changed) this.fleet.request();
  }

  private async sendFleet(): Promise<void> {
    if (this.clients.size === 0) return;
    try {
      const totals = await fleetTotals(this.opts.pool, this.opts.clock.now());
      this.broadcast(sseMessage({ event: 'fleet', id: this.position, data: totals }), true);
    } catch (err) {
      this.opts.logger.warn({ err }, 'dashboard fleet totals failed');
    }
  }

  private broadcast(text: string, live = false): void {
    for (const client of this.clients) {
      if (live && client.catchingUp) continue;
      this.write(client, text);
    }
  }

  private write(client: Client, text: string): void {
    if (client.res.destroyed || client.res.writableEnded) return;
    if (client.res.writableLength > MAX_BUFFERED_BYTES) {
      this.opts.logger.warn('dashboard stream client too slow; disconnected');
      client.res.destroy();
      this.clients.delete(client);
      return;
    }
    client.res.write(text);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      ...this.opts.pool.options,
      application_name: `${this.opts.pool.options.application_name ?? 'dashboard'}:stream`.slice(0, 63),
      keepAlive: true,
    });
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => {});
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel === CHANGES_CHANNEL) this.wake();
    });
    try {
      await client.connect();
      // A constant channel name: LISTEN takes no parameters.
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => {});
      this.scheduleReconnect();
      throw err;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnect) return;
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      this.listen().catch((err) =>
        this.opts.logger.debug({ err }, 'dashboard change listener reconnect failed'),
      );
    }, 2_000);
    this.reconnect.unref();
  }
}
