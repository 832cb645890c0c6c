import { and, eq, inArray, sql } from 'drizzle-orm';
import { type InsightsRun, insightsRuns } from '../../db/schema/insights';
import { unrepeatable } from '../access/effects';
import { type Gate, openGate } from '../access/gate';
import type { AuthedContext } from '../context';
import { ForbiddenError } from '../errors';
import { runsOf } from '../jobs/runs';
import { type Anomalies, findAnomalies } from './anomalies';
import { readCache, visibilityFingerprint, writeCache } from './cache';
import { type Correlations, correlate } from './correlations';
import type { InsightsSource } from './source';
import { type Summary, summarize } from './summary';

export const INSIGHTS_JOB = 'insights.compute';

/** Everything computed for one version and visibility, as cached. */
export interface ComputedInsights {
  rows: number;
  summary: Summary;
  correlations: Correlations;
  anomalies: Anomalies;
  computedAt: string;
}

export type InsightsStatus = 'READY' | 'COMPUTING' | 'FAILED';

export interface InsightsState {
  status: InsightsStatus;
  insights: ComputedInsights | null;
  run: InsightsRun | null;
  fingerprint: string;
  gate: Gate;
}

export const insightsRunKind = runsOf<InsightsRun>({
  noun: 'insights computation',
  table: insightsRuns,
  publish: () => {},
});

/** The steps of a computation, for progress. */
export const STEPS = ['summary', 'correlations', 'anomalies'] as const;

/**
 * Computes the insights of the gate's version as its viewer: summary, correlations, anomalies,
 * every read through the gate. `progress` hears each step as it starts.
 */
export async function computeInsights(
  ctx: AuthedContext,
  gate: Gate,
  progress: (step: number, phase: string) => Promise<void> = async () => {},
): Promise<ComputedInsights> {
  if (gate.access.mode !== 'ROWS')
    throw new ForbiddenError('Insights need row access: this dataset is aggregate-only for you.');
  await progress(0, STEPS[0]);
  const summary = await summarize(ctx, gate);
  await progress(1, STEPS[1]);
  const correlations = await correlate(ctx, gate, summary);
  await progress(2, STEPS[2]);
  const anomalies = await findAnomalies(ctx, gate, summary);
  return {
    rows: summary.rows,
    summary,
    correlations,
    anomalies,
    computedAt: new Date().toISOString(),
  };
}

const loaded = new WeakMap<InsightsSource, Promise<InsightsState>>();

/**
 * The insights of a source for its viewer: from the cache when this version was computed for
 * the same visibility, computed now for a small version, or queued as a job for a large one (the
 * state then says COMPUTING with the run's progress). Once per source object per request.
 */
export function insightsOf(ctx: AuthedContext, source: InsightsSource): Promise<InsightsState> {
  let state = loaded.get(source);
  if (!state) {
    state = load(ctx, source).then((loadedState) => {
      // Unfinished (or failed) insights are answered afresh next time, never replayed.
      if (loadedState.status !== 'READY') unrepeatable(ctx);
      return loadedState;
    });
    loaded.set(source, state);
  }
  return state;
}

async function load(ctx: AuthedContext, source: InsightsSource): Promise<InsightsState> {
  const gate =
    source.gate ??
    (await openGate(ctx, { datasetId: source.datasetId, versionId: source.versionId }));
  if (gate.access.mode !== 'ROWS')
    throw new ForbiddenError('Insights need row access: this dataset is aggregate-only for you.');
  const fingerprint = visibilityFingerprint(ctx, gate);
  const cached = await readCache<ComputedInsights>(ctx, gate.version.id, fingerprint);
  if (cached) return { status: 'READY', insights: cached, run: null, fingerprint, gate };
  if (gate.version.rowCount <= ctx.config.insightsJobRows) {
    const insights = await computeInsights(ctx, gate);
    await writeCache(ctx, gate.version.id, fingerprint, insights);
    return { status: 'READY', insights, run: null, fingerprint, gate };
  }
  const run = await queueRun(ctx, gate, fingerprint);
  return {
    status: run.status === 'FAILED' || run.status === 'CANCELLED' ? 'FAILED' : 'COMPUTING',
    insights: null,
    run,
    fingerprint,
    gate,
  };
}

/**
 * The run computing this version for this visibility: the existing one, a new one queued, or a
 * failed or cancelled one queued again (as this requester, its error and progress cleared). One
 * statement decides, so of two requests at once only one queues it and sends its job.
 */
async function queueRun(ctx: AuthedContext, gate: Gate, fingerprint: string): Promise<InsightsRun> {
  const requester = { membershipId: ctx.viewer.membershipId, apiKeyId: ctx.viewer.apiKeyId };
  const [queued] = await ctx.db
    .insert(insightsRuns)
    .values({
      datasetId: gate.dataset.id,
      versionId: gate.version.id,
      fingerprint,
      ...requester,
      totalSteps: STEPS.length,
    })
    .onConflictDoUpdate({
      target: [insightsRuns.versionId, insightsRuns.fingerprint],
      set: {
        ...requester,
        status: 'QUEUED',
        error: null,
        step: 0,
        totalSteps: STEPS.length,
        phase: null,
        cancelRequested: false,
        worker: null,
        queuedAt: sql`now()`,
        startedAt: null,
        finishedAt: null,
        heartbeatAt: null,
      },
      setWhere: inArray(insightsRuns.status, ['FAILED', 'CANCELLED']),
    })
    .returning();
  if (queued) {
    await ctx.jobs.send(INSIGHTS_JOB, { runId: queued.id });
    return queued;
  }
  const [existing] = await ctx.db
    .select()
    .from(insightsRuns)
    .where(
      and(eq(insightsRuns.versionId, gate.version.id), eq(insightsRuns.fingerprint, fingerprint)),
    );
  return existing!;
}

/** The key of a part computed on demand (the narrative) beside the insights it describes. */
export function partKey(fingerprint: string, part: string): string {
  return `${fingerprint}:${part}`;
}
