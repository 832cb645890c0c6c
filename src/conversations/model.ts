import { createHash } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import {
  type ClassifierRef,
  type ConversationClassifiers,
  conversationMessages,
  conversations,
  type TopicScore,
} from '../../db/schema/conversations';
import { datasets } from '../../db/schema/datasets';
import { type ModelVersion, modelAliases, models, modelVersions } from '../../db/schema/models';
import {
  conversationAccess,
  conversationVisibleTo,
  recordConversationRead,
} from '../access/conversations';
import { datasetVisibleTo } from '../access/visibility';
import type { AuthedContext } from '../context';
import { writeVersion } from '../datasets/writer';
import { ConflictError, InputError, NotFoundError } from '../errors';
import type { BackendPreference } from '../models/backend';
import { predictRows, readyVersion } from '../models/cache';
import { assertOutputsVisible, findModel, trainModel } from '../models/registry';
import type { Algorithm, Hyperparameters } from '../models/types';
import type { CategorizerAnswer } from './categorizer';
import { customerText } from './llm';
import type { ConversationRecord } from './records';

/** What an organization can train a classifier of its conversations for. */
export const CLASSIFIER_LABELS = ['TOPIC', 'INTENT'] as const;
export type ClassifierLabel = (typeof CLASSIFIER_LABELS)[number];

/** The training set's feature: the customer's messages, redacted, one per line (`customerText`). */
export const CLASSIFIER_FEATURE = 'text';
/** The tag of the datasets `trainConversationClassifier` writes. */
const LABELS_TAG = 'conversation-labels';
/** The class of conversations labelled with no topic (or no intent). */
export const NO_LABEL = '(none)';
/** Fewest labelled conversations a classifier is trained on. */
const MIN_LABELLED = 20;
/** Smallest probability a topic other than the best needs to be reported; at most 3 are. */
const MIN_TOPIC_PROBABILITY = 0.2;
const MAX_TOPICS = 3;

const column = (label: ClassifierLabel) => (label === 'TOPIC' ? 'topic' : 'intent');

/**
 * A conversation's label for `label`, from `metadata.labels.topic` / `.intent` of its record:
 * a string, null when labelled as having none, undefined when not labelled.
 */
