// Time-series charts of one asset: range and bucket pickers, several metrics (one panel each, with
// a shared cursor, since metrics have different units), zoom by dragging across a panel or with
// the +/− buttons. Zooming asks the Telemetry service again for the narrower range, so a finer
// bucket is chosen and detail appears, instead of stretching the coarse points.

import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { get, query } from './api.js';
import { ErrorBox, formatTime, useInterval } from './ui.js';

export const RANGES = {
  '1h': 3_600_000,
  '6h': 21_600_000,
  '24h': 86_400_000,
  '7d': 604_800_000,
  '30d': 2_592_000_000,
};
export const BUCKETS = ['auto', 'raw', '10s', '1m', '5m', '15m', '1h', '1d'];
export const AGGREGATIONS = ['avg', 'min', 'max', 'last', 'count'];
const COLORS = ['#0f766e', '#2563eb', '#c2410c', '#7c3aed', '#be123c', '#4d7c0f', '#0369a1', '#a16207'];

/** The absolute window of a range: a preset (relative to now) or a zoomed `{from, to}`. */
function windowOf(range, now) {
  if (typeof range === 'string') return { from: now - RANGES[range], to: now };
  return range;
}

function Panel({ series, color, from, to, syncKey, onZoom }) {
  const holder = useRef(null);
  const plot = useRef(null);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;

  const data = useMemo(() => {
    const xs = [];
    const ys = [];
    for (const point of series.points) {
      xs.push(new Date(point.ts).getTime() / 1000);
      ys.push(point.value);
    }
    return [xs, ys];
  }, [series]);

  useEffect(() => {
    const element = holder.current;
    const width = Math.max(280, element.clientWidth);
    const options = {
      width,
      height: 200,
      legend: { show: true, live: true },
      cursor: {
        sync: { key: syncKey },
        drag: { x: true, y: false, setScale: false },
      },
      scales: { x: { time: true, range: () => [from / 1000, to / 1000] } },
      axes: [
        { stroke: '#64748b', grid: { stroke: '#e2e8f0' } },
        { stroke: '#64748b', grid: { stroke: '#e2e8f0' }, size: 60 },
      ],
      series: [
        { value: (_u, v) => (v == null ? '—' : formatTime(v * 1000)) },
        {
          label: series.metric,
          stroke: color,
          width: 2,
          fill: `${color}18`,
          spanGaps: false,
          points: { show: data[0].length < 120 },
        },
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const left = u.posToVal(u.select.left, 'x');
            const right = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoomRef.current({ from: Math.round(left * 1000), to: Math.round(right * 1000) });
          },
        ],
      },
    };
    plot.current = new uPlot(options, data, element);
    const observer = new ResizeObserver(() => {
      const next = Math.max(280, element.clientWidth);
      if (plot.current && Math.abs(plot.current.width - next) > 2)
        plot.current.setSize({ width: next, height: 200 });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [data, color, from, to, syncKey]);

  const points = series.points.filter((p) => p.value !== null).length;
  return html`<div class="chart-panel" data-metric=${series.metric} data-points=${points}>
    <div class="chart-holder" ref=${holder}></div>
    ${points === 0 ? html`<p class="chart-empty">No readings of ${series.metric} in this range</p>` : null}
  </div>`;
}

/**
 * `metrics`: the metric names the asset has (from its latest values). Shows the first three at
 * first; the user ticks others.
 */
export function TelemetryCharts({ assetId, metrics, refreshKey }) {
  const [range, setRange] = useState('1h');
  const [bucket, setBucket] = useState('auto');
  const [agg, setAgg] = useState('avg');
  const [selected, setSelected] = useState(() => metrics.slice(0, 3));
  const [result, setResult] = useState({ data: undefined, error: undefined, loading: false });
  const [tick, setTick] = useState(0);
  const syncKey = useMemo(() => `asset-${assetId}-${Math.random()}`, [assetId]);

  // Newly seen metrics (first readings arrived) are shown while fewer than three are.
  useEffect(() => {
    setSelected((current) => {
      const kept = current.filter((m) => metrics.includes(m));
      const extra = metrics.filter((m) => !kept.includes(m)).slice(0, Math.max(0, 3 - kept.length));
      return kept.length === current.length && extra.length === 0 ? current : [...kept, ...extra];
    });
  }, [metrics.join(',')]);

  useInterval(() => {
    if (typeof range === 'string') setTick((t) => t + 1);
  }, 15_000);

  useEffect(() => {
    if (selected.length === 0) {
      setResult({ data: undefined, error: undefined, loading: false });
      return undefined;
    }
    const controller = new AbortController();
    const { from, to } = windowOf(range, Date.now());
    setResult((r) => ({ ...r, loading: true }));
    get(
      `/api/v1/assets/${assetId}/telemetry${query({
        metric: selected,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        bucket: bucket === 'auto' ? undefined : bucket,
        agg,
      })}`,
      { signal: controller.signal },
    ).then(
      (data) => setResult({ data: { ...data, window: { from, to } }, error: undefined, loading: false }),
      (error) => !controller.signal.aborted && setResult({ data: undefined, error, loading: false }),
    );
    return () => controller.abort();
  }, [
    assetId,
    selected.join(','),
    typeof range === 'string' ? range : `${range.from}-${range.to}`,
    bucket,
    agg,
    tick,
    refreshKey,
  ]);

  const zoom = (factor) => {
    const { from, to } = windowOf(range, Date.now());
    const middle = (from + to) / 2;
    const half = Math.max(30_000, ((to - from) * factor) / 2);
    setRange({ from: Math.round(middle - half), to: Math.min(Date.now(), Math.round(middle + half)) });
  };
  const toggle = (metric) =>
    setSelected((current) =>
      current.includes(metric) ? current.filter((m) => m !== metric) : [...current, metric],
    );

  const shown = result.data?.window;
  return html`<section class="card charts">
    <div class="card-head">
      <h2>Telemetry</h2>
      <div class="toolbar">
        <div class="segmented" role="group" aria-label="Range">
          ${Object.keys(RANGES).map(
            (r) =>
              html`<button class=${range === r ? 'on' : ''} aria-pressed=${range === r} onClick=${() => setRange(r)}>${r}</button>`,
          )}
        </div>
        <label class="inline">Bucket
          <select aria-label="Bucket" value=${bucket} onChange=${(e) => setBucket(e.currentTarget.value)}>
            ${BUCKETS.map((b) => html`<option value=${b}>${b}</option>`)}
          </select>
        </label>
        <label class="inline">Aggregate
          <select aria-label="Aggregation" value=${agg} onChange=${(e) => setAgg(e.currentTarget.value)}>
            ${AGGREGATIONS.map((a) => html`<option value=${a}>${a}</option>`)}
          </select>
        </label>
        <div class="segmented" role="group" aria-label="Zoom">
          <button title="Zoom in" aria-label="Zoom in" onClick=${() => zoom(0.5)}>+</button>
          <button title="Zoom out" aria-label="Zoom out" onClick=${() => zoom(2)}>−</button>
          ${typeof range === 'string' ? null : html`<button onClick=${() => setRange('1h')}>Reset</button>`}
        </div>
      </div>
    </div>
    <div class="metric-picker" role="group" aria-label="Metrics">
      ${metrics.length === 0 ? html`<span class="muted">No metrics yet: this asset has sent no readings.</span>` : null}
      ${metrics.map(
        (
          metric,
          i,
        ) => html`<label class="chip ${selected.includes(metric) ? 'on' : ''}" style=${`--c:${COLORS[i % COLORS.length]}`}>
          <input type="checkbox" checked=${selected.includes(metric)} onChange=${() => toggle(metric)} />${metric}
        </label>`,
      )}
    </div>
    <${ErrorBox} error=${result.error} />
    ${
      shown
        ? html`<p class="chart-meta">
          ${formatTime(shown.from)} – ${formatTime(shown.to)} · bucket ${result.data.bucket} · ${result.data.agg} · from ${result.data.tier} ${result.loading ? ' · updating…' : ''}
          <span class="muted"> · drag across a chart to zoom</span>
        </p>`
        : result.loading
          ? html`<p class="loading">Loading chart…</p>`
          : null
    }
    <div class="chart-grid">
      ${(result.data?.series ?? []).map(
        (series) => html`<${Panel}
          key=${series.metric}
          series=${series}
          color=${COLORS[metrics.indexOf(series.metric) % COLORS.length] ?? COLORS[0]}
          from=${shown.from}
          to=${shown.to}
          syncKey=${syncKey}
          onZoom=${setRange}
        />`,
      )}
    </div>
  </section>`;
}
