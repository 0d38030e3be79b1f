import {
  AlertCleared,
  AlertEscalated,
  AlertRaised,
  type AlertRule,
  type EventEnvelope,
  type Severity,
  type TelemetryAggregatedData,
  type TelemetryWindow,
  telemetryWindows,
} from '@assetops/contracts';
import {
  appendToOutbox,
  type Clock,
  createEvent,
  type IdGenerator,
  type Pool,
  type PoolClient,
  withTransaction,
} from '@assetops/platform';
import { Counter, type Registry } from 'prom-client';
import { RULE_COLUMNS_R, type RuleRow, silentAtSql, specOf, toRule } from '../rules/rule.model.js';
import {
  describeCondition,
  type EvalState,
  evaluate,
  evaluateSilence,
  initialState,
  type Sample,
  silenceMs,
  type Transition,
} from './engine.js';

/** The engine's view of one telemetry window. */
function sampleOf(d: TelemetryWindow): Sample {
  return {
    firstTs: Date.parse(d.firstTs),
    first: d.first,
    lastTs: Date.parse(d.lastTs),
    last: d.last,
    min: d.min,
    max: d.max,
    count: d.count,
  };
}

interface StateRow {
  state: EvalState;
  alert_id: string | null;
  episodes: number;
}

/** The alert columns read with an evaluation state (see AlertWrites.know). */
interface AlertOfState {
  alert_id: string | null;
  alert_status: string | null;
  alert_severity: Severity | null;
}

/** The alert a transition applies to, as far as this transaction knows it. */
interface OpenAlert {
  id: string;
  status: string;
  severity: Severity;
}

export interface EvaluatorDeps {
  clock: Clock;
  ids: IdGenerator;
  metrics?: Registry;
}

/** One transition of an alert, for its history. */
export interface HistoryEntry {
  status: string;
  at: Date;
  value: number | null;
  cause: string;
  severity: Severity;
}

const HISTORY_COLUMNS = ['alertId', 'status', 'at', 'value', 'cause', 'severity'] as const;

/**
 * Appends transitions to alerts' histories in one statement: each alert's entries get its next
 * `seq` numbers, in the order given.
 */
export async function appendHistories(
  tx: PoolClient,
  entries: readonly (HistoryEntry & { alertId: string })[],
): Promise<void> {
  if (entries.length === 0) return;
  await tx.query(
    `WITH h AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::float8[], $5::text[], $6::text[])
                WITH ORDINALITY AS h(alert_id, status, at, value, cause, severity, ord)
     ), last AS (
       SELECT alert_id, max(seq) AS seq FROM alert_history
        WHERE alert_id IN (SELECT alert_id FROM h) GROUP BY alert_id
     )
     INSERT INTO alert_history (alert_id, seq, status, at, value, cause, severity)
     SELECT h.alert_id, coalesce(last.seq, 0) + row_number() OVER (PARTITION BY h.alert_id ORDER BY h.ord),
            h.status, h.at, h.value, h.cause, h.severity
       FROM h LEFT JOIN last USING (alert_id)`,
    HISTORY_COLUMNS.map((column) => entries.map((e) => e[column])),
  );
}

/** Appends a transition to an alert's history (the next `seq`). */
export function appendHistory(tx: PoolClient, alertId: string, h: HistoryEntry): Promise<void> {
  return appendHistories(tx, [{ alertId, ...h }]);
}

/** An alert created by this batch of transitions, as it stands after them. */
interface NewAlert {
  id: string;
  ruleId: string;
  ruleName: string;
  assetId: string;
  metric: string;
  status: string;
  severity: Severity;
  episode: number;
  value: number | null;
  startedAt: Date;
  raisedAt: Date | null;
  clearedAt: Date | null;
}

