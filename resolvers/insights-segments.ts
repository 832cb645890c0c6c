/** Query.segments · DatasetInsights.segments */
import { builder } from '../schema/builder';
import {
  type Distinction,
  datasetSegments,
  type SegmentSummary,
  type Segments,
} from '../src/insights/segments';
import { DatasetRef, DatasetVersionRef } from './datasets';
import { DatasetInsightsRef } from './insights';
import { insightErrors } from './insights-trends';

const DistinctionRef = builder.objectRef<Distinction>('SegmentDistinction').implement({
  description: 'A feature on which a segment stands out from the whole.',
  fields: (t) => ({
    feature: t.exposeString('feature', { description: 'Feature column.' }),
    deviation: t.exposeFloat('deviation', {
      description: 'Segment mean − overall mean, in standard deviations.',
    }),
    direction: t.exposeString('direction', { description: 'HIGHER or LOWER.' }),
  }),
});

const SegmentSummaryRef = builder.objectRef<SegmentSummary>('Segment').implement({
  description: 'One k-means segment.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Position, largest segment first.' }),
    size: t.exposeInt('size', { description: 'Rows of the sample in it.' }),
    share: t.exposeFloat('share', { description: 'size / sample size.' }),
    centroid: t.floatList({
      description: 'Centroid in the features’ own units, in the order of `features`.',
      resolve: (s) => s.centroid,
    }),
    standardized: t.floatList({
      description: 'Centroid in standard deviations from the overall mean.',
      resolve: (s) => s.standardized,
    }),
    distinguishing: t.field({
      type: [DistinctionRef],
      description: 'Features furthest from the mean (|deviation| ≥ 0.5, at most 3).',
      resolve: (s) => s.distinguishing,
    }),
    description: t.exposeString('description', { description: 'The distinctions in words.' }),
  }),
});

const KCandidateRef = builder
  .objectRef<{ k: number; silhouette: number }>('SegmentCountCandidate')
  .implement({
    description: 'A k tried, with its mean silhouette.',
    fields: (t) => ({
      k: t.exposeInt('k', { description: 'Segments.' }),
      silhouette: t.exposeFloat('silhouette', { description: 'Mean silhouette (−1 to 1).' }),
    }),
  });

const SegmentsRef = builder.objectRef<Segments>('Segments').implement({
  description:
    'k-means segments of the rows you may read (k-means++ seeding, seeded, standardized features), sampled in SQL through the access gate for large tables.',
  fields: (t) => ({
    dataset: t.field({ type: DatasetRef, description: 'Dataset.', resolve: (s) => s.datasetId }),
    version: t.field({
      type: DatasetVersionRef,
      description: 'Version read.',
      resolve: (s) => s.versionId,
    }),
    features: t.stringList({ description: 'Feature columns.', resolve: (s) => s.features }),
    k: t.exposeInt('k', { description: 'Segments found.' }),
    chosenBySilhouette: t.exposeBoolean('chosenBySilhouette', {
      description: 'k was chosen by the best silhouette (none was given).',
    }),
    silhouette: t.float({
      nullable: true,
      description: 'Mean silhouette of the result (null for k = 1).',
      resolve: (s) => s.silhouette,
    }),
    candidates: t.field({
      type: [KCandidateRef],
      description: 'Each k tried when choosing.',
      resolve: (s) => s.candidates,
    }),
    rowsVisible: t.exposeInt('rowsVisible', {
      description: 'Your rows with every feature present.',
    }),
    sampleSize: t.exposeInt('sampleSize', { description: 'Rows clustered.' }),
    sampled: t.exposeBoolean('sampled', { description: 'A random sample was read.' }),
    seed: t.exposeInt('seed', { description: 'Seed of the sample and the clustering.' }),
    means: t.floatList({ description: 'Mean of each feature.', resolve: (s) => s.means }),
    standardDeviations: t.floatList({
      description: 'Sample standard deviation of each feature.',
      resolve: (s) => s.standardDeviations,
    }),
    segments: t.field({
      type: [SegmentSummaryRef],
      description: 'Segments, largest first.',
      resolve: (s) => s.segments,
    }),
  }),
});

builder.queryFields((t) => ({
  segments: t.withAuth({ authenticated: true }).field({
    type: SegmentsRef,
    description:
      'Segments of a dataset by k-means on numeric features you read in clear (k by silhouette when absent).',
    errors: insightErrors,
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      version: t.arg.int({ description: 'Version number (default: the newest).' }),
      features: t.arg.stringList({ required: true, description: 'Numeric columns.' }),
      k: t.arg.int({ description: 'Segments (1–20); absent: chosen by silhouette from 2–8.' }),
      seed: t.arg.int({ description: 'Seed (default 42).' }),
    },
    resolve: (_root, args, ctx) =>
      datasetSegments(ctx, {
        datasetId: args.datasetId.id,
        version: args.version,
        features: args.features,
        k: args.k,
        seed: args.seed,
      }),
  }),
}));

builder.objectFields(DatasetInsightsRef, (t) => ({
  segments: t.withAuth({ authenticated: true }).field({
    type: SegmentsRef,
    description: 'Segments of this version (see Query.segments).',
    errors: insightErrors,
    args: {
      features: t.arg.stringList({ required: true, description: 'Numeric columns.' }),
      k: t.arg.int({ description: 'Segments (1–20); absent: chosen by silhouette.' }),
      seed: t.arg.int({ description: 'Seed (default 42).' }),
    },
    resolve: (source, args, ctx) =>
      datasetSegments(ctx, {
        datasetId: source.datasetId,
        version: source.version,
        features: args.features,
        k: args.k,
        seed: args.seed,
      }),
  }),
}));
