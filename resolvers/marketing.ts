/** Query.datasetSemantics · Query.suggestedSemantics · Query.marketingKpis · Mutation.setDatasetSemantics · DatasetInsights.marketingKpis */
import type { SemanticMapping } from '../db/schema/semantics';
import { builder } from '../schema/builder';
import type { TimeBucket } from '../src/access/language';
import {
  type KpiChange,
  type KpiGroup,
  type KpiInput,
  type KpiMetric,
  type KpiPoint,
  type KpiValues,
  type MarketingKpis,
  type Mover,
  marketingKpis,
} from '../src/insights/kpis';
import type { Recommendation, RecommendationKind } from '../src/insights/recommendations';
import { datasetSemanticsOf, setDatasetSemantics } from '../src/insights/semantics';
import { DatasetRef, DatasetVersionRef } from './datasets';
import { DatasetInsightsRef } from './insights';
import { insightErrors } from './insights-trends';
import { TimeBucketEnum } from './queries';

type SemanticsOut = { datasetId: string; mapping: SemanticMapping; confirmed: boolean };

const MappingRef = builder.objectRef<SemanticMapping>('SemanticMapping').implement({
  description: 'Which columns mean what (columns hidden from you are left out).',
  fields: (t) => ({
    impressions: t.string({
      nullable: true,
      description: 'Impressions column.',
      resolve: (m) => m.impressions ?? null,
    }),
    clicks: t.string({
      nullable: true,
      description: 'Clicks column.',
      resolve: (m) => m.clicks ?? null,
    }),
    conversions: t.string({
      nullable: true,
      description: 'Conversions column.',
      resolve: (m) => m.conversions ?? null,
    }),
    cost: t.string({
      nullable: true,
      description: 'Cost (spend) column.',
      resolve: (m) => m.cost ?? null,
    }),
    revenue: t.string({
      nullable: true,
      description: 'Revenue column.',
      resolve: (m) => m.revenue ?? null,
    }),
    date: t.string({
      nullable: true,
      description: 'Date or timestamp column.',
      resolve: (m) => m.date ?? null,
    }),
    dimensions: t.stringList({
      description: 'Dimension columns.',
      resolve: (m) => m.dimensions ?? [],
    }),
  }),
});

const SemanticsRef = builder.objectRef<SemanticsOut>('DatasetSemantics').implement({
  description: 'The marketing meaning of a dataset’s columns.',
  fields: (t) => ({
    dataset: t.field({ type: DatasetRef, description: 'Dataset.', resolve: (s) => s.datasetId }),
    mapping: t.field({ type: MappingRef, description: 'The mapping.', resolve: (s) => s.mapping }),
    confirmed: t.exposeBoolean('confirmed', {
      description: 'Stored by setDatasetSemantics (false: a suggestion from the column names).',
    }),
  }),
});

const MappingInput = builder.inputRef<SemanticMapping>('SemanticMappingInput').implement({
  description: 'Columns by role; at least one measure.',
  fields: (t) => ({
    impressions: t.string({ description: 'Impressions column.' }),
    clicks: t.string({ description: 'Clicks column.' }),
    conversions: t.string({ description: 'Conversions column.' }),
    cost: t.string({ description: 'Cost (spend) column.' }),
    revenue: t.string({ description: 'Revenue column.' }),
    date: t.string({ description: 'DATE or TIMESTAMP column.' }),
    dimensions: t.stringList({ description: 'Dimension columns (channel, campaign, …).' }),
  }),
});

const KpiMetricEnum = builder.enumType('KpiMetric', {
  description: 'A marketing KPI: a ratio of two summed measures.',
  values: {
    CTR: { description: 'Click-through rate: clicks / impressions.' },
    CONVERSION_RATE: { description: 'conversions / clicks.' },
    CPC: { description: 'Cost per click: cost / clicks.' },
    CPA: { description: 'Cost per acquisition: cost / conversions.' },
    ROAS: { description: 'Return on ad spend: revenue / cost.' },
  } as const satisfies Record<KpiMetric, { description: string }>,
});

