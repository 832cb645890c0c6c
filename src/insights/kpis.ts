import { MEASURE_ROLES, type MeasureRole, type SemanticMapping } from '../../db/schema/semantics';
import { MAX_PAGE } from '../access/compile';
import { gatedQuery, openGate } from '../access/gate';
import type { GroupBy, TimeBucket } from '../access/language';
import type { AuthedContext } from '../context';
import { InputError } from '../errors';
import { type Recommendation, recommend } from './recommendations';
import { readableColumn, storedSemantics, temporalColumn } from './semantics';
import { localDate } from './trends';

export const KPI_METRICS = ['CTR', 'CONVERSION_RATE', 'CPC', 'CPA', 'ROAS'] as const;
export type KpiMetric = (typeof KPI_METRICS)[number];

/** Each KPI as numerator / denominator of two summed measures. */
export const KPI_RATIO: Record<KpiMetric, { of: MeasureRole; per: MeasureRole; key: KpiKey }> = {
  CTR: { of: 'clicks', per: 'impressions', key: 'ctr' },
  CONVERSION_RATE: { of: 'conversions', per: 'clicks', key: 'conversionRate' },
  CPC: { of: 'cost', per: 'clicks', key: 'cpc' },
  CPA: { of: 'cost', per: 'conversions', key: 'cpa' },
  ROAS: { of: 'revenue', per: 'cost', key: 'roas' },
};
type KpiKey = 'ctr' | 'conversionRate' | 'cpc' | 'cpa' | 'roas';

/** Sums of the mapped measures and the KPIs computed from them (null: not mapped, or ÷ 0). */
export type KpiValues = Record<MeasureRole, number | null> & Record<KpiKey, number | null>;

export interface KpiChange {
  metric: KpiMetric;
  current: number | null;
  previous: number | null;
  change: number | null;
  /** change / |previous|. */
  relativeChange: number | null;
}

export interface KpiGroup {
  /** Dimension value (null: the rows without one, or the total). */
  key: string | null;
  current: KpiValues;
  previous: KpiValues;
  changes: KpiChange[];
}

export interface KpiPoint {
  key: string | null;
  bucket: string;
  values: KpiValues;
}

export interface Mover {
  key: string | null;
  metric: KpiMetric;
  current: number;
  previous: number;
  change: number;
  relativeChange: number | null;
}

export interface MarketingKpis {
  datasetId: string;
  versionId: string;
  mapping: SemanticMapping;
  metrics: KpiMetric[];
  dimension: string | null;
  bucket: TimeBucket;
  timeZone: string;
  periods: number;
  /** Bucket labels (local first days) of the current and previous windows. */
  currentBuckets: string[];
  previousBuckets: string[];
  total: KpiGroup;
  groups: KpiGroup[];
  series: KpiPoint[];
  moverMetric: KpiMetric;
  topMovers: Mover[];
  bottomMovers: Mover[];
  recommendations: Recommendation[];
}

export interface KpiInput {
  datasetId: string;
  version?: number | null;
  dimension?: string | null;
  bucket?: TimeBucket | null;
  timeZone?: string | null;
  /** Buckets in the current window (and in the previous one it is compared with). */
  periods?: number | null;
  metrics?: KpiMetric[] | null;
  moverMetric?: KpiMetric | null;
}

type Sums = Record<MeasureRole, number | null>;

function emptySums(roles: readonly MeasureRole[]): Sums {
  const s = {} as Sums;
  for (const r of MEASURE_ROLES) s[r] = roles.includes(r) ? 0 : null;
  return s;
}

function add(into: Sums, from: Sums): void {
  for (const r of MEASURE_ROLES) if (into[r] !== null && from[r] !== null) into[r]! += from[r]!;
}

