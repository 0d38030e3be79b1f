import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, get, patch, post, query } from '../lib/api.js';
import { assetNames } from '../lib/data.js';
import {
  act,
  Empty,
  ErrorBox,
  formatTime,
  formatValue,
  Loading,
  SEVERITIES,
  SeverityBadge,
  useData,
} from '../lib/ui.js';

const KINDS = [
  ['above', 'above a threshold'],
  ['below', 'below a threshold'],
  ['outside', 'outside a range'],
  ['inside', 'inside a range'],
  ['rate_above', 'changing faster than'],
  ['no_data', 'no data for'],
];
const BACKTEST_RANGES = [
  ['1h', 3_600_000],
  ['6h', 21_600_000],
  ['24h', 86_400_000],
  ['7d', 604_800_000],
];

export function describeCondition(c) {
  switch (c?.kind) {
    case 'above':
      return `> ${c.threshold}`;
    case 'below':
      return `< ${c.threshold}`;
    case 'outside':
      return `outside [${c.low}, ${c.high}]`;
    case 'inside':
      return `inside [${c.low}, ${c.high}]`;
    case 'rate_above':
      return `rate > ${c.perSecond}/s`;
    case 'no_data':
      return `no data ${c.seconds}s`;
    default:
      return JSON.stringify(c);
  }
}

const EMPTY = {
  name: '',
  target: 'asset',
  assetId: '',
  assetType: 'pump',
  metric: '',
  kind: 'above',
  threshold: '',
  low: '',
  high: '',
  perSecond: '',
  seconds: '60',
  severity: 'warning',
  forSeconds: '0',
};

/** The rule a form describes, as the API takes it (without name and enabled). */
function ruleOf(form) {
  const number = (v) => (v === '' ? Number.NaN : Number(v));
  const condition =
    form.kind === 'above' || form.kind === 'below'
      ? { kind: form.kind, threshold: number(form.threshold) }
      : form.kind === 'outside' || form.kind === 'inside'
        ? { kind: form.kind, low: number(form.low), high: number(form.high) }
        : form.kind === 'rate_above'
          ? { kind: form.kind, perSecond: number(form.perSecond) }
          : { kind: form.kind, seconds: number(form.seconds) };
  return {
    ...(form.target === 'asset' ? { assetId: form.assetId } : { assetType: form.assetType.trim() }),
    metric: form.metric.trim(),
    condition,
    severity: form.severity,
    forSeconds: Number(form.forSeconds || 0),
  };
}

function Backtest({ result, names }) {
  if (!result) return null;
  const { counts, episodes } = result;
  return html`<div class="backtest" data-testid="backtest-result">
    <h3>Backtest preview</h3>
    <p><b data-testid="backtest-episodes">${counts.episodes}</b> alert${counts.episodes === 1 ? '' : 's'} would have been raised
      on ${counts.assets} asset${counts.assets === 1 ? '' : 's'} from ${counts.samples} samples
      (${counts.stillFiring} still firing, ${counts.cancelledPending} pending periods ended before firing).</p>
    <p class="muted small">${formatTime(result.from)} – ${formatTime(result.to)} · resolution ${result.resolution}</p>
    ${
      episodes.length > 0
        ? html`<div class="table-wrap"><table class="table compact">
          <thead><tr><th>Asset</th><th>Raised</th><th>Cleared</th><th>Severity</th><th>Peak</th></tr></thead>
          <tbody>${episodes.slice(0, 50).map(
            (
              e,
            ) => html`<tr><td>${names?.get(e.assetId) ?? e.assetId.slice(0, 8)}</td><td>${formatTime(e.raisedAt)}</td>
              <td>${e.clearedAt ? formatTime(e.clearedAt) : 'still firing'}</td><td><${SeverityBadge} severity=${e.severity} /></td><td>${formatValue(e.peakValue)}</td></tr>`,
          )}</tbody></table></div>`
        : null
    }
  </div>`;
}