const RecommendationKindEnum = builder.enumType('RecommendationKind', {
  description: 'What a recommendation is about.',
  values: {
    SHIFT_BUDGET: { description: 'Move budget from the lowest ROAS to the highest.' },
    UNPROFITABLE: { description: 'ROAS below 1: less revenue than cost.' },
    CPA_RISING: { description: 'CPA up 20% or more against the previous window.' },
    CTR_FALLING: { description: 'CTR down 20% or more against the previous window.' },
  } as const satisfies Record<RecommendationKind, { description: string }>,
});

const nullableFloat = (description: string, get: (v: KpiValues) => number | null) => ({
  nullable: true as const,
  description,
  resolve: get,
});

const KpiValuesRef = builder.objectRef<KpiValues>('KpiValues').implement({
  description: 'Summed measures and the KPIs from them (null: not mapped, not asked, or ÷ 0).',
  fields: (t) => ({
    impressions: t.float(nullableFloat('Impressions.', (v) => v.impressions)),
    clicks: t.float(nullableFloat('Clicks.', (v) => v.clicks)),
    conversions: t.float(nullableFloat('Conversions.', (v) => v.conversions)),
    cost: t.float(nullableFloat('Cost.', (v) => v.cost)),
    revenue: t.float(nullableFloat('Revenue.', (v) => v.revenue)),
    ctr: t.float(nullableFloat('clicks / impressions.', (v) => v.ctr)),
    conversionRate: t.float(nullableFloat('conversions / clicks.', (v) => v.conversionRate)),
    cpc: t.float(nullableFloat('cost / clicks.', (v) => v.cpc)),
    cpa: t.float(nullableFloat('cost / conversions.', (v) => v.cpa)),
    roas: t.float(nullableFloat('revenue / cost.', (v) => v.roas)),
  }),
});

const KpiChangeRef = builder.objectRef<KpiChange>('KpiChange').implement({
  description: 'A KPI in the current window against the previous one.',
  fields: (t) => ({
    metric: t.field({ type: KpiMetricEnum, description: 'KPI.', resolve: (c) => c.metric }),
    current: t.float({ nullable: true, description: 'Current window.', resolve: (c) => c.current }),
    previous: t.float({
      nullable: true,
      description: 'Previous window.',
      resolve: (c) => c.previous,
    }),
    change: t.float({
      nullable: true,
      description: 'current − previous.',
      resolve: (c) => c.change,
    }),
    relativeChange: t.float({
      nullable: true,
      description: 'change / |previous|.',
      resolve: (c) => c.relativeChange,
    }),
  }),
});

const KpiGroupRef = builder.objectRef<KpiGroup>('KpiGroup').implement({
  description: 'KPIs of one dimension value (or of everything), per window.',
  fields: (t) => ({
    key: t.string({
      nullable: true,
      description: 'Dimension value (null: the total, or no value).',
      resolve: (g) => g.key,
    }),
    current: t.field({
      type: KpiValuesRef,
      description: 'Current window.',
      resolve: (g) => g.current,
    }),
    previous: t.field({
      type: KpiValuesRef,
      description: 'Previous window.',
      resolve: (g) => g.previous,
    }),
    changes: t.field({
      type: [KpiChangeRef],
      description: 'Period-over-period changes.',
      resolve: (g) => g.changes,
    }),
  }),
});

const KpiPointRef = builder.objectRef<KpiPoint>('KpiPoint').implement({
  description: 'KPIs of one dimension value in one bucket.',
  fields: (t) => ({
    key: t.string({ nullable: true, description: 'Dimension value.', resolve: (p) => p.key }),
    bucket: t.exposeString('bucket', { description: 'First local day of the bucket.' }),
    values: t.field({ type: KpiValuesRef, description: 'Values.', resolve: (p) => p.values }),
  }),
});

