import type { CreateRuleBody, EventEnvelope, TelemetryAggregatedData } from '@assetops/contracts';
import { uuidV7Ids, withTransaction } from '@assetops/platform';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../src/evaluation/evaluator.js';
import { insertRule } from '../src/rules/rule.store.js';
import { type AlertHarness, startAlert } from './support/harness.js';

const T0 = Date.parse('2026-11-28T11:00:00.000Z');

/** Rules that between them go through every transition: pending, firing, escalation, clear. */
const RULES: Partial<CreateRuleBody>[] = [
  {
    name: 'hot',
    metric: 'temperature',
    condition: { kind: 'above', threshold: 80 },
    forSeconds: 2,
    clear: { threshold: 75 },
  },
  {
    name: 'very hot',
    metric: 'temperature',
    condition: { kind: 'above', threshold: 90 },
    escalation: { severity: 'critical', afterSeconds: 3 },
  },
  {
    name: 'low pressure',
    metric: 'pressure',
    condition: { kind: 'below', threshold: 2 },
    severity: 'warning',
  },
];

describe('alert evaluation of a run of telemetry windows at once', () => {
  let h: AlertHarness;
  let evaluator: Evaluator;
  beforeAll(async () => {
    h = await startAlert();
    evaluator = new Evaluator({ clock: h.clock, ids: uuidV7Ids });
  });
  afterAll(() => h?.close());

  async function assetWithRules(): Promise<string> {
    const assetId = await h.registerAsset('gearbox');
    for (const r of RULES) {
      // Time-ordered ids: both assets' rules are evaluated in the same order (rule id order).
      await insertRule(
        h.db.pool,
        uuidV7Ids.next(),
        {
          name: 'r',
          assetId,
          metric: 'temperature',
          severity: 'major',
          condition: { kind: 'above', threshold: 0 },
          ...r,
        },
        'user',
        h.clock.now(),
      );
    }
    return assetId;
  }

  /** What the evaluation left for an asset, without ids: alerts, their history, states, events. */
  async function outcome(assetId: string) {
    const alerts = await h.db.pool.query(
      `SELECT a.rule_name, a.status, a.severity, a.episode, a.value, a.started_at, a.raised_at, a.cleared_at,
              (SELECT array_agg(h.status || ':' || h.at::text || ':' || coalesce(h.value::text, '') ORDER BY h.seq)
                 FROM alert_history h WHERE h.alert_id = a.id) AS history
         FROM alerts a WHERE a.asset_id = $1 ORDER BY a.rule_name, a.episode`,
      [assetId],
    );
    const states = await h.db.pool.query(
      `SELECT r.name, e.state, e.episodes, e.alert_id IS NOT NULL AS open
         FROM eval_state e JOIN rules r ON r.id = e.rule_id WHERE e.asset_id = $1 ORDER BY r.name`,
      [assetId],
    );
    const events = (await h.outbox())
      .filter(
        (e) =>
          e.subject === assetId && e.type.startsWith('assetops.alert.') && !e.type.includes('thresholds'),
      )
      .map((e) => {
        const { alertId: _a, ruleId: _r, assetId: _s, ...rest } = e.data as Record<string, unknown>;
        return { type: e.type, ...rest };
      });
    return { alerts: alerts.rows, states: states.rows, events };
  }

  it('leaves exactly what evaluating the windows one by one leaves, including late and repeated windows', async () => {
    const window = fc.record({
      metric: fc.constantFrom('temperature', 'pressure', 'rpm'),
      second: fc.integer({ min: 0, max: 40 }),
      value: fc.oneof(fc.integer({ min: 60, max: 100 }), fc.integer({ min: 0, max: 5 })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(window, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 }),
        async (windows, chunkSizes) => {
          const one = await assetWithRules();
          const batched = await assetWithRules();
          // Mostly in time order, with the generated seconds as occasional late windows.
          const plan = windows.map((w, i) => ({ ...w, ts: T0 + (i % 3 === 0 ? w.second : i) * 1000 }));
          for (const w of plan) await h.deliver(h.reading(one, w.metric, w.ts, w.value));
          const events = plan.map(
            (w) => h.reading(batched, w.metric, w.ts, w.value) as EventEnvelope<TelemetryAggregatedData>,
          );
          let at = 0;
          for (let c = 0; at < events.length; c++) {
            const size = chunkSizes[c % chunkSizes.length]!;
            const chunk = events.slice(at, at + size);
            at += size;
            await withTransaction(h.db.pool, (tx) => evaluator.onTelemetryBatch(tx, chunk));
          }
          const [a, b] = [await outcome(one), await outcome(batched)];
          expect(b).toEqual(a);
        },
      ),
      { numRuns: 15 },
    );
    // The property saw alerts, not only quiet runs: the rules fire on the generated values.
    const { rows } = await h.db.pool.query(
      `SELECT count(*)::int AS n FROM alerts WHERE status IN ('firing', 'cleared')`,
    );
    expect(rows[0].n).toBeGreaterThan(0);
  }, 120_000);

  it('stores several transitions of one alert, and a cleared episode with the next one, in one run', async () => {
    const one = await assetWithRules();
    const batched = await assetWithRules();
    // Stored before the run: "hot" pending, "very hot" firing.
    const plan: [number, number][] = [
      [0, 95],
      [3, 96], // hot fires, very hot escalates
      [4, 70], // both clear
      [5, 97], // new episodes: hot pending, very hot firing
      [8, 98], // hot fires again, very hot escalates again
    ];
    for (const [second, value] of plan)
      await h.deliver(h.reading(one, 'temperature', T0 + second * 1000, value));
    await h.deliver(h.reading(batched, 'temperature', T0, 95));
    const run = plan
      .slice(1)
      .map(([second, value]) =>
        h.reading(batched, 'temperature', T0 + second * 1000, value),
      ) as EventEnvelope<TelemetryAggregatedData>[];
    await withTransaction(h.db.pool, (tx) => evaluator.onTelemetryBatch(tx, run));
    const [a, b] = [await outcome(one), await outcome(batched)];
    expect(b).toEqual(a);
    expect(b.alerts.map((x) => [x.rule_name, x.status, x.severity, x.episode, x.history.length])).toEqual([
      ['hot', 'cleared', 'major', 1, 3],
      ['hot', 'firing', 'major', 2, 2],
      ['very hot', 'cleared', 'critical', 1, 3],
      ['very hot', 'firing', 'critical', 2, 2],
    ]);
  });

  it('evaluates a window of several metrics as the windows of each metric, in the order listed', async () => {
    const apart = await assetWithRules();
    const together = await assetWithRules();
    const windows: Record<string, number>[] = [
      { temperature: 85, pressure: 1, rpm: 3 },
      { temperature: 95, pressure: 5 },
      { pressure: 0.5, temperature: 70 },
      { temperature: 99 },
    ];
    for (const [i, values] of windows.entries()) {
      const ts = T0 + i * 2000;
      for (const [metric, value] of Object.entries(values))
        await h.deliver(h.reading(apart, metric, ts, value));
      await h.deliver(h.readings(together, ts, values));
    }
    const [a, b] = [await outcome(apart), await outcome(together)];
    expect(b).toEqual(a);
    expect(b.alerts.map((x) => [x.rule_name, x.status])).toEqual([
      ['hot', 'cleared'],
      ['hot', 'pending'], // 99 at the last window: pending for 2 s
      ['low pressure', 'cleared'],
      ['low pressure', 'firing'],
      ['very hot', 'cleared'],
      ['very hot', 'firing'],
    ]);
  });

  it('waits for a rule being changed and evaluates it as it is then: disabled, on another metric or asset', async () => {
    const assetId = await h.registerAsset('gearbox');
    const elsewhere = await h.registerAsset('gearbox');
    const [disabled, moved, reassigned, kept] = [
      uuidV7Ids.next(),
      uuidV7Ids.next(),
      uuidV7Ids.next(),
      uuidV7Ids.next(),
    ];
    for (const [id, name] of [
      [disabled, 'disabled meanwhile'],
      [moved, 'moved to pressure meanwhile'],
      [reassigned, 'moved to another asset meanwhile'],
      [kept, 'kept'],
    ] as const) {
      await insertRule(
        h.db.pool,
        id,
        {
          name,
          assetId,
          metric: 'temperature',
          severity: 'major',
          condition: { kind: 'above', threshold: 50 },
        },
        'user',
        h.clock.now(),
      );
    }
    const other = await h.db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query('UPDATE rules SET enabled = false WHERE id = $1', [disabled]);
      await other.query(`UPDATE rules SET metric = 'pressure' WHERE id = $1`, [moved]);
      await other.query('UPDATE rules SET asset_id = $2 WHERE id = $1', [reassigned, elsewhere]);
      const evaluation = withTransaction(h.db.pool, (tx) =>
        evaluator.onTelemetryBatch(tx, [
          h.reading(assetId, 'temperature', T0, 95) as EventEnvelope<TelemetryAggregatedData>,
        ]),
      );
      // The evaluation waits for the rules' row locks, then reads them again.
      for (let waited = 0; ; waited += 10) {
        const { rows } = await h.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        );
        if (rows[0]!.n > 0) break;
        if (waited > 5000) throw new Error('the evaluation never waited for the rules being changed');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await other.query('COMMIT');
      await evaluation;
    } finally {
      other.release();
    }
    const { alerts } = await outcome(assetId);
    expect(alerts.map((a) => [a.rule_name, a.status])).toEqual([['kept', 'firing']]);
    expect((await outcome(elsewhere)).alerts).toEqual([]);
  });

  it('ignores a decommissioned asset and windows no rule watches, in a batch as one by one', async () => {
    const watched = await assetWithRules();
    const gone = await assetWithRules();
    await h.changeStatus(gone, 'commissioning', 'decommissioned');
    const batch = [
      h.reading(gone, 'temperature', T0, 95),
      h.reading(watched, 'rpm', T0, 95),
      h.reading(watched, 'pressure', T0, 1),
      h.reading(gone, 'pressure', T0, 1),
    ] as EventEnvelope<TelemetryAggregatedData>[];
    await withTransaction(h.db.pool, (tx) => evaluator.onTelemetryBatch(tx, batch));
    expect((await outcome(gone)).alerts).toEqual([]);
    expect((await outcome(watched)).alerts.map((a) => [a.rule_name, a.status])).toEqual([
      ['low pressure', 'firing'],
    ]);
  });

  it('finds, in one run, the asset rules and the type rules of each asset, and only those', async () => {
    const [typeX, typeY] = ['x', 'y'].map((t) => `${t}-${uuidV7Ids.next().slice(-8)}`) as [string, string];
    const [a1, a2, b1] = [
      await h.registerAsset(typeX),
      await h.registerAsset(typeX),
      await h.registerAsset(typeY),
    ];
    const add = (name: string, target: Partial<CreateRuleBody>, metric = 'temperature', enabled = true) =>
      insertRule(
        h.db.pool,
        uuidV7Ids.next(),
        { name, metric, severity: 'major', condition: { kind: 'above', threshold: 50 }, enabled, ...target },
        'user',
        h.clock.now(),
      );
    await add('type x hot', { assetType: typeX });
    await add('type y pressure', { assetType: typeY }, 'pressure');
    await add('a1 hot', { assetId: a1 });
    await add('a2 hot, disabled', { assetId: a2 }, 'temperature', false);
    await add('b1 pressure', { assetId: b1 }, 'pressure');
    await add('b1 rpm', { assetId: b1 }, 'rpm');
    const batch = [a1, a2, b1].map((assetId) =>
      h.readings(assetId, T0, { temperature: 95, pressure: 95, rpm: 10 }),
    ) as EventEnvelope<TelemetryAggregatedData>[];
    await withTransaction(h.db.pool, (tx) => evaluator.onTelemetryBatch(tx, batch));
    const firing = async (assetId: string) =>
      (await outcome(assetId)).alerts.map((a) => [a.rule_name, a.status]).sort();
    expect(await firing(a1)).toEqual([
      ['a1 hot', 'firing'],
      ['type x hot', 'firing'],
    ]);
    expect(await firing(a2)).toEqual([['type x hot', 'firing']]);
    expect(await firing(b1)).toEqual([
      ['b1 pressure', 'firing'],
      ['type y pressure', 'firing'],
    ]);
  });
});