function RuleEditor({ names, onSaved }) {
  const [form, setForm] = useState(EMPTY);
  const [range, setRange] = useState('24h');
  const [backtest, setBacktest] = useState({ result: undefined, error: undefined, running: false });
  const field = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });

  const runBacktest = async () => {
    setBacktest({ result: undefined, error: undefined, running: true });
    const to = Date.now();
    const from = to - BACKTEST_RANGES.find(([r]) => r === range)[1];
    // Long ranges replay one sample per minute: raw readings over days may exceed the service's limit.
    const resolution = to - from > 86_400_000 ? '1m' : 'raw';
    try {
      const result = await post('/api/v1/alert-rules/backtest', {
        rule: { ...ruleOf(form), ...(form.name.trim() ? { name: form.name.trim() } : {}) },
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        resolution,
      });
      setBacktest({ result, error: undefined, running: false });
    } catch (error) {
      setBacktest({ result: undefined, error, running: false });
    }
  };
  const save = async (event) => {
    event.preventDefault();
    if (
      await act(
        post('/api/v1/alert-rules', { name: form.name.trim(), ...ruleOf(form), enabled: true }),
        `Rule “${form.name}” created`,
      )
    ) {
      setForm(EMPTY);
      setBacktest({ result: undefined, error: undefined, running: false });
      onSaved();
    }
  };

  const ready = form.metric.trim() && (form.target === 'asset' ? form.assetId : form.assetType.trim());
  return html`<form class="card rule-editor" onSubmit=${save} data-testid="rule-editor">
    <h2>New rule</h2>
    <div class="form-grid">
      <label>Name<input aria-label="Name" name="name" required value=${form.name} onInput=${field('name')} placeholder="Bearing too hot" /></label>
      <label>Applies to
        <select aria-label="Applies to" name="target" value=${form.target} onChange=${field('target')}>
          <option value="asset">one asset</option><option value="type">every asset of a type</option>
        </select>
      </label>
      ${
        form.target === 'asset'
          ? html`<label>Asset<select aria-label="Asset" name="assetId" required value=${form.assetId} onChange=${field('assetId')}>
            <option value="">Choose…</option>
            ${[...(names ?? new Map())].map(([id, name]) => html`<option value=${id}>${name}</option>`)}
          </select></label>`
          : html`<label>Asset type<input aria-label="Asset type" name="assetType" required value=${form.assetType} onInput=${field('assetType')} /></label>`
      }
      <label>Metric<input aria-label="Metric" name="metric" required value=${form.metric} onInput=${field('metric')} placeholder="temperature" /></label>
      <label>Condition<select aria-label="Condition" name="kind" value=${form.kind} onChange=${field('kind')}>
        ${KINDS.map(([k, text]) => html`<option value=${k}>${text}</option>`)}
      </select></label>
      ${
        form.kind === 'above' || form.kind === 'below'
          ? html`<label>Threshold<input aria-label="Threshold" name="threshold" type="number" step="any" required value=${form.threshold} onInput=${field('threshold')} /></label>`
          : form.kind === 'outside' || form.kind === 'inside'
            ? html`<label>Low<input aria-label="Low" name="low" type="number" step="any" required value=${form.low} onInput=${field('low')} /></label>
              <label>High<input aria-label="High" name="high" type="number" step="any" required value=${form.high} onInput=${field('high')} /></label>`
            : form.kind === 'rate_above'
              ? html`<label>Units per second<input aria-label="Units per second" name="perSecond" type="number" step="any" min="0" required value=${form.perSecond} onInput=${field('perSecond')} /></label>`
              : html`<label>Seconds without data<input aria-label="Seconds without data" name="seconds" type="number" min="1" required value=${form.seconds} onInput=${field('seconds')} /></label>`
      }
      <label>Severity<select aria-label="Severity" name="severity" value=${form.severity} onChange=${field('severity')}>
        ${SEVERITIES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>For (seconds)<input aria-label="For (seconds)" name="forSeconds" type="number" min="0" value=${form.forSeconds} onInput=${field('forSeconds')} /></label>
    </div>
    <div class="form-actions">
      <label class="inline">Backtest over
        <select aria-label="Backtest range" value=${range} onChange=${(e) => setRange(e.currentTarget.value)}>
          ${BACKTEST_RANGES.map(([r]) => html`<option value=${r}>last ${r}</option>`)}
        </select>
      </label>
      <button class="btn" type="button" disabled=${!ready || backtest.running} onClick=${runBacktest}>${backtest.running ? 'Running…' : 'Preview (backtest)'}</button>
      <button class="btn primary" type="submit" disabled=${!ready || !form.name.trim()}>Create rule</button>
    </div>
    <${ErrorBox} error=${backtest.error} />
    <${Backtest} result=${backtest.result} names=${names} />
  </form>`;
}

