/** Query.datasetInsights · Query.compareDatasets */
import { builder } from '../schema/builder';
import type { AuthedContext } from '../src/context';
import type { ColumnDrift } from '../src/drift/check';
import type { ColumnAnomalies, SeasonalAnomalies, SeasonalPoint } from '../src/insights/anomalies';
import {
  type ColumnComparison,
  type Comparison,
  compareDatasets,
  type MeanChange,
  type MedianChange,
} from '../src/insights/compare';
import type { Correlation, Correlations } from '../src/insights/correlations';
import { type Narrative, narrativeOf } from '../src/insights/narrative';
import { insightsOf } from '../src/insights/service';
import { type InsightsSource, insightsSource } from '../src/insights/source';
import type { CategoryShare, ColumnSummary, HistogramBin } from '../src/insights/summary';
import { DatasetRef, DatasetVersionRef } from './datasets';
import { RunStatusEnum } from './models';

/**
 * Insights of one version as the viewer may read it. Other insight resolver files add their
 * fields to it with `builder.objectFields(DatasetInsightsRef, …)`.
 */
export const DatasetInsightsRef = builder.objectRef<InsightsSource>('DatasetInsights');

const StatusEnum = builder.enumType('InsightsStatus', {
  description: 'Whether the insights of a version are ready.',
  values: {
    READY: { description: 'Computed (now, or earlier and read from the cache).' },
    COMPUTING: { description: 'A large version: a job is computing them; ask again later.' },
    FAILED: { description: 'The job computing them failed.' },
  } as const,
});

const KindEnum = builder.enumType('InsightsColumnKind', {
  description: 'How a column is described.',
  values: {
    NUMERIC: { description: 'Numbers: moments, percentiles, histogram.' },
    CATEGORICAL: { description: 'Text, categories, booleans: top categories.' },
    TEMPORAL: { description: 'Dates and timestamps: earliest and latest.' },
  } as const,
});

const RuleEnum = builder.enumType('AnomalyRule', {
  description: 'The rule that flags a value; the README gives each formula.',
  values: {
    ZSCORE: { description: '|x − mean| / σ > 3 (σ the population standard deviation).' },
    TUKEY: { description: 'Outside [Q1 − 1.5·IQR, Q3 + 1.5·IQR].' },
    MAD: { description: 'Modified z-score |0.6745·(x − median) / MAD| > 3.5.' },
  } as const,
});

const BinRef = builder.objectRef<HistogramBin>('HistogramBin');
BinRef.implement({
  description: 'One histogram bar: [lower, upper), the last bin closed on the right.',
  fields: (t) => ({
    lower: t.exposeFloat('lower', { description: 'Lower edge.' }),
    upper: t.exposeFloat('upper', { description: 'Upper edge.' }),
    count: t.exposeInt('count', { description: 'Values in the bin.' }),
    share: t.exposeFloat('share', { description: 'Share of the values (nulls excluded).' }),
  }),
});

const CategoryRef = builder.objectRef<CategoryShare>('CategoryShare');
CategoryRef.implement({
  description: 'A frequent value and its share.',
  fields: (t) => ({
    value: t.exposeString('value', { description: 'The value, as text.' }),
    count: t.exposeInt('count', { description: 'Rows holding it.' }),
    share: t.exposeFloat('share', { description: 'Share of the rows with a value.' }),
  }),
});

const PercentileRef = builder.objectRef<{ p: number; value: number }>('Percentile');
PercentileRef.implement({
  description: 'A percentile (linear interpolation, as percentile_cont and numpy).',
  fields: (t) => ({
    p: t.exposeFloat('p', { description: 'Fraction, 0 to 1.' }),
    value: t.exposeFloat('value', { description: 'Value.' }),
  }),
});

const float = (description: string) => ({ nullable: true as const, description });

