/** Query.trend · DatasetInsights.trend · the ColumnNotReadableError and InsufficientData types */
import { builder } from '../schema/builder';
import type { TimeBucket } from '../src/access/language';
import { InputError, NotFoundError } from '../src/errors';
import type { Changepoints, Segment } from '../src/insights/changepoints';
import type { InsufficientData, SeasonalityFound } from '../src/insights/seasonality';
import { ColumnNotReadableError } from '../src/insights/semantics';
import {
  datasetTrend,
  type LinearTrend,
  type PeriodChange,
  type RobustTrend,
  type Trend,
  type TrendAggregate,
  type TrendBucket,
  type TrendInput,
} from '../src/insights/trends';
import { ErrorInterface } from './common';
import { DatasetRef, DatasetVersionRef } from './datasets';
import { DatasetInsightsRef } from './insights';
import { TimeBucketEnum } from './queries';

builder.objectType(ColumnNotReadableError, {
  name: 'ColumnNotReadableError',
  description:
    'A column the request needs is shown to you masked: nothing derived from it is computed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ColumnNotReadableError,
  fields: (t) => ({
    column: t.exposeString('column', { description: 'The column refused.' }),
    rule: t.exposeString('rule', { description: 'How you see it (MASK, HASH, PARTIAL, …).' }),
  }),
});

/** Errors every insight field of this family can answer with. */
export const insightErrors = {
  types: [InputError, NotFoundError, ColumnNotReadableError],
  directResult: true as const,
};

export const InsufficientDataRef = builder.objectRef<InsufficientData>('InsufficientData');
InsufficientDataRef.implement({
  description:
    'Too little data for a claim: no line, test or pattern is reported, only how many points there were and how many it needs.',
  fields: (t) => ({
    claim: t.exposeString('claim', {
      description:
        'What could not be claimed: LINEAR_TREND, MANN_KENDALL, WEEKLY, YEARLY or CHANGEPOINTS.',
    }),
    points: t.exposeInt('points', { description: 'Points available.' }),
    minimumPoints: t.exposeInt('minimumPoints', { description: 'Points the claim needs.' }),
    reason: t.exposeString('reason', { description: 'Why, in a sentence.' }),
  }),
});

const TrendAggregateEnum = builder.enumType('TrendAggregate', {
  description: 'How the rows of a bucket become one value.',
  values: {
    SUM: { description: 'Sum (an empty bucket is 0).' },
    AVG: { description: 'Mean (an empty bucket has no value).' },
    COUNT: { description: 'Rows (no measure needed; an empty bucket is 0).' },
    MEDIAN: { description: 'Median.' },
    MIN: { description: 'Smallest value.' },
    MAX: { description: 'Largest value.' },
  } as const satisfies Record<TrendAggregate, { description: string }>,
});

const TrendInputRef = builder.inputRef<Omit<TrendInput, 'datasetId' | 'version'>>('TrendInput');
TrendInputRef.implement({
  description: 'A time column, a measure and how to bucket it.',
  fields: (t) => ({
    timeColumn: t.string({ required: true, description: 'A DATE or TIMESTAMP column.' }),
    measure: t.string({ description: 'A numeric column (absent for COUNT).' }),
    aggregate: t.field({
      type: TrendAggregateEnum,
      required: true,
      defaultValue: 'SUM',
      description: 'Aggregate per bucket.',
    }),
    bucket: t.field({
      type: TimeBucketEnum,
      required: true,
      defaultValue: 'DAY',
      description: 'Bucket size.',
    }),
    timeZone: t.string({
      description: 'IANA time zone whose calendar TIMESTAMP columns are bucketed in (default UTC).',
    }),
  }),
});

const TrendBucketRef = builder.objectRef<TrendBucket>('TrendBucket').implement({
  description: 'One bucket of a series.',
  fields: (t) => ({
    start: t.exposeString('start', {
      description:
        'Start: a date, or for TIMESTAMP columns the instant (ISO, UTC); for an empty bucket filled in, its first local day.',
    }),
    label: t.exposeString('label', { description: 'First local day of the bucket.' }),
    index: t.exposeInt('index', { description: 'Position from the first bucket.' }),
    value: t.float({
      nullable: true,
      description: 'Value; null for an empty bucket of AVG, MEDIAN, MIN or MAX.',
      resolve: (b) => b.value,
    }),
  }),
});

