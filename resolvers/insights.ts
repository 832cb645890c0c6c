/** Query.datasetInsights · Query.compareDatasets */
import { builder } from '../schema/builder';
import { type InsightsSource, insightsSource } from '../src/insights/source';
import { DatasetRef, DatasetVersionRef } from './datasets';

/**
 * Insights of one version as the viewer may read it. Other insight resolver files add their
 * fields to it with `builder.objectFields(DatasetInsightsRef, …)`.
 */
export const DatasetInsightsRef = builder.objectRef<InsightsSource>('DatasetInsights');
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
}));