const ColumnInsightsRef = builder.objectRef<ColumnSummary>('ColumnInsights');
ColumnInsightsRef.implement({
  description:
    'Statistics of one column you read in clear, over the rows you may see (masked and hidden columns are not described).',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Column name.' }),
    type: t.exposeString('type', { description: 'Storage type.' }),
    kind: t.field({ type: KindEnum, description: 'How it is described.', resolve: (c) => c.kind }),
    count: t.exposeInt('count', { description: 'Rows with a value.' }),
    nulls: t.exposeInt('nulls', { description: 'Rows without one.' }),
    distinct: t.exposeInt('distinct', { description: 'Distinct values.' }),
    min: t.exposeFloat('min', float('Smallest value (numbers).')),
    max: t.exposeFloat('max', float('Largest value (numbers).')),
    earliest: t.exposeString('earliest', float('First date or time (ISO).')),
    latest: t.exposeString('latest', float('Last date or time (ISO).')),
    mean: t.exposeFloat('mean', float('Mean.')),
    median: t.exposeFloat('median', float('Median.')),
    std: t.exposeFloat('std', float('Sample standard deviation (n − 1).')),
    q1: t.exposeFloat('q1', float('First quartile.')),
    q3: t.exposeFloat('q3', float('Third quartile.')),
    iqr: t.exposeFloat('iqr', float('Interquartile range Q3 − Q1.')),
    mad: t.exposeFloat('mad', float('Median absolute deviation from the median (unscaled).')),
    skewness: t.exposeFloat('skewness', float('g₁ = m₃ / m₂^(3/2) (biased, as scipy.stats.skew).')),
    kurtosis: t.exposeFloat(
      'kurtosis',
      float('Excess kurtosis g₂ = m₄ / m₂² − 3 (biased, as scipy.stats.kurtosis).'),
    ),
    percentiles: t.field({
      type: [PercentileRef],
      description: 'Percentiles 1, 5, 10, 25, 50, 75, 90, 95 and 99.',
      resolve: (c) => c.percentiles,
    }),
    histogram: t.field({
      type: [BinRef],
      description: "Histogram over Sturges' bins between min and max (numbers).",
      resolve: (c) => c.histogram,
    }),
    topCategories: t.field({
      type: [CategoryRef],
      description: 'The ten most frequent values (text, categories, booleans).',
      resolve: (c) => c.topCategories,
    }),
  }),
});

const CorrelationRef = builder.objectRef<Correlation>('Correlation');
CorrelationRef.implement({
  description: 'The correlation of two numeric columns over the rows where both have a value.',
  fields: (t) => ({
    x: t.exposeString('x', { description: 'First column.' }),
    y: t.exposeString('y', { description: 'Second column.' }),
    n: t.exposeInt('n', { description: 'Rows where both have a value.' }),
    pearson: t.exposeFloat('pearson', float("Pearson's r.")),
    pearsonP: t.exposeFloat('pearsonP', float('Two-sided p-value of r (t with n − 2 df).')),
    spearman: t.exposeFloat('spearman', float("Spearman's ρ (Pearson's r of average ranks).")),
    spearmanP: t.exposeFloat('spearmanP', float('Two-sided p-value of ρ (t with n − 2 df).')),
  }),
});

const CorrelationsRef = builder.objectRef<Correlations>('CorrelationMatrix');
CorrelationsRef.implement({
  description: 'Pearson and Spearman matrices over the numeric columns you read in clear.',
  fields: (t) => ({
    columns: t.exposeStringList('columns', { description: 'The columns, in file order.' }),
    pairs: t.field({
      type: [CorrelationRef],
      description: 'Each pair once (x before y in file order).',
      resolve: (m) => m.pairs,
    }),
    pearson: t.field({
      type: t.listRef(t.listRef('Float', { nullable: true })),
      description:
        'Pearson matrix, rows and columns in the order of `columns`; null where undefined.',
      resolve: (m) => matrix(m, 'pearson'),
    }),
    spearman: t.field({
      type: t.listRef(t.listRef('Float', { nullable: true })),
      description: 'Spearman matrix, in the order of `columns`.',
      resolve: (m) => matrix(m, 'spearman'),
    }),
  }),
});

function matrix(m: Correlations, key: 'pearson' | 'spearman'): Array<Array<number | null>> {
  return m.columns.map((x, i) =>
    m.columns.map((y, j) => {
      if (i === j) return 1;
      const p = m.pairs.find((q) => (q.x === x && q.y === y) || (q.x === y && q.y === x));
      return p?.[key] ?? null;
    }),
  );
}

const AnomalyRef = builder.objectRef<ColumnAnomalies>('ColumnAnomalies');
AnomalyRef.implement({
  description: 'Values of a numeric column that one rule flags.',
  fields: (t) => ({
    column: t.exposeString('column', { description: 'Column.' }),
    rule: t.field({ type: RuleEnum, description: 'The rule.', resolve: (a) => a.rule }),
    lower: t.exposeFloat('lower', { description: 'Values below this are anomalous.' }),
    upper: t.exposeFloat('upper', { description: 'Values above this are anomalous.' }),
    count: t.exposeInt('count', { description: 'Rows flagged.' }),
    rows: t.field({
      type: ['JSONObject'],
      description:
        'The first 20 flagged rows (largest values first), as you read them: masked columns masked, hidden ones absent.',
      resolve: (a) => a.rows,
    }),
  }),
});

