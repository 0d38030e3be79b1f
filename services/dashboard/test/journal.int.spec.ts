import { randomUUID } from 'node:crypto';
import type {
  DashboardAssetPage,
  DashboardFleet,
  DashboardRebuild,
  EventEnvelope,
} from '@assetops/contracts';
import {
  createEventConsumer,
  createInProcessBus,
  createLogger,
  createMetricsRegistry,
  type EventConsumer,
  systemClock,
} from '@assetops/platform';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JournalTrimmer, trimJournal } from '../src/journal/journal.trim.js';
import { newestWindows } from '../src/projection/projection.handlers.js';
import { type DashboardHarness, events, eventually, startDashboard } from './support/harness.js';

const logger = createLogger({ service: 'dashboard', level: 'silent' });

/** A small deterministic generator, so that a failure can be replayed. */
function sequence(seed: number) {
  let state = seed;
  return (below: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % below;
  };
}

/**
 * Events of a small fleet as they could reach the dashboard: registrations, a status change, alerts,
 * a work order, and many telemetry windows per asset and metric — late ones, exact ties of reading
 * time with different values, an asset whose readings come before its registration, and redeliveries.
 */
function fleetHistory(seed: number): EventEnvelope[] {
  const next = sequence(seed);
  const assets = Array.from({ length: 5 }, () => randomUUID());
  const metrics = ['temperature', 'rpm', 'vibration'];
  const at = (second: number) => new Date(Date.UTC(2026, 2, 2, 10, 0, second)).toISOString();
  const history: EventEnvelope[] = [];
  const window = () => {
    const assetId = assets[next(assets.length)]!;
    return events.telemetry(assetId, metrics[next(metrics.length)]!, next(1000) / 10, at(next(40)));
  };
  // Readings of the last asset before its registration.
  history.push(events.telemetry(assets[4]!, 'rpm', 1490, at(5)));
  for (const [i, assetId] of assets.entries()) {
    history.push(events.registered(assetId, { name: `Pump ${i}` }));
    history.push(events.statusChanged(assetId, 'commissioning', 'active', 2));
  }
  for (let i = 0; i < 150; i++) {
    const w = window();
    history.push(w);
    // A tie: the same reading time, another value (the first one applied wins).
    const [only] = w.data.metrics;
    if (i % 17 === 0) history.push(events.telemetry(w.data.assetId, only!.metric, -1, only!.lastTs));
    // A device sending several metrics in one message: one window holds them all.
    if (i % 7 === 0) {
      const assetId = assets[next(assets.length)]!;
      history.push(
        events.telemetryOf(assetId, { temperature: next(1000) / 10, rpm: next(3000) }, at(next(40))),
      );
    }
    if (i % 23 === 0) history.push(w); // redelivered
    if (i === 60) {
      const raised = events.alertRaised(assets[1]!, { severity: 'critical' });
      history.push(raised, events.workOrderCreated(assets[1]!), events.alertAcknowledged(raised));
    }
  }
  // The newest reading of a metric, twice: the first one stays.
  history.push(
    events.telemetry(assets[0]!, 'temperature', 11, at(50)),
    events.telemetry(assets[0]!, 'temperature', -1, at(50)),
  );
  return history;
}

/** The read model as the API shows it, plus every latest value (also of assets not shown), without change positions. */
async function readModel(h: DashboardHarness) {
  const page = await h.api<DashboardAssetPage>('GET', '/api/v1/dashboard/assets?limit=500');
  const fleet = await h.api<DashboardFleet>('GET', '/api/v1/dashboard/fleet');
  const strip = <T extends { position: number }>({ position: _, ...rest }: T) => rest;
  const { rows: latest } = await h.db.pool.query(
    `SELECT m.asset_id, m.metric, m.value, m.ts FROM asset_metrics m
       JOIN generations g ON g.generation = m.generation AND g.state = 'active'
      ORDER BY m.asset_id, m.metric`,
  );
  const { rows: assets } = await h.db.pool.query(
    `SELECT a.asset_id, a.registered, a.last_seen_at, a.updated_at FROM assets a
       JOIN generations g ON g.generation = a.generation AND g.state = 'active'
      ORDER BY a.asset_id`,
  );
  return {
    assets: page.body.items.map(strip),
    fleet: { ...fleet.body, updatedAt: null, needsAttention: fleet.body.needsAttention.map(strip) },
    latest,
    rows: assets,
  };
}