/** The columns of an inserted alert, in the order of the INSERT's arrays. */
const NEW_ALERT_COLUMNS = [
  'id',
  'ruleId',
  'ruleName',
  'assetId',
  'metric',
  'status',
  'severity',
  'episode',
  'value',
  'startedAt',
  'raisedAt',
  'clearedAt',
] as const satisfies readonly (keyof NewAlert)[];
/** The fields a transition changes; one left out (undefined) keeps its value. */
type AlertFields = Partial<Pick<NewAlert, 'status' | 'value' | 'raisedAt' | 'severity' | 'clearedAt'>>;

/** A change made by one transition: `value` sets the value, `valueIfAny` sets it unless null. */
type AlertChange = AlertFields & { valueIfAny?: number | null };

function applyChange(target: AlertFields, change: AlertChange): void {
  if (change.status !== undefined) target.status = change.status;
  const value = change.value !== undefined ? change.value : (change.valueIfAny ?? undefined);
  if (value !== undefined) target.value = value;
  if (change.raisedAt !== undefined) target.raisedAt = change.raisedAt;
  if (change.severity !== undefined) target.severity = change.severity;
  if (change.clearedAt !== undefined) target.clearedAt = change.clearedAt;
}

/**
 * The writes of a run of transitions, gathered in memory and stored in at most three statements
 * (instead of two or three round trips per transition), with the alerts they touch read once:
 * - `open`: the alerts the run touches as they stand now (read with the evaluation states, see
 *   `know`, and updated as the run goes);
 * - alerts stored before are updated once with the fields the run changed (a field it did not
 *   change keeps its stored value), alerts created by the run are inserted as they stand at its
 *   end, and the history rows are appended in transition order.
 * Updates run before inserts: an alert cleared and a new episode of the same rule and asset opened
 * in one run never count as two active alerts at once (alerts_one_active_idx).
 */
class AlertWrites {
  readonly open = new Map<string, OpenAlert>();
  private readonly created = new Map<string, NewAlert>();
  private readonly patches = new Map<string, AlertFields>();
  private readonly history: (HistoryEntry & { alertId: string })[] = [];

  /**
   * An alert an evaluation state points to, as read with the state (columns `alert_status` and
   * `alert_severity` of a LEFT JOIN on `alerts`: null when the alert no longer exists).
   */
  know(row: AlertOfState): void {
    if (row.alert_id && row.alert_status && row.alert_severity) {
      this.open.set(row.alert_id, {
        id: row.alert_id,
        status: row.alert_status,
        severity: row.alert_severity,
      });
    }
  }

  insert(alert: NewAlert): void {
    this.created.set(alert.id, alert);
    this.open.set(alert.id, { id: alert.id, status: alert.status, severity: alert.severity });
  }

  update(id: string, change: AlertChange): void {
    const created = this.created.get(id);
    if (created) applyChange(created, change);
    else {
      const patch = this.patches.get(id) ?? {};
      applyChange(patch, change);
      this.patches.set(id, patch);
    }
    const open = this.open.get(id);
    if (open) {
      this.open.set(id, {
        ...open,
        ...(change.status === undefined ? {} : { status: change.status }),
        ...(change.severity === undefined ? {} : { severity: change.severity }),
      });
    }
  }

  appendHistory(alertId: string, h: HistoryEntry): void {
    this.history.push({ alertId, ...h });
  }