const LinearTrendRef = builder.objectRef<LinearTrend>('LinearTrend').implement({
  description: 'Least-squares line over bucket positions, with the t-test of its slope.',
  fields: (t) => ({
    points: t.exposeInt('points', { description: 'Points fitted.' }),
    slope: t.exposeFloat('slope', { description: 'Change per bucket.' }),
    intercept: t.exposeFloat('intercept', { description: 'Value at the first bucket.' }),
    standardError: t.exposeFloat('standardError', { description: 'Standard error of the slope.' }),
    lower: t.exposeFloat('lower', { description: 'Lower end of the 95% interval of the slope.' }),
    upper: t.exposeFloat('upper', { description: 'Upper end of the 95% interval of the slope.' }),
    tStatistic: t.float({
      nullable: true,
      description: 'slope / standardError (null when infinite: a perfect line).',
      resolve: (l) => (Number.isFinite(l.tStatistic) ? l.tStatistic : null),
    }),
    degreesOfFreedom: t.exposeInt('degreesOfFreedom', { description: 'n − 2.' }),
    pValue: t.exposeFloat('pValue', { description: 'Two-sided p-value of slope = 0.' }),
    rSquared: t.exposeFloat('rSquared', { description: 'Share of variance explained.' }),
  }),
});

const RobustTrendRef = builder.objectRef<RobustTrend>('RobustTrend').implement({
  description: 'Theil–Sen slope and the Mann–Kendall test of a monotonic trend.',
  fields: (t) => ({
    points: t.exposeInt('points', { description: 'Points used.' }),
    theilSenSlope: t.exposeFloat('theilSenSlope', {
      description: 'Median of pairwise slopes, per bucket.',
    }),
    theilSenIntercept: t.exposeFloat('theilSenIntercept', {
      description: 'Median of value − slope · position.',
    }),
    s: t.exposeInt('s', { description: 'Mann–Kendall S.' }),
    variance: t.exposeFloat('variance', { description: 'Var(S), corrected for ties.' }),
    z: t.exposeFloat('z', { description: 'Continuity-corrected z.' }),
    pValue: t.exposeFloat('pValue', { description: 'Two-sided p-value.' }),
    tau: t.exposeFloat('tau', { description: "Kendall's tau." }),
  }),
});

const SeasonalityRef = builder.objectRef<SeasonalityFound>('Seasonality').implement({
  description: 'Autocorrelation of the detrended series at a seasonal lag.',
  fields: (t) => ({
    period: t.exposeString('period', { description: 'WEEKLY or YEARLY.' }),
    lag: t.exposeInt('lag', { description: 'Lag in buckets.' }),
    autocorrelation: t.exposeFloat('autocorrelation', { description: 'r at the lag.' }),
    bound: t.exposeFloat('bound', {
      description: '95% bound of a series without autocorrelation: 1.96 / √n.',
    }),
    halfLagAutocorrelation: t.exposeFloat('halfLagAutocorrelation', {
      description: 'r at half the lag: a cycle dips there, a persistent series does not.',
    }),
    detected: t.exposeBoolean('detected', {
      description: 'r above the bound, and above r at half the lag by more than the bound.',
    }),
    profile: t.floatList({
      nullable: true,
      description: 'Mean detrended deviation per phase (periods of at most 12 buckets).',
      resolve: (s) => s.profile,
    }),
    points: t.exposeInt('points', { description: 'Points used.' }),
  }),
});

const SegmentRef = builder.objectRef<Segment & { label: string; endLabel: string }>('MeanSegment');
SegmentRef.implement({
  description: 'A stretch of the series with one mean.',
  fields: (t) => ({
    start: t.exposeString('label', { description: 'Label of its first bucket.' }),
    end: t.exposeString('endLabel', { description: 'Label of its last bucket.' }),
    mean: t.exposeFloat('mean', { description: 'Mean value.' }),
  }),
});

type ChangepointsOut = Changepoints & { labels: string[]; pointLabels: string[] };
const ChangepointsRef = builder.objectRef<ChangepointsOut>('Changepoints').implement({
  description: 'Changes in mean found by PELT with a BIC penalty.',
  fields: (t) => ({
    starts: t.stringList({
      description: 'Labels of the buckets where a new mean starts.',
      resolve: (c) => c.labels,
    }),
    segments: t.field({
      type: [SegmentRef],
      description: 'The stretches between changepoints.',
      resolve: (c) =>
        c.segments.map((s) => ({
          ...s,
          label: c.pointLabels[s.start]!,
          endLabel: c.pointLabels[s.end]!,
        })),
    }),
    sigma: t.exposeFloat('sigma', { description: 'Noise scale used (robust, from differences).' }),
    penalty: t.exposeFloat('penalty', { description: 'Penalty per changepoint (2 ln n).' }),
    points: t.exposeInt('points', { description: 'Points used.' }),
  }),
});

const PeriodChangeRef = builder.objectRef<PeriodChange>('PeriodChange').implement({
  description: 'The last bucket against the one before.',
  fields: (t) => ({
    current: t.exposeFloat('current', { description: 'Last bucket.' }),
    previous: t.exposeFloat('previous', { description: 'The bucket before.' }),
    change: t.exposeFloat('change', { description: 'current − previous.' }),
    relativeChange: t.float({
      nullable: true,
      description: 'change / |previous| (null when previous is 0).',
      resolve: (p) => p.relativeChange,
    }),
  }),
});