const SeasonalPointRef = builder.objectRef<SeasonalPoint>('SeasonalAnomaly');
SeasonalPointRef.implement({
  description: 'A time bucket whose value breaks the seasonal pattern.',
  fields: (t) => ({
    bucket: t.exposeString('bucket', { description: 'Start of the bucket (YYYY-MM-DD).' }),
    value: t.exposeFloat('value', { description: 'Mean of the measure in the bucket.' }),
    trend: t.exposeFloat('trend', { description: 'Centered moving average.' }),
    seasonal: t.exposeFloat('seasonal', { description: 'Seasonal component.' }),
    residual: t.exposeFloat('residual', { description: 'value − trend − seasonal.' }),
    score: t.exposeFloat('score', { description: 'Modified z-score of the residual.' }),
  }),
});

const SeasonalRef = builder.objectRef<SeasonalAnomalies>('SeasonalAnomalies');
SeasonalRef.implement({
  description: 'Seasonal decomposition of a measure over a time column, and its anomalies.',
  fields: (t) => ({
    time: t.exposeString('time', { description: 'Time column.' }),
    measure: t.exposeString('measure', { description: 'Measure column.' }),
    unit: t.exposeString('unit', { description: 'Bucket: month or day (UTC).' }),
    period: t.exposeInt('period', { description: 'Season length in buckets.' }),
    points: t.exposeInt('points', { description: 'Buckets with a trend (decomposed).' }),
    anomalies: t.field({
      type: [SeasonalPointRef],
      description: 'Buckets whose residual has |modified z| > 3.5.',
      resolve: (s) => s.anomalies,
    }),
  }),
});

const ProgressRef = builder.objectRef<{
  step: number;
  totalSteps: number | null;
  phase: string | null;
  status: string;
  error: string | null;
}>('InsightsProgress');
ProgressRef.implement({
  description: 'Progress of the job computing a large version’s insights.',
  fields: (t) => ({
    status: t.field({
      type: RunStatusEnum,
      description: 'Run status.',
      resolve: (r) => r.status as never,
    }),
    step: t.exposeInt('step', { description: 'Steps done.' }),
    totalSteps: t.exposeInt('totalSteps', { nullable: true, description: 'Steps in all.' }),
    phase: t.exposeString('phase', { nullable: true, description: 'Step under way.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
  }),
});

const NarrativeRef = builder.objectRef<Narrative>('InsightsNarrative');
NarrativeRef.implement({
  description: 'A plain-language summary written from the computed facts only.',
  fields: (t) => ({
    text: t.exposeString('text', { description: 'The summary.' }),
    source: t.exposeString('source', {
      description: 'LLM: written by the configured model; FACTS: the deterministic text.',
    }),
  }),
});

const state = (s: InsightsSource, ctx: unknown) => insightsOf(ctx as AuthedContext, s);
const ready = async (s: InsightsSource, ctx: unknown) => (await state(s, ctx)).insights;

DatasetInsightsRef.implement({
  description:
    'Statistics, correlations, anomalies and a narrative of one dataset version, computed through the access gate as you: only columns you read in clear, only rows your policy lets you see.',
  fields: (t) => ({
    dataset: t.field({
      type: DatasetRef,
      description: 'The dataset.',
      resolve: (s) => s.datasetId,
    }),
    version: t.field({
      type: DatasetVersionRef,
      description: 'The version described.',
      resolve: (s) => s.versionId,
    }),
    status: t.field({
      type: StatusEnum,
      description: 'READY, or COMPUTING while a job computes a large version.',
      resolve: async (s, _a, ctx) => (await state(s, ctx)).status,
    }),
    progress: t.field({
      type: ProgressRef,
      nullable: true,
      description: 'The computing job’s progress; null when computed in the request or cached.',
      resolve: async (s, _a, ctx) => (await state(s, ctx)).run,
    }),
    rows: t.int({
      nullable: true,
      description: 'Rows described: the rows you may see.',
      resolve: async (s, _a, ctx) => (await ready(s, ctx))?.rows ?? null,
    }),
    computedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When they were computed.',
      resolve: async (s, _a, ctx) => {
        const i = await ready(s, ctx);
        return i ? new Date(i.computedAt) : null;
      },
    }),
    columns: t.field({
      type: [ColumnInsightsRef],
      nullable: true,
      description: 'One entry per column you read in clear, in file order.',
      resolve: async (s, _a, ctx) => (await ready(s, ctx))?.summary.columns ?? null,
    }),
    correlations: t.field({
      type: CorrelationsRef,
      nullable: true,
      description: 'Pearson and Spearman matrices with p-values.',
      resolve: async (s, _a, ctx) => (await ready(s, ctx))?.correlations ?? null,
    }),
    anomalies: t.field({
      type: [AnomalyRef],
      nullable: true,
      description: 'Per numeric column and rule, the values flagged.',
      resolve: async (s, _a, ctx) => (await ready(s, ctx))?.anomalies.columns ?? null,
    }),
    seasonalAnomalies: t.field({
      type: [SeasonalRef],
      nullable: true,
      description:
        'For the first date or time column and each numeric measure: buckets that break the seasonal pattern.',
      resolve: async (s, _a, ctx) => (await ready(s, ctx))?.anomalies.seasonal ?? null,
    }),
    narrative: t.field({
      type: NarrativeRef,
      nullable: true,
      description:
        'A short summary written from the computed facts (by the configured LLM, else deterministically); cached per version and visibility.',
      resolve: async (s, _a, ctx) => {
        const st = await state(s, ctx);
        if (!st.insights) return null;
        return narrativeOf(
          ctx as AuthedContext,
          {
            versionId: st.gate.version.id,
            fingerprint: st.fingerprint,
            dataset: st.gate.dataset.name,
            version: st.gate.version.number,
          },
          st.insights,
        );
      },
    }),
  }),
});