  async flush(tx: PoolClient): Promise<void> {
    if (this.patches.size > 0) {
      const patched = [...this.patches.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      await tx.query(
        `UPDATE alerts a
            SET status = coalesce(u.status, a.status),
                value = CASE WHEN u.value_set THEN u.value ELSE a.value END,
                raised_at = CASE WHEN u.raised_set THEN u.raised_at ELSE a.raised_at END,
                severity = coalesce(u.severity, a.severity),
                cleared_at = coalesce(u.cleared_at, a.cleared_at)
           FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::float8[], $5::bool[], $6::timestamptz[],
                       $7::text[], $8::timestamptz[])
                AS u(id, status, value_set, value, raised_set, raised_at, severity, cleared_at)
          WHERE a.id = u.id`,
        [
          patched.map(([id]) => id),
          patched.map(([, p]) => p.status ?? null),
          patched.map(([, p]) => p.value !== undefined),
          patched.map(([, p]) => p.value ?? null),
          patched.map(([, p]) => p.raisedAt !== undefined),
          patched.map(([, p]) => p.raisedAt ?? null),
          patched.map(([, p]) => p.severity ?? null),
          patched.map(([, p]) => p.clearedAt ?? null),
        ],
      );
    }
    if (this.created.size > 0) {
      const rows = [...this.created.values()];
      await tx.query(
        `INSERT INTO alerts (id, rule_id, rule_name, asset_id, metric, status, severity, episode, value, started_at,
                             raised_at, cleared_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                              $8::int4[], $9::float8[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[])`,
        NEW_ALERT_COLUMNS.map((column) => rows.map((r) => r[column])),
      );
    }
    await appendHistories(tx, this.history);
  }
}

/**
 * Evaluates rules on the telemetry feed and turns the engine's transitions into alerts, their
 * history and their events — all in the transaction of the consumed event, with the evaluation
 * state, so a redelivered event changes nothing and a restart loses nothing.
 */
export class Evaluator {
  private readonly late?: Counter;
  private readonly transitionsTotal?: Counter<'kind'>;

  constructor(private readonly deps: EvaluatorDeps) {
    if (deps.metrics) {
      this.late = new Counter({
        name: 'alert_late_samples_total',
        help: 'Telemetry windows older than what a rule had already evaluated (ignored)',
        registers: [deps.metrics],
      });
      this.transitionsTotal = new Counter({
        name: 'alert_transitions_total',
        help: 'Alert transitions by kind',
        labelNames: ['kind'],
        registers: [deps.metrics],
      });
    }
  }

  /** Handler of TelemetryAggregated: a run of one (see {@link onTelemetryBatch}). */
  onTelemetry(tx: PoolClient, event: EventEnvelope<TelemetryAggregatedData>): Promise<void> {
    return this.onTelemetryBatch(tx, [event]);
  }

