import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import {
  type ModelVersion,
  modelAliases,
  modelVersions,
  type PromotionOutcome,
  type RunTrigger,
  type TrainingRun,
} from '../../db/schema/models';
import type { BackendPreference } from './backend';
import { writeAlias } from './registry';
import type { ModelArtifact, TrainConfig, TrainingData } from './types';

/** The alias a retrained version takes while it waits to be promoted (or not). */
export const CHALLENGER_ALIAS = 'challenger';

/**
 * Whether a retrained version replaces the served one: only when its held-out metric (higher is
 * better) beats the served version's on the same rows by at least `margin`. Without a served
 * version or a comparable metric, a person decides.
 */
export function decidePromotion(input: {
  alias: string;
  metric: string;
  challenger: number | null;
  champion: number | null;
  championVersion: number | null;
  challengerVersion: number;
  margin: number;
}): Pick<PromotionOutcome, 'promoted' | 'reason'> {
  const { alias, metric, challenger, champion, margin } = input;
  const v = `v${input.challengerVersion}`;
  if (input.championVersion === null)
    return {
      promoted: false,
      reason: `${v} waits for a person: no version holds "${alias}" to compare with.`,
    };
  const served = `v${input.championVersion}`;
  if (challenger === null || champion === null || !Number.isFinite(challenger - champion))
    return {
      promoted: false,
      reason: `${v} waits for a person: ${metric} of ${v} and ${served} could not both be measured on the held-out rows.`,
    };
  const gain = challenger - champion;
  const figures = `${metric} ${fmt(challenger)} vs ${fmt(champion)} of ${served} on the same held-out rows`;
  if (gain >= margin)
    return {
      promoted: true,
      reason: `${v} beat ${served}: ${figures}, a gain of ${fmt(gain)} ≥ margin ${fmt(margin)}.`,
    };
  return {
    promoted: false,
    reason: `${v} waits for a person: ${figures}, a gain of ${fmt(gain)} < margin ${fmt(margin)}.`,
  };
}

function fmt(x: number): string {
  return Number(x.toFixed(4)).toString();
}

/** Both versions' deciding metric on the held-out rows of the new data. */
export interface RetrainScores {
  metric: string;
  challenger: number | null;
  champion: number | null;
  championVersion: { id: string; number: number } | null;
}

/**
 * Scores a version retrained on drift and the version serving under the monitor's alias on the
 * rows the seeded training split held out from the new data. Runs before the run is finished, so
 * the outcome is written with it.
 */
export async function scoreRetrained(
  db: Db,
  run: TrainingRun,
  trigger: RunTrigger,
  artifact: ModelArtifact,
  data: TrainingData,
  backend: BackendPreference,
): Promise<RetrainScores> {
  // TensorFlow.js loads in the process that settles a retrained run, not in every API process.
  const [{ initBackend }, { heldOutMetrics }] = await Promise.all([
    import('./backend'),
    import('./train'),
  ]);
  await initBackend(backend);
  const config = { ...(run.config as Omit<TrainConfig, 'seed'>), seed: run.seed } as TrainConfig;
  const [held] = await db
    .select({ version: modelVersions })
    .from(modelAliases)
    .innerJoin(modelVersions, eq(modelVersions.id, modelAliases.versionId))
    .where(
      and(eq(modelAliases.modelId, run.modelId), eq(modelAliases.alias, trigger.promotionAlias)),
    );
  const champion = held?.version ?? null;
  const mine = await heldOutMetrics(artifact, data, config);
  let theirs: number | null = null;
  if (champion) {
    try {
      theirs = (await heldOutMetrics(champion.artifact as ModelArtifact, data, config)).value;
    } catch {
      // The served version cannot read the new data (a feature it needs changed type): a person
      // decides.
      theirs = null;
    }
  }
  return {
    metric: mine.decisive,
    challenger: mine.value,
    champion: theirs,
    championVersion: champion ? { id: champion.id, number: champion.number } : null,
  };
}

/**
 * Settles a version retrained on drift, inside the transaction that stores it: it takes the
 * `challenger` alias and replaces the served version only past the margin, each alias change
 * with its reason in the history. Returns the outcome to store on the run.
 */
export async function settleRetrained(
  tx: Db,
  run: TrainingRun,
  trigger: RunTrigger,
  version: ModelVersion,
  scores: RetrainScores,
): Promise<PromotionOutcome> {
  const decision = decidePromotion({
    alias: trigger.promotionAlias,
    metric: scores.metric,
    challenger: scores.challenger,
    champion: scores.champion,
    championVersion: scores.championVersion?.number ?? null,
    challengerVersion: version.number,
    margin: trigger.promotionMargin,
  });
  await writeAlias(tx, {
    modelId: run.modelId,
    alias: CHALLENGER_ALIAS,
    versionId: version.id,
    changedBy: null,
    reason: `Retrained on drift (report ${trigger.reportId}). ${decision.reason}`,
  });
  if (decision.promoted)
    await writeAlias(tx, {
      modelId: run.modelId,
      alias: trigger.promotionAlias,
      versionId: version.id,
      changedBy: null,
      reason: `Promoted automatically: ${decision.reason}`,
    });
  return {
    ...decision,
    alias: trigger.promotionAlias,
    metric: scores.metric,
    challenger: scores.challenger,
    champion: scores.champion,
    championVersionId: scores.championVersion?.id ?? null,
    margin: trigger.promotionMargin,
  };
}