/** The KPIs of summed measures; a ratio with a zero denominator has no value. */
export function kpiValues(sums: Sums, metrics: readonly KpiMetric[]): KpiValues {
  const out = {
    ...sums,
    ctr: null,
    conversionRate: null,
    cpc: null,
    cpa: null,
    roas: null,
  } as KpiValues;
  for (const m of metrics) {
    const { of, per, key } = KPI_RATIO[m];
    const a = sums[of];
    const b = sums[per];
    out[key] = a !== null && b !== null && b !== 0 ? a / b : null;
  }
  return out;
}

export function metricValue(values: KpiValues, metric: KpiMetric): number | null {
  return values[KPI_RATIO[metric].key];
}

function changesOf(current: KpiValues, previous: KpiValues, metrics: readonly KpiMetric[]) {
  return metrics.map((metric): KpiChange => {
    const c = metricValue(current, metric);
    const p = metricValue(previous, metric);
    const change = c !== null && p !== null ? c - p : null;
    return {
      metric,
      current: c,
      previous: p,
      change,
      relativeChange: change !== null && p !== 0 ? change / Math.abs(p!) : null,
    };
  });
}

/**
 * CTR, conversion rate, CPC, CPA and ROAS by a dimension and time bucket, from one grouped
 * aggregate (sums of the mapped measures) read through the gate as the viewer; the last
 * `periods` buckets against the `periods` before, movers and recommendations.
 */