  /**
   * Handler of a run of TelemetryAggregated events, in order: the same effects as handling each
   * event in turn in its own transaction, in a fixed number of round trips — the assets, the
   * rules watching the run's asset-metric pairs (share-locked), their evaluation states (locked)
   * with the alerts they point to, one upsert of the states, one outbox append — plus, when
   * transitions occur, at most three statements for all of them (see AlertWrites).
   */
  async onTelemetryBatch(
    tx: PoolClient,
    batch: readonly EventEnvelope<TelemetryAggregatedData>[],
  ): Promise<void> {
    // Per metric, in order: each window carries its event (the cause of the transitions it makes).
    const events = batch.flatMap((event) => telemetryWindows(event.data).map((data) => ({ ...event, data })));
    if (events.length === 0) return;
    const pairs = new Map<string, { assetId: string; metric: string }>();
    for (const { data } of events) pairs.set(`${data.assetId}|${data.metric}`, data);
    const pairList = [...pairs.values()];
    const { rows: assetRows } = await tx.query<{ asset_id: string; asset_type: string; status: string }>(
      'SELECT asset_id, asset_type, status FROM known_assets WHERE asset_id = ANY($1::uuid[])',
      [[...new Set(pairList.map((p) => p.assetId))]],
    );
    const assets = new Map(assetRows.map((a) => [a.asset_id, a]));
    // Share-lock the rules: a delete or disable committing meanwhile must not leave an alert behind
    // for a rule that is gone (the rule commands take the row lock before clearing its alerts; a rule
    // changed while this waited is read again — the outer conditions are checked on its new version —
    // and a pair it no longer matches is left out). The matches are found by two equi-joins, asset
    // rules and type rules apart: one join on the OR of both would compare every pair with every rule
    // of its metric (with a rule set per asset, 50,000 comparisons for a run of 80 assets).
    const { rows: ruleRows } = await tx.query<RuleRow & { pair_asset: string }>(
      `SELECT m.asset_id AS pair_asset, ${RULE_COLUMNS_R}
         FROM (SELECT p.asset_id, p.metric, a.asset_type, r.id AS rule_id
                 FROM unnest($1::uuid[], $2::text[]) AS p(asset_id, metric)
                 LEFT JOIN known_assets a ON a.asset_id = p.asset_id
                 JOIN rules r ON r.asset_id = p.asset_id AND r.metric = p.metric
               UNION ALL
               SELECT p.asset_id, p.metric, a.asset_type, r.id
                 FROM unnest($1::uuid[], $2::text[]) AS p(asset_id, metric)
                 JOIN known_assets a ON a.asset_id = p.asset_id
                 JOIN rules r ON r.asset_id IS NULL AND r.asset_type = a.asset_type AND r.metric = p.metric) m
         JOIN rules r ON r.id = m.rule_id
        WHERE r.enabled AND r.metric = m.metric
          AND (r.asset_id = m.asset_id OR (r.asset_id IS NULL AND r.asset_type = m.asset_type))
        ORDER BY r.id, m.asset_id
        FOR SHARE OF r`,
      [pairList.map((p) => p.assetId), pairList.map((p) => p.metric)],
    );
    if (ruleRows.length === 0) return;
    const rulesByPair = new Map<string, AlertRule[]>();
    for (const row of ruleRows) {
      const key = `${row.pair_asset}|${row.metric}`;
      const list = rulesByPair.get(key) ?? [];
      list.push(toRule(row));
      rulesByPair.set(key, list);
    }
    // The states (locked) with the alerts they point to (read, as the transitions need them).
    const { rows: stateRows } = await tx.query<
      StateRow & AlertOfState & { rule_id: string; asset_id: string }
    >(
      `SELECT e.rule_id, e.asset_id, e.state, e.alert_id, e.episodes,
              al.status AS alert_status, al.severity AS alert_severity
         FROM eval_state e JOIN unnest($1::uuid[], $2::uuid[]) AS k(rule_id, asset_id) USING (rule_id, asset_id)
         LEFT JOIN alerts al ON al.id = e.alert_id
        ORDER BY e.rule_id, e.asset_id
        FOR UPDATE OF e`,
      [ruleRows.map((r) => r.id), ruleRows.map((r) => r.pair_asset)],
    );
    const states = new Map(stateRows.map((r) => [`${r.rule_id}|${r.asset_id}`, r as StateRow]));
    const writes = new AlertWrites();
    for (const row of stateRows) writes.know(row);
    const touched = new Map<string, { ruleId: string; assetId: string; silenceMs: number | null }>();
    const out: EventEnvelope[] = [];
    for (const event of events) {
      const d = event.data;
      const asset = assets.get(d.assetId);
      if (asset?.status === 'decommissioned') continue;
      const rules = rulesByPair.get(`${d.assetId}|${d.metric}`);
      if (!rules) continue;
      const sample = sampleOf(d);
      for (const rule of rules) {
        const key = `${rule.id}|${d.assetId}`;
        const current = states.get(key) ?? { state: initialState(), alert_id: null, episodes: 0 };
        const spec = specOf(rule);
        touched.set(key, { ruleId: rule.id, assetId: d.assetId, silenceMs: silenceMs(spec) });
        const outcome = evaluate(spec, current.state, sample);
        if (outcome.late) {
          this.late?.inc();
          states.set(key, current);
          continue;
        }
        const next =
          outcome.transitions.length === 0
            ? current
            : this.apply(writes, rule, d.assetId, current, outcome.transitions, asset?.status, event, out);
        states.set(key, { alert_id: next.alert_id, episodes: next.episodes, state: outcome.state });
      }
    }
    await writes.flush(tx);
    if (touched.size > 0) {
      const keys = [...touched.entries()];
      const saved = keys.map(([key]) => states.get(key)!);
      await tx.query(
        // A no-data rule's deadline (silent_at) is its silence after now, or none while its alert
        // fires. A row that has one keeps it: an earlier deadline is a lower bound, which the check
        // moves on when it passes (see checkSilence); rewriting it on every window would make every
        // update of the row touch its indexes.
        `INSERT INTO eval_state (rule_id, asset_id, state, alert_id, episodes, last_seen_at, silent_at)
         SELECT u.rule_id, u.asset_id, u.state, u.alert_id, u.episodes, $6::timestamptz,
                CASE WHEN u.state->>'phase' <> 'firing' THEN $6::timestamptz + u.silence_ms * interval '1 millisecond' END
           FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[], $4::uuid[], $5::int4[], $7::float8[])
                AS u(rule_id, asset_id, state, alert_id, episodes, silence_ms)
         ON CONFLICT (rule_id, asset_id) DO UPDATE
           SET state = excluded.state, alert_id = excluded.alert_id, episodes = excluded.episodes,
               last_seen_at = excluded.last_seen_at,
               silent_at = CASE WHEN excluded.silent_at IS NOT NULL THEN coalesce(eval_state.silent_at, excluded.silent_at) END`,
        [
          keys.map(([, k]) => k.ruleId),
          keys.map(([, k]) => k.assetId),
          saved.map((s) => JSON.stringify(s.state)),
          saved.map((s) => s.alert_id),
          saved.map((s) => s.episodes),
          this.deps.clock.now(),
          keys.map(([, k]) => k.silenceMs),
        ],
      );
    }
    await appendToOutbox(tx, out);
  }