export function labelOf(
  metadata: Record<string, unknown> | null | undefined,
  label: ClassifierLabel,
): string | null | undefined {
  const labels = metadata?.labels;
  if (!labels || typeof labels !== 'object' || Array.isArray(labels)) return undefined;
  const value = (labels as Record<string, unknown>)[column(label)];
  if (value === null) return null;
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

export interface TrainClassifierInput {
  label: ClassifierLabel;
  /** The model's name; default `conversation-topic` / `conversation-intent`. */
  name?: string | null;
  algorithm?: Algorithm | null;
  hyperparameters?: Hyperparameters | null;
  trials?: number | null;
  validationSplit?: number | null;
  seed?: number | null;
}

/**
 * Trains the organization's topic or intent classifier on its labelled conversations (those whose
 * `metadata.labels` carries the label, `null` meaning none), as the caller reads them through the
 * conversation gate and always redacted: the rows become a new version of the dataset
 * `conversation-topic-labels` (or `-intent-`), its text column SECRET, and the model
 * (`features: [text]` read as hashed text, target `topic` or `intent`) is trained on it as any
 * model is — worker process, backend choice, live progress, registry. A model of that name is
 * retrained. Audited as a conversation read.
 */
export async function trainConversationClassifier(
  ctx: AuthedContext,
  input: TrainClassifierInput,
  send: (runId: string) => Promise<void>,
) {
  const target = column(input.label);
  const name = (input.name ?? `conversation-${target}`).trim();
  if (!name) throw new InputError('A model name cannot be empty.', 'name');
  const access = await conversationAccess(ctx);
  if (!access) throw new NotFoundError('Conversations');
  const labelled = await ctx.db
    .select({
      label: sql<string | null>`${conversations.metadata} -> 'labels' ->> ${target}`,
      // Qualified by hand: in a select list drizzle names a column without its table.
      text: sql<
        string | null
      >`(select string_agg(m.masked_text, E'\\n' order by m.position) from ${conversationMessages} m where m.conversation_id = "conversations"."id" and m.role = 'USER')`,
    })
    .from(conversations)
    .where(
      and(
        conversationVisibleTo(ctx.viewer, access),
        sql`jsonb_typeof(${conversations.metadata} -> 'labels' -> ${target}) in ('string', 'null')`,
      ),
    )
    .orderBy(conversations.id);
  await recordConversationRead(ctx, {
    action: 'conversations.train',
    access,
    filter: { label: input.label },
    rowCount: labelled.length,
  });
  // As `labelOf`: a blank label is no label; null is the "(none)" class.
  const rows = labelled
    .filter((r) => r.text && (r.label === null || r.label.trim() !== ''))
    .map((r) => [r.text!, r.label?.trim() ?? NO_LABEL] as const);
  if (rows.length < MIN_LABELLED)
    throw new InputError(
      `Training a ${target} classifier needs at least ${MIN_LABELLED} conversations labelled with metadata.labels.${target} that you can read; found ${rows.length}.`,
      'label',
    );
  if (new Set(rows.map((r) => r[1])).size < 2)
    throw new InputError(
      `The labelled conversations all have the same ${target}: a classifier needs at least two.`,
      'label',
    );

  const datasetName = `conversation-${target}-labels`;
  const [existing] = await ctx.db
    .select({ id: datasets.id, tags: datasets.tags })
    .from(datasets)
    .where(and(eq(datasets.name, datasetName), datasetVisibleTo(ctx.viewer)));
  // Only a dataset this function made gets new versions: never one a person named the same.
  if (existing && !existing.tags.includes(LABELS_TAG))
    throw new ConflictError(
      `A dataset named "${datasetName}" exists and does not hold labelled conversations: rename it to train a ${target} classifier.`,
    );
  const [model] = await ctx.db
    .select()
    .from(models)
    .where(and(eq(models.orgId, ctx.viewer.orgId), eq(models.name, name)));
  if (model && (model.datasetId !== existing?.id || model.target !== target))
    throw new ConflictError(
      `A model named "${name}" exists and is not a ${target} classifier of conversations.`,
    );
  const hash = createHash('sha256');
  for (const [text, label] of rows) hash.update(`${text}\u0000${label}\u0000`);
  const version = await writeVersion(
    ctx,
    {
      target: existing
        ? { datasetId: existing.id }
        : {
            newDataset: {
              name: datasetName,
              description: `Labelled conversations (customer text, redacted) to train the ${target} classifier on.`,
              tags: [LABELS_TAG],
            },
          },
    },
    async (sink) => {
      await sink.create([
        { name: CLASSIFIER_FEATURE, type: 'STRING' },
        { name: target, type: 'CATEGORY' },
      ]);
      await sink.writeRows(rows);
      return {
        rowCount: rows.length,
        checksum: hash.digest('hex'),
        source: `Labelled conversations (${target})`,
        // Conversation text: only ADMIN and up read it, as they read conversations in clear.
        columns: [{ sensitivity: 'SECRET' }, { sensitivity: 'NONE' }],
      };
    },
  );
  return trainModel(
    ctx,
    model
      ? {
          modelId: model.id,
          datasetVersion: version.number,
          algorithm: input.algorithm ?? 'LOGISTIC_REGRESSION',
          hyperparameters: input.hyperparameters,
          trials: input.trials,
          validationSplit: input.validationSplit,
          seed: input.seed,
        }
      : {
          name,
          datasetId: version.datasetId,
          datasetVersion: version.number,
          target,
          features: [CLASSIFIER_FEATURE],
          textFeatures: [CLASSIFIER_FEATURE],
          task: 'CLASSIFICATION',
          algorithm: input.algorithm ?? 'LOGISTIC_REGRESSION',
          hyperparameters: input.hyperparameters,
          trials: input.trials,
          validationSplit: input.validationSplit,
          seed: input.seed,
        },
    send,
  );
}

/** The version a classifier reference names now: its alias's, or the model's newest. */
async function versionOf(db: Db, ref: ClassifierRef): Promise<ModelVersion | null> {
  let versionId: string | undefined;
  if (ref.alias) {
    const [row] = await db
      .select({ id: modelAliases.versionId })
      .from(modelAliases)
      .where(and(eq(modelAliases.modelId, ref.modelId), eq(modelAliases.alias, ref.alias)));
    versionId = row?.id;
  } else {
    const [row] = await db
      .select({ id: modelVersions.id })
      .from(modelVersions)
      .where(eq(modelVersions.modelId, ref.modelId))
      .orderBy(desc(modelVersions.number))
      .limit(1);
    versionId = row?.id;
  }
  if (!versionId) return null;
  const ready = readyVersion(versionId);
  if (ready) return ready;
  const [version] = await db.select().from(modelVersions).where(eq(modelVersions.id, versionId));
  return version ?? null;
}

/**
 * Checks the classifiers an admin chooses for MODEL: at least one, each a conversation
 * classifier of that label the caller can see, with a trained version (under its alias when one
 * is given) whose outputs they may see. Returns them as stored.
 */
export async function checkClassifiers(
  ctx: AuthedContext,
  classifiers: ConversationClassifiers,
): Promise<ConversationClassifiers> {
  if (!classifiers.topic && !classifiers.intent)
    throw new InputError(
      'The MODEL categorizer needs a trained classifier: train one with trainConversationClassifier and pass topicModel or intentModel.',
      'topicModel',
    );
  for (const label of CLASSIFIER_LABELS) {
    const target = column(label);
    const ref = classifiers[target];
    if (!ref) continue;
    const field = `${target}Model`;
    const model = await findModel(ctx, ref.modelId);
    if (model.target !== target || !model.textFeatures.includes(CLASSIFIER_FEATURE))
      throw new InputError(
        `Model "${model.name}" is not a ${target} classifier of conversations (trainConversationClassifier(label: ${label}) makes one).`,
        field,
      );
    const version = await versionOf(ctx.db, ref);
    if (!version)
      throw new InputError(
        ref.alias
          ? `Model "${model.name}" has no version with the alias "${ref.alias}".`
          : `Model "${model.name}" has no trained version yet: wait for its training run to succeed.`,
        field,
      );
    await assertOutputsVisible(ctx, version);
  }
  return {
    ...(classifiers.topic ? { topic: classifiers.topic } : {}),
    ...(classifiers.intent ? { intent: classifiers.intent } : {}),
  };
}

/** Topics from a topic classifier's class probabilities: shares of those reported, best first. */
function topicsOf(probabilities: Record<string, number>): TopicScore[] {
  const ranked = Object.entries(probabilities).sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
  );
  if (!ranked.length || ranked[0]![0] === NO_LABEL) return [];
  const kept = ranked
    .filter(([topic], i) => topic !== NO_LABEL && i < MAX_TOPICS)
    .filter(([, p], i) => i === 0 || p >= MIN_TOPIC_PROBABILITY);
  const total = kept.reduce((sum, [, p]) => sum + p, 0);
  return kept.map(([topic, p]) => ({ topic, score: p / total }));
}