const MoverRef = builder.objectRef<Mover>('KpiMover').implement({
  description: 'A dimension value whose KPI moved most between the windows.',
  fields: (t) => ({
    key: t.string({ nullable: true, description: 'Dimension value.', resolve: (m) => m.key }),
    metric: t.field({ type: KpiMetricEnum, description: 'KPI.', resolve: (m) => m.metric }),
    current: t.exposeFloat('current', { description: 'Current window.' }),
    previous: t.exposeFloat('previous', { description: 'Previous window.' }),
    change: t.exposeFloat('change', { description: 'current − previous.' }),
    relativeChange: t.float({
      nullable: true,
      description: 'change / |previous|.',
      resolve: (m) => m.relativeChange,
    }),
  }),
});

const RecommendationRef = builder.objectRef<Recommendation>('Recommendation').implement({
  description: 'A plain suggestion drawn from the KPIs, with the numbers behind it.',
  fields: (t) => ({
    kind: t.field({ type: RecommendationKindEnum, description: 'Kind.', resolve: (r) => r.kind }),
    text: t.exposeString('text', { description: 'The recommendation in words.' }),
    metric: t.field({
      type: KpiMetricEnum,
      description: 'KPI it rests on.',
      resolve: (r) => r.metric,
    }),
    from: t.string({
      nullable: true,
      description: 'Dimension value concerned (budget moves from it).',
      resolve: (r) => r.from,
    }),
    to: t.string({
      nullable: true,
      description: 'Dimension value budget moves to.',
      resolve: (r) => r.to,
    }),
    fromValue: t.float({
      nullable: true,
      description: 'KPI of `from` (or before).',
      resolve: (r) => r.fromValue,
    }),
    toValue: t.float({
      nullable: true,
      description: 'KPI of `to` (or now).',
      resolve: (r) => r.toValue,
    }),
  }),
});

const KpisRef = builder.objectRef<MarketingKpis>('MarketingKpis').implement({
  description:
    'Marketing KPIs from one grouped aggregate read through the access gate as you: your rows only, and nothing from a column you see masked.',
  fields: (t) => ({
    dataset: t.field({ type: DatasetRef, description: 'Dataset.', resolve: (k) => k.datasetId }),
    version: t.field({
      type: DatasetVersionRef,
      description: 'Version read.',
      resolve: (k) => k.versionId,
    }),
    mapping: t.field({
      type: MappingRef,
      description: 'Semantics used.',
      resolve: (k) => k.mapping,
    }),
    metrics: t.field({
      type: [KpiMetricEnum],
      description: 'KPIs computed.',
      resolve: (k) => k.metrics,
    }),
    dimension: t.exposeString('dimension', { nullable: true, description: 'Grouping column.' }),
    bucket: t.field({
      type: TimeBucketEnum,
      description: 'Bucket size.',
      resolve: (k) => k.bucket as TimeBucket,
    }),
    timeZone: t.exposeString('timeZone', { description: 'Time zone of the buckets.' }),
    periods: t.exposeInt('periods', { description: 'Buckets per window.' }),
    currentBuckets: t.stringList({
      description: 'Buckets of the current window.',
      resolve: (k) => k.currentBuckets,
    }),
    previousBuckets: t.stringList({
      description: 'Buckets of the previous window.',
      resolve: (k) => k.previousBuckets,
    }),
    total: t.field({
      type: KpiGroupRef,
      description: 'Everything together.',
      resolve: (k) => k.total,
    }),
    groups: t.field({
      type: [KpiGroupRef],
      description: 'Per dimension value, most cost first.',
      resolve: (k) => k.groups,
    }),
    series: t.field({
      type: [KpiPointRef],
      description: 'Per dimension value and bucket.',
      resolve: (k) => k.series,
    }),
    moverMetric: t.field({
      type: KpiMetricEnum,
      description: 'KPI movers are ranked by.',
      resolve: (k) => k.moverMetric,
    }),
    topMovers: t.field({
      type: [MoverRef],
      description: 'Largest rises (at most 3).',
      resolve: (k) => k.topMovers,
    }),
    bottomMovers: t.field({
      type: [MoverRef],
      description: 'Largest falls (at most 3).',
      resolve: (k) => k.bottomMovers,
    }),
    recommendations: t.field({
      type: [RecommendationRef],
      description: 'Plain recommendations (needs a dimension).',
      resolve: (k) => k.recommendations,
    }),
  }),
});