  /**
   * Checks the no-data rules due at the clock's time: one transaction per (rule, asset), skipping
   * rows another instance or an event handler holds. Returns how many alerts fired.
   *
   * `seed` (default on) first gives every (no-data rule, asset) pair without an evaluation state
   * one, watching from now. It reads every no-data rule and known asset, so the service seeds only
   * when rules or assets changed (RelevanceChanges), not on every tick.
   */
  async checkSilence(pool: Pool, opts: { seed?: boolean } = {}): Promise<number> {
    const now = this.deps.clock.now();
    if (opts.seed ?? true) {
      // Asset rules and type rules apart: each is a plain equi-join (one join on an OR would be a
      // nested loop over rules and assets).
      await pool.query(
        `INSERT INTO eval_state (rule_id, asset_id, state, last_seen_at, silent_at)
         SELECT t.rule_id, t.asset_id, $1::jsonb, $2, t.silent_at
           FROM (SELECT r.id AS rule_id, a.asset_id, ${silentAtSql('$2::timestamptz')} AS silent_at
                   FROM rules r JOIN known_assets a ON a.asset_id = r.asset_id
                  WHERE r.enabled AND r.condition->>'kind' = 'no_data' AND a.status <> 'decommissioned'
                 UNION ALL
                 SELECT r.id, a.asset_id, ${silentAtSql('$2::timestamptz')}
                   FROM rules r JOIN known_assets a ON a.asset_type = r.asset_type
                  WHERE r.asset_id IS NULL AND r.enabled AND r.condition->>'kind' = 'no_data'
                    AND a.status <> 'decommissioned') t
          WHERE NOT EXISTS (SELECT 1 FROM eval_state e WHERE e.rule_id = t.rule_id AND e.asset_id = t.asset_id)
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(initialState()), now],
      );
    }
    // Deadlines that passed while data kept coming move to the last data plus the silence (and a
    // rule disabled or no longer a no-data one loses its deadline). Rows an evaluation holds are
    // skipped, never waited for: they are moved on the next check.
    await pool.query(
      `WITH passed AS (
         SELECT e.rule_id, e.asset_id, ${silentAtSql('e.last_seen_at')} AS next
           FROM eval_state e JOIN rules r ON r.id = e.rule_id
          WHERE e.silent_at <= $1 AND e.state->>'phase' <> 'firing'
          ORDER BY e.rule_id, e.asset_id
          FOR UPDATE OF e SKIP LOCKED)
       UPDATE eval_state e SET silent_at = p.next
         FROM passed p
        WHERE e.rule_id = p.rule_id AND e.asset_id = p.asset_id AND (p.next IS NULL OR p.next > $1)`,
      [now],
    );
    // Rows of a decommissioned asset are left out (its handler deletes them): they must not take
    // the places of due rows in the batch.
    const { rows: due } = await pool.query<{ rule_id: string; asset_id: string }>(
      `SELECT e.rule_id, e.asset_id
         FROM eval_state e JOIN rules r ON r.id = e.rule_id LEFT JOIN known_assets a ON a.asset_id = e.asset_id
        WHERE e.silent_at <= $1 AND r.enabled AND r.condition->>'kind' = 'no_data' AND e.state->>'phase' <> 'firing'
          AND a.status IS DISTINCT FROM 'decommissioned'
        ORDER BY e.silent_at
        LIMIT 1000`,
      [now],
    );
    let fired = 0;
    for (const { rule_id, asset_id } of due) {
      fired += await withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<
          RuleRow & { status: string | null; last_seen_at: Date } & StateRow & AlertOfState
        >(
          `SELECT ${RULE_COLUMNS_R}, a.status, e.last_seen_at, e.state, e.alert_id, e.episodes,
                  al.status AS alert_status, al.severity AS alert_severity
             FROM eval_state e JOIN rules r ON r.id = e.rule_id LEFT JOIN known_assets a ON a.asset_id = e.asset_id
                  LEFT JOIN alerts al ON al.id = e.alert_id
            WHERE e.rule_id = $1 AND e.asset_id = $2
            FOR UPDATE OF e SKIP LOCKED`,
          [rule_id, asset_id],
        );
        const row = rows[0];
        if (!row || row.status === 'decommissioned') return 0;
        const rule = toRule(row);
        const outcome = evaluateSilence(specOf(rule), row.state, row.last_seen_at.getTime(), now.getTime());
        // Not due after all (data came since the deadlines were moved above): the next check moves it.
        if (outcome.transitions.length === 0) return 0;
        const events: EventEnvelope[] = [];
        const writes = new AlertWrites();
        writes.know(row);
        const next = this.apply(
          writes,
          rule,
          asset_id,
          row,
          outcome.transitions,
          row.status ?? undefined,
          undefined,
          events,
        );
        await writes.flush(tx);
        await tx.query(
          // Firing: no deadline until data comes again.
          'UPDATE eval_state SET state = $3, alert_id = $4, episodes = $5, silent_at = NULL WHERE rule_id = $1 AND asset_id = $2',
          [rule_id, asset_id, JSON.stringify(outcome.state), next.alert_id, next.episodes],
        );
        await appendToOutbox(tx, events);
        return 1;
      });
    }
    return fired;
  }

  /**
   * Applies the engine's transitions to the rule's alert on the asset, in `writes` (stored when it
   * is flushed); collects the events.
   */
  private apply(
    writes: AlertWrites,
    rule: AlertRule,
    assetId: string,
    current: StateRow,
    transitions: Transition[],
    assetStatus: string | undefined,
    cause: EventEnvelope | undefined,
    events: EventEnvelope[],
  ): Pick<StateRow, 'alert_id' | 'episodes'> {
    let alertId = current.alert_id;
    let episodes = current.episodes;
    // The rule's alert as the transitions so far left it (kept by `writes`, re-read after each change).
    let open = alertId ? writes.open.get(alertId) : undefined;
    const meta = {
      subject: assetId,
      clock: this.deps.clock,
      ids: this.deps.ids,
      ...(cause ? { causedBy: cause } : {}),
    };
    const suppressed = assetStatus === 'maintenance';
    for (const t of transitions) {
      this.transitionsTotal?.inc({ kind: t.kind });
      const at = new Date(t.at);
      if (t.kind === 'pending' || (t.kind === 'firing' && !open)) {
        const status = t.kind === 'pending' ? 'pending' : suppressed ? 'suppressed' : 'firing';
        alertId = this.deps.ids.next();
        episodes += 1;
        writes.insert({
          id: alertId,
          ruleId: rule.id,
          ruleName: rule.name,
          assetId,
          metric: rule.metric,
          status,
          severity: rule.severity,
          episode: episodes,
          value: t.value,
          startedAt: at,
          raisedAt: status === 'firing' ? at : null,
          clearedAt: null,
        });
        open = writes.open.get(alertId)!;
        writes.appendHistory(alertId, {
          status,
          at,
          value: t.value,
          cause: this.causeOf(t, status),
          severity: rule.severity,
        });
        if (status === 'firing') events.push(this.raised(rule, assetId, open, t, episodes, meta));
        continue;
      }
      if (!open || !alertId) continue;
      if (t.kind === 'firing') {
        const status = suppressed ? 'suppressed' : 'firing';
        writes.update(alertId, { status, value: t.value, raisedAt: status === 'firing' ? at : null });
        open = writes.open.get(alertId)!;
        writes.appendHistory(alertId, {
          status,
          at,
          value: t.value,
          cause: this.causeOf(t, status),
          severity: open.severity,
        });
        if (status === 'firing') events.push(this.raised(rule, assetId, open, t, episodes, meta));
      } else if (t.kind === 'escalated') {
        const to = rule.escalation?.severity ?? open.severity;
        writes.update(alertId, { severity: to, value: t.value });
        writes.appendHistory(alertId, {
          status: 'escalated',
          at,
          value: t.value,
          cause: t.cause,
          severity: to,
        });
        if (open.status === 'firing' || open.status === 'acknowledged') {
          events.push(
            createEvent(
              AlertEscalated,
              { alertId, ruleId: rule.id, assetId, from: open.severity, to, at: at.toISOString() },
              meta,
            ),
          );
        }
        open = writes.open.get(alertId)!;
      } else {
        // cleared, or a pending period cancelled
        writes.update(alertId, { status: 'cleared', clearedAt: at, valueIfAny: t.value });
        writes.appendHistory(alertId, {
          status: 'cleared',
          at,
          value: t.value,
          cause: t.cause,
          severity: open.severity,
        });
        if (open.status === 'firing' || open.status === 'acknowledged') {
          events.push(
            createEvent(
              AlertCleared,
              {
                alertId,
                ruleId: rule.id,
                assetId,
                severity: open.severity,
                value: t.value,
                cause: t.cause,
                at: at.toISOString(),
              },
              meta,
            ),
          );
        }
        alertId = null;
        open = undefined;
      }
    }
    return { alert_id: alertId, episodes };
  }

  private causeOf(t: Transition, status: string): string {
    return status === 'suppressed' ? `${t.cause} (suppressed: the asset is in maintenance)` : t.cause;
  }

  private raised(
    rule: AlertRule,
    assetId: string,
    alert: OpenAlert,
    t: Transition,
    episode: number,
    meta: Parameters<typeof createEvent>[2],
  ) {
    return createEvent(
      AlertRaised,
      {
        alertId: alert.id,
        ruleId: rule.id,
        ruleName: rule.name,
        assetId,
        metric: rule.metric,
        severity: alert.severity,
        value: t.value,
        condition: describeCondition(rule.metric, rule.condition),
        at: new Date(t.at).toISOString(),
        episode,
      },
      meta,
    );
  }
}
