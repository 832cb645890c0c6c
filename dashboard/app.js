// Peso's live dashboard: preact + htm, no build step. Every number on it comes from the GraphQL
// API under the viewer's own credential (api.js), so it shows exactly what the viewer may read.

import htm from 'htm';
import { h, render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  credential,
  gql,
  onConnection,
  onSignedOut,
  setCredential,
  subscribe,
  unwrap,
} from './api.js';
import { BarChart, Heatmap, LineChart } from './charts.js';
import { fmt, saveCsv } from './export.js';

const html = htm.bind(h);

const TABS = [
  ['datasets', 'Datasets'],
  ['models', 'Models'],
  ['drift', 'Drift alerts'],
  ['uploads', 'Uploads'],
  ['conversations', 'Conversations'],
];

/** Runs `load` when `deps` change; `{ data, error, loading, reload }`. */
function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const counter = useRef(0);
  const run = useCallback(() => {
    const mine = ++counter.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === counter.current && setState({ data, error: null, loading: false }),
      (error) => mine === counter.current && setState({ data: null, error, loading: false }),
    );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

function ErrorNote({ error }) {
  if (!error) return null;
  const code = error instanceof ApiError ? `${error.code}: ` : '';
  return html`<p class="error" role="alert">${code}${error.message}</p>`;
}

function Loading({ when }) {
  return when ? html`<p class="muted">Loading…</p>` : null;
}

/**
 * A table with its CSV button: `columns` of `{ key, label, masked?, render? }`, `rows` of
 * objects. The CSV holds the values as the API returned them (masked ones stay masked).
 */
function Table({ title, columns, rows, testid, onRow, selected }) {
  const csv = () =>
    saveCsv(
      title,
      columns.map((c) => c.label ?? c.key),
      rows.map((r) => columns.map((c) => (c.csv ? c.csv(r) : r[c.key]))),
    );
  return html`<section class="table" data-testid=${testid}>
    <header>
      <h3>${title}</h3>
      <button type="button" class="link" onClick=${csv} title="Save as CSV">CSV</button>
    </header>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            ${columns.map(
              (c) =>
                html`<th data-column=${c.key} data-masked=${c.masked ? 'true' : 'false'} class=${c.masked ? 'masked' : ''}>
                  ${c.label ?? c.key}${c.masked ? html` <span class="badge">${c.masked}</span>` : ''}
                </th>`,
            )}
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (r, i) =>
              html`<tr
                class=${`${onRow ? 'clickable' : ''} ${selected?.(r) ? 'selected' : ''}`}
                onClick=${onRow ? () => onRow(r) : undefined}
                data-row=${i}
              >
                ${columns.map(
                  (c) =>
                    html`<td data-column=${c.key} class=${c.masked ? 'masked' : ''}>
                      ${c.render ? c.render(r) : fmt(r[c.key])}
                    </td>`,
                )}
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${rows.length === 0 ? html`<p class="muted">Nothing to show.</p>` : null}
  </section>`;
}

// ── Sign in ──────────────────────────────────────────────────────────────────────────────────

function SignIn({ onSignedIn }) {
  const [mode, setMode] = useState('password');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      let secret;
      if (mode === 'password') {
        const { login } = await gql(
          'DashboardLogin',
          { email: form.get('email'), password: form.get('password') },
          null,
        );
        secret = unwrap(login).token;
      } else {
        secret = String(form.get('apiKey')).trim();
      }
      const { viewer } = await gql('DashboardViewer', {}, secret);
      setCredential(secret);
      onSignedIn(viewer);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <h1>Peso</h1>
    <div class="tabs" role="tablist">
      <button type="button" role="tab" aria-selected=${mode === 'password'} onClick=${() => setMode('password')}>
        Email and password
      </button>
      <button type="button" role="tab" aria-selected=${mode === 'key'} onClick=${() => setMode('key')}>API key</button>
    </div>
    <form onSubmit=${submit} data-testid="signin">
      ${
        mode === 'password'
          ? html`<label>Email <input name="email" type="email" autocomplete="username" required /></label>
              <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>`
          : html`<label>API key <input name="apiKey" type="password" autocomplete="off" required /></label>`
      }
      <button type="submit" disabled=${busy}>Sign in</button>
      <${ErrorNote} error=${error} />
    </form>
  </main>`;
}

// ── Datasets ─────────────────────────────────────────────────────────────────────────────────

async function loadDatasets() {
  const { datasets } = await gql('DashboardDatasets');
  return datasets.edges.map((e) => e.node);
}

function ruleOf(column) {
  return column.access && column.access !== 'CLEAR' ? column.access : null;
}

function DatasetDetail({ dataset }) {
  const version = dataset.currentVersion;
  const rows = useLoad(async () => {
    const { datasetQuery } = await gql('DashboardRows', { datasetId: dataset.id, first: 25 });
    return unwrap(datasetQuery);
  }, [dataset.id, version?.id]);
  if (!version) return html`<p class="muted">No version yet.</p>`;
  const notClear = version.columns.filter((c) => ruleOf(c));
  return html`<div class="detail" data-testid="dataset-detail">
    <h2>${dataset.name} <span class="muted">v${version.number} · ${fmt(version.rowCount)} rows</span></h2>
    <${Table}
      title=${`${dataset.name} columns`}
      testid="columns"
      columns=${[
        { key: 'name' },
        { key: 'type' },
        { key: 'sensitivity' },
        { key: 'access', label: 'your access' },
        { key: 'piiKind', label: 'PII' },
      ]}
      rows=${version.columns}
    />
    <${Loading} when=${rows.loading} />
    <${ErrorNote} error=${rows.error} />
    ${
      rows.data &&
      html`<${Table}
        title=${`${dataset.name} rows (first ${rows.data.rows.length} of ${rows.data.totalCount})`}
        testid="rows"
        columns=${rows.data.columns.map((c) => ({
          key: c.name,
          masked: c.masked ? (c.rule ?? 'MASK') : null,
        }))}
        rows=${rows.data.rows}
      />`
    }
    ${notClear.length > 0 && html`<p class="muted">Not in the insights (not readable in clear for you): ${notClear.map((c) => `${c.name} (${c.access})`).join(', ')}</p>`}
    <${InsightsPanel} dataset=${dataset} />
  </div>`;
}

const seconds = (period) => Date.parse(`${period.slice(0, 10)}T00:00:00Z`) / 1000;

/** A measure over time with the buckets that break its seasonal pattern marked. */
function TrendChart({ dataset, entry }) {
  const { data, error, loading } = useLoad(async () => {
    const { datasetInsights } = await gql('DashboardTrend', {
      datasetId: dataset.id,
      input: {
        timeColumn: entry.time,
        measure: entry.measure,
        aggregate: 'AVG',
        bucket: entry.unit === 'month' ? 'MONTH' : 'DAY',
      },
    });
    return unwrap(datasetInsights.trend);
  }, [dataset.id, entry.time, entry.measure, entry.unit]);
  if (loading) return html`<${Loading} when=${true} />`;
  if (error) return html`<${ErrorNote} error=${error} />`;
  const anomalous = new Map(entry.anomalies.map((a) => [a.bucket, a.value]));
  const starts = new Set(data.changepoints?.starts ?? []);
  return html`<${LineChart}
    title=${`${dataset.name}: ${entry.measure} per ${entry.unit} (mean), anomalies marked`}
    testid=${`trend-${entry.measure}`}
    time=${true}
    xs=${data.series.map((b) => seconds(b.label))}
    series=${[
      { label: entry.measure, values: data.series.map((b) => b.value) },
      {
        label: 'anomaly',
        dots: true,
        color: '#dc2626',
        values: data.series.map((b) => anomalous.get(b.label) ?? null),
      },
      {
        label: 'new mean starts',
        dots: true,
        color: '#16a34a',
        values: data.series.map((b) => (starts.has(b.label) ? b.value : null)),
      },
    ]}
  />`;
}

/**
 * The dataset's insights (datasetInsights): per-column histograms and top values, the
 * correlation heatmap, anomalies and trends with their anomalies, all of the columns and rows
 * the viewer reads in clear. A large version is computed by a job: polled until ready.
 */
function InsightsPanel({ dataset }) {
  const [tick, setTick] = useState(0);
  const [method, setMethod] = useState('pearson');
  const insights = useLoad(
    async () => (await gql('DashboardInsights', { datasetId: dataset.id })).datasetInsights,
    [dataset.id, tick],
  );
  const data = insights.data;
  useEffect(() => {
    if (data?.status !== 'COMPUTING') return;
    const timer = setTimeout(() => setTick((n) => n + 1), 2000);
    return () => clearTimeout(timer);
  }, [data]);
  if (insights.error) return html`<${ErrorNote} error=${insights.error} />`;
  if (!data) return html`<${Loading} when=${true} />`;
  if (data.status === 'COMPUTING') {
    const p = data.progress;
    return html`<div data-testid="insights" data-status="COMPUTING">
      <h3>Insights</h3>
      <p class="muted">Computing${p?.phase ? ` (${p.phase})` : ''}…</p>
      <progress max=${p?.totalSteps ?? 1} value=${p?.step ?? 0}></progress>
    </div>`;
  }
  const columns = data.columns ?? [];
  const matrix = data.correlations?.[method];
  return html`<div data-testid="insights" data-status=${data.status}>
    <h3>Insights <span class="muted">${fmt(data.rows)} rows you may see</span></h3>
    ${data.narrative && html`<p class="narrative">${data.narrative.text}</p>`}
    <${Table}
      title=${`${dataset.name} column statistics`}
      testid="column-statistics"
      columns=${['name', 'kind', 'count', 'nulls', 'distinct', 'mean', 'median', 'std', 'min', 'max'].map((key) => ({ key }))}
      rows=${columns}
    />
    <div class="grid">
      ${columns.map((c) =>
        c.histogram.length > 0
          ? html`<${BarChart}
              key=${c.name}
              title=${`${dataset.name}: ${c.name} histogram`}
              testid=${`distribution-${c.name}`}
              labels=${c.histogram.map((b) => `${short(b.lower)}–${short(b.upper)}`)}
              series=${[{ label: 'rows', values: c.histogram.map((b) => b.count) }]}
            />`
          : c.topCategories.length > 0
            ? html`<${BarChart}
                key=${c.name}
                title=${`${dataset.name}: ${c.name} (most frequent values)`}
                testid=${`distribution-${c.name}`}
                labels=${c.topCategories.map((t) => t.value)}
                series=${[{ label: 'rows', values: c.topCategories.map((t) => t.count) }]}
              />`
            : null,
      )}
      ${
        matrix &&
        data.correlations.columns.length > 1 &&
        html`<div>
          <${Heatmap}
            title=${`${dataset.name}: ${method === 'pearson' ? 'Pearson' : 'Spearman'} correlations`}
            testid="correlations"
            labels=${data.correlations.columns}
            matrix=${matrix}
          />
          <label class="check">
            <input type="checkbox" checked=${method === 'spearman'}
              onChange=${(e) => setMethod(e.currentTarget.checked ? 'spearman' : 'pearson')} />
            Spearman (ranks)
          </label>
        </div>`
      }
      ${(data.seasonalAnomalies ?? []).slice(0, 4).map((entry) => html`<${TrendChart} key=${`${entry.time}/${entry.measure}`} dataset=${dataset} entry=${entry} />`)}
    </div>
    ${
      (data.anomalies ?? []).length > 0 &&
      html`<${Table}
        title=${`${dataset.name} anomalies`}
        testid="anomalies"
        columns=${[{ key: 'column' }, { key: 'rule' }, { key: 'count', label: 'rows flagged' }, { key: 'lower' }, { key: 'upper' }]}
        rows=${data.anomalies}
      />`
    }
  </div>`;
}

function DatasetsView() {
  const list = useLoad(loadDatasets, []);
  const [selected, setSelected] = useState(null);
  const current = list.data?.find((d) => d.id === selected) ?? list.data?.[0];
  return html`<section>
    <${Loading} when=${list.loading && !list.data} />
    <${ErrorNote} error=${list.error} />
    ${
      list.data &&
      html`<${Table}
        title="Datasets"
        testid="datasets"
        columns=${[
          { key: 'name' },
          {
            key: 'version',
            render: (d) => d.currentVersion?.number ?? '–',
            csv: (d) => d.currentVersion?.number,
          },
          {
            key: 'rows',
            render: (d) => fmt(d.currentVersion?.rowCount),
            csv: (d) => d.currentVersion?.rowCount,
          },
          {
            key: 'columns',
            render: (d) => d.currentVersion?.columns.length ?? 0,
            csv: (d) => d.currentVersion?.columns.length,
          },
          { key: 'tags', render: (d) => d.tags.join(', '), csv: (d) => d.tags.join(' ') },
          { key: 'updatedAt', label: 'updated' },
        ]}
        rows=${list.data}
        onRow=${(d) => setSelected(d.id)}
        selected=${(d) => d.id === current?.id}
      />`
    }
    ${current && html`<${DatasetDetail} key=${current.id} dataset=${current} />`}
  </section>`;
}

// ── Models and live training ─────────────────────────────────────────────────────────────────

const LIVE = new Set(['QUEUED', 'RUNNING']);

/** Appends a point to a series unless the server's history already reaches that step. */
function appendPoint(series, name, step, value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return series;
  const points = series[name] ?? [];
  if (points.length > 0 && points.at(-1).step >= step) return series;
  return { ...series, [name]: [...points, { step, min: value, max: value, last: value }] };
}

/** Aligns named series on the union of their steps for one chart. */
function aligned(series, names) {
  const steps = [...new Set(names.flatMap((n) => (series[n] ?? []).map((p) => p.step)))].sort(
    (a, b) => a - b,
  );
  const index = new Map(steps.map((s, i) => [s, i]));
  const out = [];
  for (const name of names) {
    const points = series[name] ?? [];
    if (points.length === 0) continue;
    const last = new Array(steps.length).fill(null);
    const min = new Array(steps.length).fill(null);
    const max = new Array(steps.length).fill(null);
    let downsampled = false;
    for (const p of points) {
      const i = index.get(p.step);
      last[i] = p.last;
      min[i] = p.min;
      max[i] = p.max;
      if (p.min !== p.max) downsampled = true;
    }
    out.push({ label: name, values: last });
    if (downsampled) {
      out.push({ label: `${name} min`, values: min, thin: true });
      out.push({ label: `${name} max`, values: max, thin: true });
    }
  }
  return { xs: steps, series: out };
}

/** A run's live charts; `onFinished` is called when this page saw it end. */
function RunChart({ runId, onFinished }) {
  const [run, setRun] = useState(null);
  const [series, setSeries] = useState({});
  const [events, setEvents] = useState(0);
  const [error, setError] = useState(null);
  const [totals, setTotals] = useState({});
  useEffect(() => {
    let live = true;
    const pending = [];
    let loaded = false;
    let last = null;
    const apply = (event) => {
      setRun((r) => ({
        ...(r ?? {}),
        status: event.status,
        step: event.step ?? r?.step,
        totalSteps: event.totalSteps ?? r?.totalSteps,
        candidate: event.candidate ?? r?.candidate,
        error: event.error ?? r?.error,
      }));
      if (event.kind === 'EPOCH' && event.step !== null) {
        setSeries((s) => {
          let next = appendPoint(s, 'loss', event.step, event.loss);
          next = appendPoint(next, 'valLoss', event.step, event.valLoss);
          for (const [name, value] of Object.entries(event.metrics ?? {}))
            next = appendPoint(next, name, event.step, value);
          return next;
        });
      }
    };
    const stop = subscribe(
      'DashboardTrainingProgress',
      { runId },
      ({ trainingProgress: event }) => {
        if (!live) return;
        setEvents((n) => n + 1);
        if (LIVE.has(last) && !LIVE.has(event.status)) onFinished?.(runId);
        last = event.status;
        if (loaded) apply(event);
        else pending.push(event);
      },
      (e) => live && e && setError(e),
    );
    gql('DashboardRunSeries', { id: runId, max: 1000 }).then(
      ({ trainingRun }) => {
        if (!live || !trainingRun) return;
        setRun(trainingRun);
        setSeries(Object.fromEntries(trainingRun.series.map((s) => [s.name, s.points])));
        setTotals(Object.fromEntries(trainingRun.series.map((s) => [s.name, s.total])));
        loaded = true;
        for (const event of pending.splice(0)) apply(event);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
      stop();
    };
  }, [runId]);
  const names = Object.keys(series);
  const loss = aligned(
    series,
    names.filter((n) => n === 'loss' || n === 'valLoss'),
  );
  const metrics = aligned(
    series,
    names.filter((n) => n !== 'loss' && n !== 'valLoss'),
  );
  const cancel = async () => {
    try {
      unwrap((await gql('DashboardCancelRun', { id: runId })).cancelTrainingRun);
    } catch (e) {
      setError(e);
    }
  };
  const progress = run?.totalSteps ? Math.min(1, (run.step ?? 0) / run.totalSteps) : 0;
  const downsampledNote = Object.entries(totals)
    .filter(([name, total]) => total > (series[name]?.length ?? 0))
    .map(([name, total]) => `${name}: ${total} epochs`)
    .join(', ');
  return html`<article class="run" data-testid="run-chart" data-run=${runId} data-status=${run?.status ?? ''}
    data-live-events=${events}>
    <header>
      <strong>Run ${runId.slice(-8)}</strong>
      <span class=${`status ${run?.status ?? ''}`}>${run?.status ?? '…'}</span>
      ${run?.candidate && html`<span class="muted">${run.candidate}</span>`}
      <span class="muted">step ${run?.step ?? 0}${run?.totalSteps ? ` / ${run.totalSteps}` : ''}</span>
      <span class="muted">${events} live events</span>
      ${LIVE.has(run?.status) && html`<button type="button" onClick=${cancel}>Cancel</button>`}
    </header>
    <progress max="1" value=${progress}></progress>
    ${run?.error && html`<p class="error">${run.error}</p>`}
    <${ErrorNote} error=${error} />
    ${downsampledNote && html`<p class="muted">Downsampled on the server (min, max and last per bucket): ${downsampledNote}</p>`}
    <div class="grid">
      <${LineChart} title=${`Loss, run ${runId.slice(-8)}`} testid="loss-chart" xs=${loss.xs} series=${loss.series} />
      ${metrics.series.length > 0 && html`<${LineChart} title=${`Metrics, run ${runId.slice(-8)}`} testid="metric-chart" xs=${metrics.xs} series=${metrics.series} />`}
    </div>
  </article>`;
}

function TrainForm({ datasets, onStarted }) {
  const [datasetId, setDatasetId] = useState(datasets[0]?.id ?? '');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const dataset = datasets.find((d) => d.id === datasetId);
  const columns = dataset?.currentVersion?.columns ?? [];
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const { trainModel } = await gql('DashboardTrain', {
        input: {
          name: String(form.get('name')),
          datasetId,
          target: String(form.get('target')),
          hyperparameters: { epochs: Number(form.get('epochs')) },
        },
      });
      onStarted(unwrap(trainModel));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="inline" onSubmit=${submit} data-testid="train-form">
    <label>Dataset
      <select name="dataset" value=${datasetId} onChange=${(e) => setDatasetId(e.currentTarget.value)}>
        ${datasets.map((d) => html`<option value=${d.id}>${d.name}</option>`)}
      </select>
    </label>
    <label>Target
      <select name="target">
        ${columns.filter((c) => !ruleOf(c)).map((c) => html`<option value=${c.name}>${c.name}</option>`)}
      </select>
    </label>
    <label>Model name
      <input key=${datasetId} name="name" required defaultValue=${dataset ? `${dataset.name} model` : ''} />
    </label>
    <label>Epochs <input name="epochs" type="number" min="1" max="10000" defaultValue="30" /></label>
    <button type="submit" disabled=${busy || !dataset}>Start run</button>
    <${ErrorNote} error=${error} />
  </form>`;
}

function ModelsView() {
  const models = useLoad(async () => {
    const { models } = await gql('DashboardModels');
    return models.edges.map((e) => e.node);
  }, []);
  const datasets = useLoad(loadDatasets, []);
  const [selected, setSelected] = useState(null);
  const [watched, setWatched] = useState([]);
  const [error, setError] = useState(null);
  const model = models.data?.find((m) => m.id === selected) ?? models.data?.[0];
  // Runs seen running stay on the page after they end.
  const seenLive = useRef(new Set());
  const shown = useMemo(() => {
    for (const m of models.data ?? [])
      for (const r of m.runs) if (LIVE.has(r.status)) seenLive.current.add(r.id);
    const ids = new Set([...watched, ...seenLive.current]);
    if (model?.runs[0]) ids.add(model.runs[0].id);
    return [...ids];
  }, [watched, models.data, model?.id]);
  const retrain = async (m) => {
    setError(null);
    try {
      const run = unwrap((await gql('DashboardTrain', { input: { modelId: m.id } })).trainModel);
      setWatched((w) => [run.id, ...w]);
      models.reload();
    } catch (e) {
      setError(e);
    }
  };
  return html`<section>
    <h2>Start a training run</h2>
    ${
      datasets.data &&
      html`<${TrainForm} datasets=${datasets.data} onStarted=${(run) => {
        setWatched((w) => [run.id, ...w]);
        setSelected(run.model.id);
        models.reload();
      }} />`
    }
    <${ErrorNote} error=${models.error || error} />
    ${
      models.data &&
      html`<${Table}
        title="Models"
        testid="models"
        columns=${[
          { key: 'name' },
          { key: 'task' },
          { key: 'target' },
          { key: 'dataset', render: (m) => m.dataset.name, csv: (m) => m.dataset.name },
          { key: 'runs', render: (m) => m.runs.length, csv: (m) => m.runs.length },
          { key: 'latest', render: (m) => m.runs[0]?.status ?? '–', csv: (m) => m.runs[0]?.status },
          {
            key: 'actions',
            label: '',
            render: (m) =>
              html`<button type="button" onClick=${(e) => {
                e.stopPropagation();
                retrain(m);
              }}>Retrain</button>`,
            csv: () => '',
          },
        ]}
        rows=${models.data}
        onRow=${(m) => setSelected(m.id)}
        selected=${(m) => m.id === model?.id}
      />`
    }
    ${
      model &&
      html`<${Table}
        title=${`Runs of ${model.name}`}
        testid="runs"
        columns=${[
          { key: 'id', render: (r) => r.id.slice(-8) },
          { key: 'status' },
          { key: 'algorithm' },
          { key: 'step' },
          { key: 'totalSteps' },
          { key: 'queuedAt' },
          { key: 'finishedAt' },
          { key: 'backend' },
        ]}
        rows=${model.runs}
        onRow=${(r) => setWatched((w) => (w.includes(r.id) ? w : [r.id, ...w]))}
      />`
    }
    <h2>Runs</h2>
    ${shown.map((id) => html`<${RunChart} key=${id} runId=${id} onFinished=${models.reload} />`)}
  </section>`;
}

// ── Drift ────────────────────────────────────────────────────────────────────────────────────

/** A bin edge in at most 4 significant digits. */
function short(value) {
  return typeof value === 'number' ? String(Number(value.toPrecision(4))) : String(value);
}

function binLabels(bins) {
  if (bins.labels) return bins.labels;
  const e = bins.edges ?? [];
  return e.slice(0, -1).map((from, i) => `${short(from)}–${short(e[i + 1])}`);
}

function DriftReport({ reportId }) {
  const { data, error, loading } = useLoad(
    async () => (await gql('DashboardDriftReport', { id: reportId })).node,
    [reportId],
  );
  if (loading) return html`<${Loading} when=${true} />`;
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!data) return html`<p class="muted">Report not visible.</p>`;
  return html`<div class="detail" data-testid="drift-report">
    <h3>Report: version ${data.currentVersion.number} against ${data.referenceVersion.number} · ${data.status}
      ${data.drifted !== null && html` · ${data.drifted ? 'drifted' : 'no drift'} (${Math.round((data.share ?? 0) * 100)} % of columns drifted)`}</h3>
    <${Table}
      title="Drift by column"
      testid="drift-columns"
      columns=${[
        { key: 'column' },
        { key: 'kind' },
        { key: 'test' },
        { key: 'statistic' },
        { key: 'pValue', render: (c) => `${c.pValueIsBound ? '≤ ' : ''}${fmt(c.pValue)}` },
        { key: 'threshold' },
        { key: 'drifted', render: (c) => (c.drifted ? 'yes' : 'no') },
      ]}
      rows=${data.columns}
    />
    <div class="grid">
      ${data.columns.map((c) =>
        c.bins
          ? html`<${BarChart}
              key=${c.column}
              title=${`${c.column}: reference and current`}
              testid=${`drift-bins-${c.column}`}
              labels=${binLabels(c.bins)}
              series=${[
                { label: 'reference', values: c.bins.reference },
                { label: 'current', values: c.bins.current },
              ]}
            />`
          : html`<p class="muted" key=${c.column}>${c.column}: distributions not shown (not readable in clear for you).</p>`,
      )}
    </div>
  </div>`;
}

function DriftView() {
  const initial = useLoad(async () => (await gql('DashboardDriftAlerts', {})).driftAlerts, []);
  const [alerts, setAlerts] = useState([]);
  const [fresh, setFresh] = useState(new Set());
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (initial.data) setAlerts((a) => merge(a, initial.data));
  }, [initial.data]);
  useEffect(
    () =>
      subscribe(
        'DashboardDriftAlertFeed',
        {},
        ({ driftAlerts: alert }) => {
          setAlerts((a) => merge([alert], a));
          setFresh((f) => new Set(f).add(alert.id));
        },
        (e) => e && setError(e),
      ),
    [],
  );
  const acknowledge = async (alert) => {
    setError(null);
    try {
      const done = unwrap(
        (await gql('DashboardAcknowledge', { id: alert.id })).acknowledgeDriftAlert,
      );
      setAlerts((a) => a.map((x) => (x.id === done.id ? done : x)));
    } catch (e) {
      setError(e);
    }
  };
  return html`<section>
    <${ErrorNote} error=${initial.error || error} />
    <${Table}
      title="Drift alerts (live)"
      testid="drift-alerts"
      columns=${[
        { key: 'createdAt', label: 'when' },
        { key: 'severity' },
        {
          key: 'dataset',
          render: (a) => a.monitor.dataset.name,
          csv: (a) => a.monitor.dataset.name,
        },
        { key: 'monitor', render: (a) => a.monitor.name, csv: (a) => a.monitor.name },
        { key: 'columns', render: (a) => a.columns.join(', '), csv: (a) => a.columns.join(' ') },
        {
          key: 'message',
          render: (a) =>
            html`${fresh.has(a.id) ? html`<span class="badge new">new</span> ` : ''}${a.message}`,
          csv: (a) => a.message,
        },
        {
          key: 'acknowledged',
          render: (a) =>
            a.acknowledgedAt
              ? `${a.acknowledgedBy?.name ?? ''} ${a.acknowledgedAt}`
              : html`<button type="button" onClick=${(e) => {
                  e.stopPropagation();
                  acknowledge(a);
                }}>Acknowledge</button>`,
          csv: (a) => a.acknowledgedAt ?? '',
        },
      ]}
      rows=${alerts}
      onRow=${(a) => setReport(a.report.id)}
      selected=${(a) => a.report.id === report}
    />
    ${report && html`<${DriftReport} key=${report} reportId=${report} />`}
  </section>`;
}

function merge(first, second) {
  const seen = new Set();
  return [...first, ...second].filter((a) => !seen.has(a.id) && seen.add(a.id));
}

// ── Uploads ──────────────────────────────────────────────────────────────────────────────────

function UploadsView() {
  const datasets = useLoad(loadDatasets, []);
  const [uploads, setUploads] = useState([]);
  const [error, setError] = useState(null);
  const stops = useRef([]);
  useEffect(
    () => () => {
      for (const stop of stops.current) stop();
    },
    [],
  );
  const [watched, setWatched] = useState(null);
  const update = (versionId, change) =>
    setUploads((list) => list.map((u) => (u.versionId === versionId ? { ...u, ...change } : u)));
  const names = new Map((datasets.data ?? []).map((d) => [d.id, d.name]));
  // Every upload into the chosen dataset, from this page or any other client.
  useEffect(() => {
    if (!watched) return;
    return subscribe('DashboardIngestion', { datasetId: watched }, ({ datasetIngestion: p }) =>
      setUploads((list) =>
        list.some((u) => u.versionId === p.versionId)
          ? list.map((u) => (u.versionId === p.versionId ? { ...u, ...p } : u))
          : [
              { ...p, dataset: names.get(p.datasetId) ?? p.datasetId, file: '(another client)' },
              ...list,
            ],
      ),
    );
  }, [watched]);
  useEffect(() => {
    if (datasets.data?.[0] && !watched) setWatched(datasets.data[0].id);
  }, [datasets.data]);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const file = form.get('file');
    const dataset = datasets.data.find((d) => d.id === form.get('dataset'));
    if (!(file instanceof File) || !file.name || !dataset) return;
    setError(null);
    try {
      const keepTypes = form.get('keepTypes') === 'on' && dataset.currentVersion;
      const options = keepTypes
        ? {
            typeOverrides: dataset.currentVersion.columns.map((c) => ({
              column: c.name,
              type: c.type,
            })),
          }
        : null;
      const target = unwrap(
        (await gql('DashboardUploadUrl', { datasetId: dataset.id, filename: file.name, options }))
          .createUploadUrl,
      );
      setUploads((list) => [
        {
          versionId: target.versionId,
          dataset: dataset.name,
          file: file.name,
          status: 'UPLOADING',
          percent: 0,
        },
        ...list,
      ]);
      stops.current.push(
        subscribe(
          'DashboardIngestion',
          { versionId: target.versionId },
          ({ datasetIngestion: p }) => update(p.versionId, p),
          (e) => e && update(target.versionId, { error: e.message }),
        ),
      );
      // The signed URL is on this server: PUT it on this page's origin (connect-src 'self').
      const url = new URL(target.url);
      const response = await fetch(url.pathname + url.search, {
        method: target.method,
        body: file,
      });
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        update(target.versionId, {
          status: 'FAILED',
          error: body?.error?.message ?? `HTTP ${response.status}`,
        });
      }
    } catch (e) {
      setError(e);
    }
  };
  return html`<section>
    <h2>Upload a new version</h2>
    ${
      datasets.data &&
      html`<form class="inline" onSubmit=${submit} data-testid="upload-form">
        <label>Dataset
          <select name="dataset" onChange=${(e) => setWatched(e.currentTarget.value)}>
            ${datasets.data.map((d) => html`<option value=${d.id}>${d.name}</option>`)}
          </select>
        </label>
        <label>File (CSV, TSV, JSON) <input name="file" type="file" required /></label>
        <label class="check"><input name="keepTypes" type="checkbox" checked /> keep the current column types</label>
        <button type="submit">Upload</button>
      </form>`
    }
    <${ErrorNote} error=${datasets.error || error} />
    <${Table}
      title="Uploads"
      testid="uploads"
      columns=${[
        { key: 'dataset' },
        { key: 'file' },
        { key: 'status' },
        {
          key: 'percent',
          label: 'progress',
          render: (u) =>
            html`<progress max="100" value=${u.percent ?? 0}></progress> ${fmt(u.percent ?? 0)} %`,
        },
        { key: 'rows' },
        { key: 'rowsPerSecond', label: 'rows/s' },
        { key: 'error' },
      ]}
      rows=${uploads}
    />
  </section>`;
}

// ── Conversations ────────────────────────────────────────────────────────────────────────────

const day = (date) => date.toISOString().slice(0, 10);

function ConversationsView() {
  const [range, setRange] = useState(() => {
    const to = new Date(Date.now() + 86_400_000);
    return {
      from: day(new Date(to.getTime() - 91 * 86_400_000)),
      to: day(to),
      granularity: 'WEEK',
    };
  });
  const variables = {
    from: `${range.from}T00:00:00Z`,
    to: `${range.to}T00:00:00Z`,
    granularity: range.granularity,
    timezone: 'UTC',
  };
  const overall = useLoad(
    async () =>
      unwrap((await gql('DashboardConversationAnalytics', variables)).conversationAnalytics),
    [range.from, range.to, range.granularity],
  );
  const topics = useLoad(
    async () =>
      unwrap(
        (await gql('DashboardConversationAnalytics', { ...variables, groupBy: 'TOPIC' }))
          .conversationAnalytics,
      ),
    [range.from, range.to, range.granularity],
  );
  const series = overall.data?.series ?? [];
  const labels = [...new Set(series.flatMap((p) => p.sentiment.map((s) => s.label)))].sort();
  const byTopic = new Map();
  for (const p of topics.data?.series ?? []) {
    const t = byTopic.get(p.group ?? '(none)') ?? {
      topic: p.group ?? '(none)',
      volume: 0,
      sentimentSum: 0,
      scored: 0,
    };
    t.volume += p.volume;
    if (typeof p.averageSentiment === 'number') {
      t.sentimentSum += p.averageSentiment * p.volume;
      t.scored += p.volume;
    }
    byTopic.set(t.topic, t);
  }
  const topicRows = [...byTopic.values()]
    .map((t) => ({
      topic: t.topic,
      volume: t.volume,
      averageSentiment: t.scored ? t.sentimentSum / t.scored : null,
    }))
    .sort((a, b) => b.volume - a.volume);
  const change = (event) => {
    const form = new FormData(event.currentTarget);
    setRange({ from: form.get('from'), to: form.get('to'), granularity: form.get('granularity') });
  };
  return html`<section>
    <form class="inline" onChange=${change} onSubmit=${(e) => e.preventDefault()}>
      <label>From <input name="from" type="date" value=${range.from} /></label>
      <label>To <input name="to" type="date" value=${range.to} /></label>
      <label>Per
        <select name="granularity" value=${range.granularity}>
          <option value="DAY">day</option><option value="WEEK">week</option><option value="MONTH">month</option>
        </select>
      </label>
    </form>
    <${ErrorNote} error=${overall.error || topics.error} />
    <${Loading} when=${overall.loading && !overall.data} />
    ${
      overall.data &&
      html`<p>${overall.data.summary.volume} conversations · average sentiment ${fmt(overall.data.summary.averageSentiment)}</p>
      <div class="grid">
        <${LineChart}
          title="Conversation volume"
          testid="conversation-volume"
          time=${true}
          xs=${series.map((p) => seconds(p.period))}
          series=${[{ label: 'conversations', values: series.map((p) => p.volume) }]}
        />
        <${LineChart}
          title="Sentiment over time"
          testid="conversation-sentiment"
          time=${true}
          xs=${series.map((p) => seconds(p.period))}
          series=${[{ label: 'average sentiment', values: series.map((p) => p.averageSentiment) }]}
        />
        <${LineChart}
          title="Conversations by sentiment"
          testid="conversation-sentiment-labels"
          time=${true}
          xs=${series.map((p) => seconds(p.period))}
          series=${labels.map((label) => ({
            label,
            values: series.map((p) => p.sentiment.find((s) => s.label === label)?.count ?? 0),
          }))}
        />
      </div>
      <${Table}
        title="Conversations per period"
        testid="conversation-periods"
        columns=${[
          { key: 'period' },
          { key: 'volume' },
          { key: 'averageSentiment', label: 'average sentiment' },
          ...labels.map((label) => ({
            key: label,
            render: (p) => p.sentiment.find((s) => s.label === label)?.count ?? 0,
            csv: (p) => p.sentiment.find((s) => s.label === label)?.count ?? 0,
          })),
        ]}
        rows=${series}
      />`
    }
    ${
      topics.data &&
      html`<${BarChart}
          title="Topics"
          testid="conversation-topics"
          labels=${topicRows.map((t) => t.topic)}
          series=${[{ label: 'conversations', values: topicRows.map((t) => t.volume) }]}
        />
        <${Table}
          title="Topics"
          testid="topics"
          columns=${[{ key: 'topic' }, { key: 'volume' }, { key: 'averageSentiment', label: 'average sentiment' }]}
          rows=${topicRows}
        />`
    }
  </section>`;
}

// ── Shell ────────────────────────────────────────────────────────────────────────────────────

function Connection() {
  const [state, setState] = useState('idle');
  useEffect(() => onConnection(setState), []);
  return html`<span class=${`connection ${state}`} data-testid="connection" title="graphql-ws">${state}</span>`;
}

function App() {
  const [viewer, setViewer] = useState(null);
  const [checking, setChecking] = useState(Boolean(credential()));
  const [tab, setTab] = useState(() => location.hash.slice(1) || 'datasets');
  useEffect(() => {
    if (!credential()) return;
    gql('DashboardViewer').then(
      ({ viewer }) => {
        setViewer(viewer);
        setChecking(false);
      },
      () => {
        setCredential(null);
        setChecking(false);
      },
    );
  }, []);
  useEffect(() => {
    location.hash = tab;
  }, [tab]);
  useEffect(() => onSignedOut(() => setViewer(null)), []);
  if (checking) return html`<${Loading} when=${true} />`;
  if (!viewer) return html`<${SignIn} onSignedIn=${setViewer} />`;
  const signOut = () => {
    setCredential(null);
    setViewer(null);
  };
  const Views = {
    datasets: DatasetsView,
    models: ModelsView,
    drift: DriftView,
    uploads: UploadsView,
    conversations: ConversationsView,
  };
  const View = Views[tab] ?? DatasetsView;
  return html`<div class="app">
    <header class="top">
      <h1>Peso</h1>
      <nav role="tablist">
        ${TABS.map(
          ([id, label]) =>
            html`<button type="button" role="tab" data-tab=${id} aria-selected=${tab === id} onClick=${() => setTab(id)}>${label}</button>`,
        )}
      </nav>
      <span class="who" data-testid="viewer">
        ${viewer.user?.name ?? (viewer.apiKey ? `API key ${viewer.apiKey.name}` : 'API key')} · ${viewer.role} ·
        ${viewer.organization.name}
      </span>
      <${Connection} />
      <button type="button" class="link" onClick=${signOut}>Sign out</button>
    </header>
    <main><${View} key=${tab} /></main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