/** Feeds events through the real event consumer (in-process bus), as the runtime does: telemetry goes in batches. */
async function consume(h: DashboardHarness, list: EventEnvelope[]): Promise<void> {
  const bus = createInProcessBus();
  const consumer: EventConsumer = createEventConsumer({
    name: 'dashboard',
    pool: h.db.pool,
    bus,
    sources: h.service.consumer!.sources,
    handlers: h.service.consumer!.handlers,
    logger,
    pollIntervalMs: 3_600_000,
  });
  await consumer.start();
  try {
    await bus.publish(list);
    await consumer.drain();
  } finally {
    await consumer.stop();
  }
  const { rows } = await h.db.pool.query(
    `SELECT count(*)::int AS n FROM inbox WHERE consumer = 'dashboard' AND status <> 'processed'`,
  );
  expect(rows[0].n).toBe(0);
}

/** Journal rows: all, those with a compaction key, the keys, and the rows of each key's newest window. */
async function journalRows(
  h: DashboardHarness,
): Promise<{ total: number; keyed: number; keys: number; newest: number }> {
  const { rows } = await h.db.pool.query(
    `SELECT count(*)::int AS total, count(compact_key)::int AS keyed, count(DISTINCT compact_key)::int AS keys,
            count(*) FILTER (WHERE compact_ts = newest)::int AS newest
       FROM (SELECT compact_key, compact_ts, max(compact_ts) OVER (PARTITION BY compact_key) AS newest
               FROM journal) j`,
  );
  return rows[0];
}

async function rebuild(h: DashboardHarness): Promise<void> {
  const started = await h.api<DashboardRebuild>('POST', '/api/v1/dashboard/rebuild');
  expect(started.status).toBe(202);
  const done = await eventually(async () => {
    const progress = await h.api<DashboardRebuild>('GET', `/api/v1/dashboard/rebuild/${started.body.id}`);
    return progress.body.state === 'running' ? undefined : progress.body;
  });
  expect(done).toMatchObject({ state: 'completed', error: null });
}

describe('dashboard consumption with telemetry in batches', () => {
  const harnesses: DashboardHarness[] = [];
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  it('builds the same read model as the events applied one by one', async () => {
    const history = fleetHistory(7);
    const [oneByOne, batched] = await Promise.all([startDashboard(), startDashboard()]);
    harnesses.push(oneByOne, batched);
    await oneByOne.deliver(...history);
    await consume(batched, history);
    const expected = await readModel(oneByOne);
    expect(expected.latest.length).toBeGreaterThan(10);
    expect(expected.latest).toContainEqual(
      expect.objectContaining({ metric: 'temperature', value: 11, ts: new Date('2026-03-02T10:00:50.000Z') }),
    );
    expect(await readModel(batched)).toEqual(expected);
    // Superseded windows of a batch were not journaled.
    expect((await journalRows(batched)).keyed).toBeLessThan((await journalRows(oneByOne)).keyed);
  });

  it('journals only the newest windows of each asset and set of metrics of a batch', async () => {
    const h = await startDashboard();
    harnesses.push(h);
    const assetId = randomUUID();
    const windows = [
      events.telemetry(assetId, 'rpm', 1, '2026-03-02T10:00:01.000Z'),
      events.telemetry(assetId, 'rpm', 3, '2026-03-02T10:00:03.200Z'),
      events.telemetry(assetId, 'temperature', 60, '2026-03-02T10:00:02.000Z'),
      events.telemetry(assetId, 'rpm', 2, '2026-03-02T10:00:02.000Z'),
      // Another set of metrics: not superseded by windows of rpm or of temperature alone.
      events.telemetryOf(assetId, { rpm: 7, temperature: 61 }, '2026-03-02T10:00:01.500Z'),
      // The newest window again, with an earlier reading: both of its events stay.
      events.telemetry(assetId, 'rpm', 4, '2026-03-02T10:00:03.100Z'),
    ];
    expect(newestWindows(windows)).toEqual([windows[1], windows[2], windows[4], windows[5]]);
    await consume(h, [events.registered(assetId), ...windows]);
    const { rows } = await h.db.pool.query(
      'SELECT event_id FROM journal WHERE subject = $1 ORDER BY position',
      [assetId],
    );
    expect(rows.slice(1).map((r) => r.event_id)).toEqual([1, 2, 4, 5].map((i) => windows[i]!.id));
    expect((await h.asset(assetId)).latest).toEqual({
      rpm: { value: 3, ts: '2026-03-02T10:00:03.200Z' },
      temperature: { value: 60, ts: '2026-03-02T10:00:02.000Z' },
    });
  });
});