export async function marketingKpis(ctx: AuthedContext, input: KpiInput): Promise<MarketingKpis> {
  const gate = await openGate(ctx, { datasetId: input.datasetId, version: input.version ?? null });
  const mapping = await storedSemantics(ctx, gate);
  if (!mapping)
    throw new InputError(
      'This dataset has no marketing semantics: confirm Query.suggestedSemantics with setDatasetSemantics.',
      'datasetId',
    );
  const bucket = input.bucket ?? 'WEEK';
  const periods = input.periods ?? 4;
  if (!(Number.isInteger(periods) && periods >= 1 && periods <= 52))
    throw new InputError('periods is a whole number from 1 to 52.', 'periods');
  const metrics =
    input.metrics && input.metrics.length > 0
      ? [...new Set(input.metrics)]
      : KPI_METRICS.filter((m) => mapping[KPI_RATIO[m].of] && mapping[KPI_RATIO[m].per]);
  if (metrics.length === 0)
    throw new InputError('The mapped columns give no KPI: map at least two measures.', 'metrics');
  const roles = new Set<MeasureRole>();
  for (const m of metrics) {
    for (const role of [KPI_RATIO[m].of, KPI_RATIO[m].per]) {
      if (!mapping[role])
        throw new InputError(`${m} needs a ${role} column, and none is mapped.`, 'metrics');
      roles.add(role);
    }
  }
  const measured = MEASURE_ROLES.filter((r) => roles.has(r));
  // Refuses a masked measure by name before anything is read.
  const columns = measured.map((r) => readableColumn(gate, mapping[r]!, r, { numeric: true }));
  if (!mapping.date)
    throw new InputError(
      'The semantics map no date column: set one with setDatasetSemantics.',
      'date',
    );
  const date = temporalColumn(gate, mapping.date, 'date');
  const dimension = input.dimension
    ? readableColumn(gate, input.dimension, 'dimension', { rows: true })
    : null;
  const moverMetric = input.moverMetric ?? (metrics.includes('ROAS') ? 'ROAS' : metrics[0]!);
  if (!metrics.includes(moverMetric))
    throw new InputError(
      `moverMetric ${moverMetric} is not among the metrics computed.`,
      'moverMetric',
    );
  const timeZone = input.timeZone ?? 'UTC';
  const groupBy: GroupBy[] = [];
  if (dimension) groupBy.push({ column: dimension.name, as: 'dimension' });
  groupBy.push({ column: date.name, timeBucket: bucket, timeZone, as: 'bucket' });
  const result = await gatedQuery(
    ctx,
    gate,
    {
      where: { column: date.name, isNull: false },
      groupBy,
      aggregates: columns.map((c, i) => ({
        function: 'SUM' as const,
        column: c.name,
        as: `m_${measured[i]}`,
      })),
    },
    { first: MAX_PAGE },
    { action: 'INSIGHTS' },
  );
  if (result.hasNextPage)
    throw new InputError(
      `More than ${MAX_PAGE} groups: choose a dimension with fewer values or a longer bucket.`,
      'dimension',
    );
  const rows = result.rows.map((r) => {
    const sums = emptySums(measured);
    for (const role of measured) sums[role] = r[`m_${role}`] == null ? 0 : Number(r[`m_${role}`]);
    return {
      key: dimension ? (r.dimension == null ? null : String(r.dimension)) : null,
      bucket: date.type === 'DATE' ? String(r.bucket) : localDate(String(r.bucket), timeZone),
      sums,
    };
  });
  const buckets = [...new Set(rows.map((r) => r.bucket))].sort();
  const currentBuckets = buckets.slice(-periods);
  const previousBuckets = buckets.slice(-2 * periods, -periods);
  const current = new Set(currentBuckets);
  const previous = new Set(previousBuckets);
  const windows = new Map<string | null, { current: Sums; previous: Sums }>();
  const total = { current: emptySums(measured), previous: emptySums(measured) };
  for (const r of rows) {
    let w = windows.get(r.key);
    if (!w) {
      w = { current: emptySums(measured), previous: emptySums(measured) };
      windows.set(r.key, w);
    }
    if (current.has(r.bucket)) {
      add(w.current, r.sums);
      add(total.current, r.sums);
    } else if (previous.has(r.bucket)) {
      add(w.previous, r.sums);
      add(total.previous, r.sums);
    }
  }
  const group = (key: string | null, w: { current: Sums; previous: Sums }): KpiGroup => {
    const c = kpiValues(w.current, metrics);
    const p = kpiValues(w.previous, metrics);
    return { key, current: c, previous: p, changes: changesOf(c, p, metrics) };
  };
  const groups = dimension
    ? [...windows.entries()]
        .map(([key, w]) => group(key, w))
        .sort(
          (a, b) =>
            (b.current.cost ?? 0) - (a.current.cost ?? 0) ||
            String(a.key).localeCompare(String(b.key)),
        )
    : [];
  const movers = groups
    .map((g) => g.changes.find((c) => c.metric === moverMetric)!)
    .map((c, i) => ({ c, key: groups[i]!.key }))
    .filter(({ c }) => c.change !== null)
    .map(
      ({ c, key }): Mover => ({
        key,
        metric: moverMetric,
        current: c.current!,
        previous: c.previous!,
        change: c.change!,
        relativeChange: c.relativeChange,
      }),
    )
    .sort((a, b) => b.change - a.change);
  const topMovers = movers.filter((m) => m.change > 0).slice(0, 3);
  const bottomMovers = movers
    .filter((m) => m.change < 0)
    .reverse()
    .slice(0, 3);
  const label = bucket === 'DAY' ? 'day' : bucket === 'WEEK' ? 'week' : 'month';
  return {
    datasetId: gate.dataset.id,
    versionId: gate.version.id,
    mapping,
    metrics,
    dimension: dimension?.name ?? null,
    bucket,
    timeZone,
    periods,
    currentBuckets,
    previousBuckets,
    total: group(null, total),
    groups,
    series: rows.map((r) => ({ key: r.key, bucket: r.bucket, values: kpiValues(r.sums, metrics) })),
    moverMetric,
    topMovers,
    bottomMovers,
    recommendations: dimension
      ? recommend(groups, {
          dimension: dimension.name,
          window: `the last ${currentBuckets.length} ${label}${currentBuckets.length === 1 ? '' : 's'}`,
          previousWindow: previousBuckets.length > 0,
        })
      : [],
  };
}