/** Alert rules: the list (enable, disable, delete) and an editor with a backtest preview. */
export function RulesPage({ params }) {
  const [assetId, setAssetId] = useState(params.get('assetId') ?? '');
  const rules = useData(
    (signal) => get(`/api/v1/alert-rules${query({ assetId, limit: 500 })}`, { signal }),
    [assetId],
  );
  const names = useData((signal) => assetNames(signal), []);
  const toggle = async (rule) => {
    if (
      await act(
        patch(`/api/v1/alert-rules/${rule.id}`, { enabled: !rule.enabled }),
        `${rule.enabled ? 'Disabled' : 'Enabled'} ${rule.name}`,
      )
    )
      rules.reload();
  };
  const remove = async (rule) => {
    if (!confirm(`Delete the rule “${rule.name}”? Its open alerts are cleared.`)) return;
    if (await act(api('DELETE', `/api/v1/alert-rules/${rule.id}`), `Deleted ${rule.name}`)) rules.reload();
  };
  const items = rules.data?.items ?? [];
  return html`<div class="page">
    <div class="page-head"><h1>Alert rules</h1></div>
    <${RuleEditor} names=${names.data} onSaved=${rules.reload} />
    <section class="card">
      <div class="card-head">
        <h2>Rules</h2>
        <select aria-label="Filter by asset" value=${assetId} onChange=${(e) => setAssetId(e.currentTarget.value)}>
          <option value="">All rules</option>
          ${[...(names.data ?? new Map())].map(([id, name]) => html`<option value=${id}>${name}</option>`)}
        </select>
      </div>
      <${ErrorBox} error=${rules.error} onRetry=${rules.reload} />
      ${
        rules.data === undefined && !rules.error
          ? html`<${Loading} />`
          : items.length === 0
            ? html`<${Empty}>No rules.</${Empty}>`
            : html`<div class="table-wrap"><table class="table" data-testid="rule-table">
              <thead><tr><th>Name</th><th>Target</th><th>Condition</th><th>Severity</th><th class="hide-sm">Origin</th><th>Enabled</th><th></th></tr></thead>
              <tbody>${items.map(
                (r) => html`<tr key=${r.id}>
                  <td><b>${r.name}</b></td>
                  <td>${r.assetId ? html`<a href=${`#/assets/${r.assetId}`}>${names.data?.get(r.assetId) ?? r.assetId.slice(0, 8)}</a>` : `all ${r.assetType}`}</td>
                  <td><code>${r.metric} ${describeCondition(r.condition)}</code>${r.forSeconds ? html` <span class="muted small">for ${r.forSeconds}s</span>` : null}</td>
                  <td><${SeverityBadge} severity=${r.severity} /></td>
                  <td class="hide-sm muted small">${r.origin}</td>
                  <td><label class="switch"><input type="checkbox" checked=${r.enabled} onChange=${() => toggle(r)} aria-label=${`Enable ${r.name}`} /><span></span></label></td>
                  <td><button class="btn small ghost" onClick=${() => remove(r)} aria-label=${`Delete ${r.name}`}>Delete</button></td>
                </tr>`,
              )}</tbody></table></div>`
      }
    </section>
  </div>`;
}