describe('journal trimming', () => {
  let h: DashboardHarness;
  beforeAll(async () => {
    h = await startDashboard();
  });
  afterAll(() => h?.close());

  it('removes superseded telemetry windows, and a rebuild from the trimmed journal equals the live read model', async () => {
    await h.deliver(...fleetHistory(11));
    const live = await readModel(h);
    const before = await journalRows(h);
    expect(before.keyed).toBeGreaterThan(before.keys);

    const trimmer = new JournalTrimmer({
      pool: h.db.pool,
      logger,
      clock: systemClock,
      metrics: createMetricsRegistry('dashboard', { processMetrics: false }),
      intervalMs: 3_600_000,
      batchSize: 1_000,
    });
    const trimmed = await trimmer.trimNow();
    const after = await journalRows(h);
    // The newest window of each asset and set of metrics is left (each of its events), every other
    // event stays.
    expect(before.newest).toBeLessThan(before.keyed);
    expect(trimmed).toBe(before.keyed - before.newest);
    expect(after).toEqual({
      total: before.total - trimmed,
      keyed: before.newest,
      keys: before.keys,
      newest: before.newest,
    });
    expect(await trimmer.trimNow()).toBe(0);

    await rebuild(h);
    expect(await readModel(h)).toEqual(live);
  });

  it('examines and deletes a bounded number of rows per pass, and catches up over several', async () => {
    const assetId = randomUUID();
    const windows = Array.from({ length: 40 }, (_, i) =>
      events.telemetry(assetId, 'rpm', i, new Date(Date.UTC(2026, 2, 3, 0, 0, i)).toISOString()),
    );
    await h.deliver(
      events.registered(assetId),
      ...windows.reverse(),
      events.statusChanged(assetId, 'commissioning', 'active', 2),
    );
    const live = await readModel(h);
    const passes = [];
    for (;;) {
      const pass = await trimJournal(h.db.pool, { batchSize: 10, now: new Date() });
      expect(pass.examined).toBeLessThanOrEqual(10);
      expect(pass.trimmed).toBeLessThanOrEqual(10);
      passes.push(pass);
      if (pass.caughtUp) break;
    }
    expect(passes.length).toBeGreaterThan(4);
    expect(passes.reduce((n, p) => n + p.trimmed, 0)).toBe(39);
    const { rows } = await h.db.pool.query(
      'SELECT event FROM journal WHERE subject = $1 AND compact_key IS NOT NULL',
      [assetId],
    );
    // The newest reading time is the first window of the (reversed) list.
    expect(rows.map((r) => r.event.id)).toEqual([windows[0]!.id]);
    await rebuild(h);
    expect(await readModel(h)).toEqual(live);
  });
});

describe('journal trimming in the service', () => {
  let h: DashboardHarness;
  beforeAll(async () => {
    h = await startDashboard({ env: { DASHBOARD_JOURNAL_TRIM_INTERVAL: '50ms' } });
  });
  afterAll(() => h?.close());

  it('runs on its own and reports the rows trimmed and the journal size', async () => {
    const assetId = randomUUID();
    await h.deliver(
      events.registered(assetId),
      events.telemetry(assetId, 'rpm', 1, '2026-03-02T10:00:01.000Z'),
      events.telemetry(assetId, 'rpm', 2, '2026-03-02T10:00:02.000Z'),
      events.telemetry(assetId, 'rpm', 3, '2026-03-02T10:00:03.000Z'),
    );
    const metrics = await eventually(async () => {
      const text = (await h.service.app.inject({ method: 'GET', url: '/metrics' })).body;
      return /assetops_dashboard_journal_trimmed_total\{[^}]*\} 2\b/.test(text) ? text : undefined;
    });
    expect(metrics).toMatch(/assetops_dashboard_journal_rows\{[^}]*\} 2\b/);
    expect((await h.asset(assetId)).latest.rpm).toEqual({ value: 3, ts: '2026-03-02T10:00:03.000Z' });
  });
});