/**
 * The version each classifier reference of a loaded categorization setting resolves to, looked
 * up once per setting: an ingest or re-categorization run loads its setting once and categorizes
 * every conversation with the same versions; a live message loads its own.
 */
const resolved = new WeakMap<ClassifierRef, Promise<ModelVersion | null>>();

function resolvedVersion(db: Db, ref: ClassifierRef): Promise<ModelVersion | null> {
  let version = resolved.get(ref);
  if (!version) {
    version = versionOf(db, ref);
    resolved.set(ref, version);
    version.catch(() => resolved.delete(ref));
  }
  return version;
}

/**
 * The organization's classifiers' topics and intent for a conversation's customer text (redacted,
 * as they were trained on), through the models' cache of ready versions; what a classifier is
 * not chosen for stays the rules'. Null when there is no customer text, or no chosen classifier
 * has a version any more (the rules categorize then).
 */
export async function modelCategorization(
  deps: { db: Db; config: { tfBackend: BackendPreference } },
  classifiers: ConversationClassifiers,
  record: Pick<ConversationRecord, 'messages'>,
): Promise<CategorizerAnswer | null> {
  const text = customerText(record);
  if (!text.trim()) return null;
  const out: CategorizerAnswer = {};
  if (classifiers.topic) {
    const version = await resolvedVersion(deps.db, classifiers.topic);
    if (version) {
      const [p] = await predictRows(deps.config.tfBackend, version, [
        { [CLASSIFIER_FEATURE]: text },
      ]);
      out.topics = topicsOf(p!.probabilities ?? { [String(p!.value)]: 1 });
    }
  }
  if (classifiers.intent) {
    const version = await resolvedVersion(deps.db, classifiers.intent);
    if (version) {
      const [p] = await predictRows(deps.config.tfBackend, version, [
        { [CLASSIFIER_FEATURE]: text },
      ]);
      out.intent = p!.value === NO_LABEL ? null : String(p!.value);
    }
  }
  return Object.keys(out).length ? out : null;
}