const VersionSelectorInput = builder.inputType('DatasetVersionSelector', {
  description: 'A version of a dataset.',
  fields: (t) => ({
    datasetId: t.globalID({ for: [DatasetRef], required: true, description: 'Dataset.' }),
    version: t.int({ description: 'Version number (default: the latest).' }),
  }),
});

const SchemaColumnRef = builder.objectRef<{ name: string; type: string }>('ComparedColumn');
SchemaColumnRef.implement({
  description: 'A column present on one side only.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name.' }),
    type: t.exposeString('type', { description: 'Storage type.' }),
  }),
});

const RetypedRef = builder.objectRef<{ name: string; from: string; to: string }>(
  'ComparedRetypedColumn',
);
RetypedRef.implement({
  description: 'A column whose type differs.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name.' }),
    from: t.exposeString('from', { description: 'Type in a.' }),
    to: t.exposeString('to', { description: 'Type in b.' }),
  }),
});

const MeanChangeRef = builder.objectRef<MeanChange>('MeanChange');
MeanChangeRef.implement({
  description: "Change of the mean from a to b, with Welch's t-test.",
  fields: (t) => ({
    a: t.exposeFloat('a', { description: 'Mean in a.' }),
    b: t.exposeFloat('b', { description: 'Mean in b.' }),
    change: t.exposeFloat('change', { description: 'b − a.' }),
    t: t.exposeFloat('t', float("Welch's t of a − b.")),
    df: t.exposeFloat('df', float('Welch–Satterthwaite degrees of freedom.')),
    p: t.exposeFloat('p', float('Two-sided p-value.')),
  }),
});

const MedianChangeRef = builder.objectRef<MedianChange>('MedianChange');
MedianChangeRef.implement({
  description: 'Change of the median from a to b, with the Mann–Whitney U test.',
  fields: (t) => ({
    a: t.exposeFloat('a', { description: 'Median in a.' }),
    b: t.exposeFloat('b', { description: 'Median in b.' }),
    change: t.exposeFloat('change', { description: 'b − a.' }),
    u: t.exposeFloat('u', float('Mann–Whitney U of a; null above 1,000 distinct values a side.')),
    p: t.exposeFloat(
      'p',
      float('Two-sided p-value (normal approximation, tie and continuity corrected).'),
    ),
  }),
});

