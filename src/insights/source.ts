import { type Gate, openGate } from '../access/gate';
import type { AuthedContext } from '../context';

/**
 * What `DatasetInsights` resolves from: one version of one dataset, opened through the access
 * gate as the viewer. Every insight field (summary, correlations, anomalies, trends, segments,
 * KPIs, narrative) reads from here and opens its own gated reads.
 */
export interface InsightsSource {
  datasetId: string;
  versionId: string;
  version: number;
  /** The gate opened for this request's viewer, reused by the fields that read through it. */
  gate?: Gate;
}

/** Opens the version for the viewer (not found for another org or a key no policy names). */
export async function insightsSource(
  ctx: AuthedContext,
  input: { datasetId: string; version?: number | null },
): Promise<InsightsSource> {
  const gate = await openGate(ctx, { datasetId: input.datasetId, version: input.version ?? null });
  return {
    datasetId: gate.dataset.id,
    versionId: gate.version.id,
    version: gate.version.number,
    gate,
  };
}