type Verdict = { kind: string };
const byKind =
  (refs: Record<string, unknown>) =>
  (value: Verdict): never =>
    refs[value.kind] as never;

const LinearResult = builder.unionType('LinearTrendResult', {
  description: 'A fitted line, or why there is none.',
  types: [LinearTrendRef, InsufficientDataRef],
  resolveType: byKind({ LINEAR_TREND: LinearTrendRef, INSUFFICIENT_DATA: InsufficientDataRef }),
});
const RobustResult = builder.unionType('RobustTrendResult', {
  description: 'A robust trend, or why there is none.',
  types: [RobustTrendRef, InsufficientDataRef],
  resolveType: byKind({ ROBUST_TREND: RobustTrendRef, INSUFFICIENT_DATA: InsufficientDataRef }),
});
const SeasonalityResult = builder.unionType('SeasonalityResult', {
  description: 'A seasonality check, or why it could not run.',
  types: [SeasonalityRef, InsufficientDataRef],
  resolveType: byKind({ SEASONALITY: SeasonalityRef, INSUFFICIENT_DATA: InsufficientDataRef }),
});
const ChangepointsResult = builder.unionType('ChangepointsResult', {
  description: 'Changepoints, or why they could not be looked for.',
  types: [ChangepointsRef, InsufficientDataRef],
  resolveType: byKind({ CHANGEPOINTS: ChangepointsRef, INSUFFICIENT_DATA: InsufficientDataRef }),
});

const TrendRef = builder.objectRef<Trend>('Trend').implement({
  description:
    'A measure over time, bucketed in SQL through the access gate (your rows only), with its trend, seasonality and changepoints. Every claim needs enough points; too few give InsufficientData.',
  fields: (t) => ({
    dataset: t.field({ type: DatasetRef, description: 'Dataset.', resolve: (r) => r.datasetId }),
    version: t.field({
      type: DatasetVersionRef,
      description: 'Version read.',
      resolve: (r) => r.versionId,
    }),
    timeColumn: t.exposeString('timeColumn', { description: 'Time column.' }),
    measure: t.exposeString('measure', { nullable: true, description: 'Measure column.' }),
    aggregate: t.field({
      type: TrendAggregateEnum,
      description: 'Aggregate per bucket.',
      resolve: (r) => r.aggregate,
    }),
    bucket: t.field({
      type: TimeBucketEnum,
      description: 'Bucket size.',
      resolve: (r) => r.bucket as TimeBucket,
    }),
    timeZone: t.exposeString('timeZone', { description: 'Time zone of the buckets.' }),
    series: t.field({
      type: [TrendBucketRef],
      description: 'Every bucket from the first to the last, empty ones included.',
      resolve: (r) => r.series,
    }),
    linear: t.field({
      type: LinearResult,
      description: 'Least squares.',
      resolve: (r) => r.linear,
    }),
    robust: t.field({
      type: RobustResult,
      description: 'Theil–Sen and Mann–Kendall.',
      resolve: (r) => r.robust,
    }),
    periodOverPeriod: t.field({
      type: PeriodChangeRef,
      nullable: true,
      description: 'Last bucket against the one before (null with fewer than 2 values).',
      resolve: (r) => r.periodOverPeriod,
    }),
    seasonality: t.field({
      type: [SeasonalityResult],
      description: 'Each seasonal period the bucket size allows.',
      resolve: (r) => r.seasonality,
    }),
    changepoints: t.field({
      type: ChangepointsResult,
      description: 'Changes in mean.',
      resolve: (r) => {
        if (r.changepoints.kind !== 'CHANGEPOINTS') return r.changepoints;
        const pointLabels = r.series.filter((b) => b.value !== null).map((b) => b.label);
        return { ...r.changepoints, labels: r.changepointLabels, pointLabels };
      },
    }),
  }),
});

builder.queryFields((t) => ({
  trend: t.withAuth({ authenticated: true }).field({
    type: TrendRef,
    description:
      'A measure over time in a version of a dataset (default: the newest), as you may read it: trend, seasonality, changepoints.',
    errors: insightErrors,
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      version: t.arg.int({ description: 'Version number (default: the newest).' }),
      input: t.arg({ type: TrendInputRef, required: true }),
    },
    resolve: (_root, args, ctx) =>
      datasetTrend(ctx, { ...args.input, datasetId: args.datasetId.id, version: args.version }),
  }),
}));

builder.objectFields(DatasetInsightsRef, (t) => ({
  trend: t.withAuth({ authenticated: true }).field({
    type: TrendRef,
    description: 'A measure of this version over time (see Query.trend).',
    errors: insightErrors,
    args: { input: t.arg({ type: TrendInputRef, required: true }) },
    resolve: (source, args, ctx) =>
      datasetTrend(ctx, {
        ...args.input,
        datasetId: source.datasetId,
        version: source.version,
      }),
  }),
}));