const ShiftRef = builder.objectRef<ColumnDrift>('DistributionShift');
ShiftRef.implement({
  description: 'The drift statistic of a column (the drift monitors’ recipe), b against a.',
  fields: (t) => ({
    test: t.exposeString('test', {
      description: 'Test chosen (ks, chisquare, z, wasserstein, jensenshannon, psi).',
    }),
    statistic: t.exposeFloat('statistic', { description: 'Statistic.' }),
    pValue: t.float({
      nullable: true,
      description: 'p-value, for tests that have one.',
      resolve: (d) => d.pValue?.value ?? null,
    }),
    threshold: t.exposeFloat('threshold', { description: 'Threshold of the test.' }),
    drifted: t.exposeBoolean('drifted', { description: 'Whether it crosses the threshold.' }),
  }),
});

const ColumnComparisonRef = builder.objectRef<ColumnComparison>('ColumnComparison');
ColumnComparisonRef.implement({
  description: 'How a column you read in clear on both sides changed.',
  fields: (t) => ({
    column: t.exposeString('column', { description: 'Column.' }),
    shift: t.field({
      type: ShiftRef,
      nullable: true,
      description: 'Distribution shift.',
      resolve: (c) => c.drift,
    }),
    mean: t.field({
      type: MeanChangeRef,
      nullable: true,
      description: 'Mean change (numbers).',
      resolve: (c) => c.mean,
    }),
    median: t.field({
      type: MedianChangeRef,
      nullable: true,
      description: 'Median change (numbers).',
      resolve: (c) => c.median,
    }),
  }),
});

const ComparisonRef = builder.objectRef<Comparison>('DatasetComparison');
ComparisonRef.implement({
  description: 'Two versions compared as you read them.',
  fields: (t) => ({
    a: t.field({
      type: DatasetVersionRef,
      description: 'The base version.',
      resolve: (c) => c.a.version,
    }),
    b: t.field({
      type: DatasetVersionRef,
      description: 'The version compared with it.',
      resolve: (c) => c.b.version,
    }),
    status: t.field({
      type: StatusEnum,
      description:
        'READY, or COMPUTING while a job computes the insights of a side above the job threshold (`progressA`, `progressB`); until READY the row counts are null and `columns` is empty.',
      resolve: (c) => c.status,
    }),
    progressA: t.field({
      type: ProgressRef,
      nullable: true,
      description: 'The job computing the insights of a, while the comparison waits for it.',
      resolve: (c) => c.progressA,
    }),
    progressB: t.field({
      type: ProgressRef,
      nullable: true,
      description: 'The job computing the insights of b, while the comparison waits for it.',
      resolve: (c) => c.progressB,
    }),
    rowsA: t.exposeInt('rowsA', {
      nullable: true,
      description: 'Rows of a you may see; null until READY.',
    }),
    rowsB: t.exposeInt('rowsB', {
      nullable: true,
      description: 'Rows of b you may see; null until READY.',
    }),
    added: t.field({
      type: [SchemaColumnRef],
      description: 'Columns only in b.',
      resolve: (c) => c.added,
    }),
    removed: t.field({
      type: [SchemaColumnRef],
      description: 'Columns only in a.',
      resolve: (c) => c.removed,
    }),
    retyped: t.field({
      type: [RetypedRef],
      description: 'Columns whose type changed.',
      resolve: (c) => c.retyped,
    }),
    columns: t.field({
      type: [ColumnComparisonRef],
      description: 'Per column read in clear on both sides; empty until READY.',
      resolve: (c) => c.columns,
    }),
  }),
});

builder.queryFields((t) => ({
  datasetInsights: t.withAuth({ authenticated: true }).field({
    type: DatasetInsightsRef,
    description: 'Insights of a version of a dataset (default: the latest), as you may read it.',
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      version: t.arg.int({ description: 'Version number (default: the latest).' }),
    },
    resolve: (_root, args, ctx) =>
      insightsSource(ctx, { datasetId: args.datasetId.id, version: args.version }),
  }),
  compareDatasets: t.withAuth({ authenticated: true }).field({
    type: ComparisonRef,
    description:
      'Compares two versions (of one dataset or two): schema diff, distribution shift per column, mean and median changes with significance. Only columns you read in clear on both sides are compared.',
    args: {
      a: t.arg({ type: VersionSelectorInput, required: true }),
      b: t.arg({ type: VersionSelectorInput, required: true }),
    },
    resolve: (_root, { a, b }, ctx) =>
      compareDatasets(
        ctx,
        { datasetId: a.datasetId.id, version: a.version },
        { datasetId: b.datasetId.id, version: b.version },
      ),
  }),
}));