type KpiArgs = Omit<KpiInput, 'datasetId' | 'version'>;

builder.queryFields((t) => ({
  datasetSemantics: t.withAuth({ authenticated: true }).field({
    type: SemanticsRef,
    nullable: true,
    description: 'The confirmed marketing semantics of a dataset; null when none are set.',
    errors: insightErrors,
    args: { datasetId: t.arg.globalID({ for: [DatasetRef], required: true }) },
    resolve: (_root, args, ctx) =>
      datasetSemanticsOf(ctx, args.datasetId.id, { suggestion: false }),
  }),
  suggestedSemantics: t.withAuth({ authenticated: true }).field({
    type: SemanticsRef,
    description:
      'Semantics inferred from column names and types, offered for confirmation with setDatasetSemantics.',
    errors: insightErrors,
    args: { datasetId: t.arg.globalID({ for: [DatasetRef], required: true }) },
    resolve: async (_root, args, ctx) =>
      (await datasetSemanticsOf(ctx, args.datasetId.id, { suggestion: true }))!,
  }),
  marketingKpis: t.withAuth({ authenticated: true }).field({
    type: KpisRef,
    description:
      'CTR, conversion rate, CPC, CPA and ROAS by a dimension and time bucket, with period-over-period change, movers and recommendations.',
    errors: insightErrors,
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      version: t.arg.int({ description: 'Version number (default: the newest).' }),
      dimension: t.arg.string({
        description: 'Column to group by (e.g. channel); absent: totals only.',
      }),
      bucket: t.arg({ type: TimeBucketEnum, description: 'Bucket size (default WEEK).' }),
      timeZone: t.arg.string({ description: 'IANA time zone of the buckets (default UTC).' }),
      periods: t.arg.int({ description: 'Buckets per window (default 4).' }),
      metrics: t.arg({
        type: [KpiMetricEnum],
        description: 'KPIs (default: every KPI the mapping allows).',
      }),
      moverMetric: t.arg({
        type: KpiMetricEnum,
        description: 'KPI movers are ranked by (default ROAS).',
      }),
    },
    resolve: (_root, args, ctx) =>
      marketingKpis(ctx, {
        ...(args as KpiArgs),
        datasetId: args.datasetId.id,
        version: args.version,
      }),
  }),
}));

builder.mutationFields((t) => ({
  setDatasetSemantics: t.withAuth({ role: 'ANALYST' }).field({
    type: SemanticsRef,
    description:
      'Stores which columns are impressions, clicks, conversions, cost, revenue, the date and the dimensions (checked against the newest version).',
    errors: insightErrors,
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      mapping: t.arg({ type: MappingInput, required: true }),
    },
    resolve: (_root, args, ctx) => setDatasetSemantics(ctx, args.datasetId.id, args.mapping),
  }),
}));

builder.objectFields(DatasetInsightsRef, (t) => ({
  marketingKpis: t.withAuth({ authenticated: true }).field({
    type: KpisRef,
    description: 'Marketing KPIs of this version (see Query.marketingKpis).',
    errors: insightErrors,
    args: {
      dimension: t.arg.string({ description: 'Column to group by.' }),
      bucket: t.arg({ type: TimeBucketEnum, description: 'Bucket size (default WEEK).' }),
      timeZone: t.arg.string({ description: 'IANA time zone (default UTC).' }),
      periods: t.arg.int({ description: 'Buckets per window (default 4).' }),
      metrics: t.arg({ type: [KpiMetricEnum], description: 'KPIs.' }),
      moverMetric: t.arg({ type: KpiMetricEnum, description: 'KPI movers are ranked by.' }),
    },
    resolve: (source, args, ctx) =>
      marketingKpis(ctx, {
        ...(args as KpiArgs),
        datasetId: source.datasetId,
        version: source.version,
      }),
  }),
}));
