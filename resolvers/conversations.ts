/** Query.conversations · Query.conversation · Query.conversationAnalytics · Query.conversationIngest · Query.conversationTaxonomy · Mutation.setConversationTaxonomy · Mutation.trainConversationClassifier · Mutation.ingestConversations · Mutation.resumeConversationIngest · Mutation.addMessage · Mutation.translateConversation · Mutation.setConversationPolicy · Subscription.conversationEvents */
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import { z } from 'zod';
import {
  type ClassifierRef,
  CONVERSATION_STATUSES,
  type ConversationClassifiers,
  type ConversationIngestRun,
  type ConversationRecategorizeRun,
  type ConversationStatus,
  MESSAGE_ROLES,
  type MessageRole,
  SENTIMENT_LABELS,
  type SentimentLabel,
  type TopicScore,
} from '../db/schema/conversations';
import { builder } from '../schema/builder';
import { setConversationPolicy } from '../src/access/conversations';
import type { Filter } from '../src/access/language';
import type { AuthedContext } from '../src/context';
import {
  ANALYTICS_GROUPS,
  type Analytics,
  type AnalyticsGroup,
  type AnalyticsPoint,
  conversationAnalytics,
  GRANULARITIES,
  type Granularity,
  type TimeStats,
} from '../src/conversations/analytics';
import type { Categorizer } from '../src/conversations/categorizer';
import type { ConversationEvent } from '../src/conversations/events';
import {
  ConversationIngestError,
  ingestRun,
  resumeIngest,
  startIngest,
} from '../src/conversations/ingest';
import { type ClassifierLabel, trainConversationClassifier } from '../src/conversations/model';
import { recategorizeRun, startRecategorize } from '../src/conversations/recategorize';
import type { IngestFormat } from '../src/conversations/records';
import * as conv from '../src/conversations/service';
import { translateConversation } from '../src/conversations/translate';
import { redactPersonalData } from '../src/datasets/pii';
import { ConflictError, InputError, NotFoundError } from '../src/errors';
import { openStream } from '../src/events/stream';
import { TRAIN_JOB } from '../src/models/training-job';
import { ErrorInterface } from './common';
import { AlgorithmEnum, ModelRef, TrainingRunRef } from './models';
import { FilterInput } from './queries';

const describe = <T extends string>(values: readonly T[], text: (v: T) => string) =>
  Object.fromEntries(values.map((v) => [v, { description: text(v) }])) as Record<
    T,
    { description: string }
  >;

const MessageRoleEnum = builder.enumType('MessageRole', {
  description: 'Who wrote a message.',
  values: describe<MessageRole>(MESSAGE_ROLES, (v) => `Written by the ${v.toLowerCase()}.`),
});

const SentimentLabelEnum = builder.enumType('SentimentLabel', {
  description:
    'Sentiment label: MIXED when a text holds both clearly positive and clearly negative parts.',
  values: describe<SentimentLabel>(SENTIMENT_LABELS, (v) => `${v.toLowerCase()} sentiment.`),
});

const ConversationStatusEnum = builder.enumType('ConversationStatus', {
  description: 'Where a conversation stands.',
  values: describe<ConversationStatus>(CONVERSATION_STATUSES, (v) => `${v.toLowerCase()}.`),
});

const ConversationFileFormatEnum = builder.enumType('ConversationFileFormat', {
  description: 'Format of a file of conversations.',
  values: {
    NDJSON: { description: 'One conversation (JSON object with its messages) per line.' },
    JSON: { description: 'A JSON array of conversations; lines are reported as item numbers.' },
    CSV: {
      description:
        'One message per row, grouped by external_id: external_id, channel, inbox, customer_ref, status, role, author, text, sent_at.',
    },
  } as const satisfies Record<IngestFormat, { description: string }>,
});

const TopicScoreRef = builder.objectRef<TopicScore>('TopicScore').implement({
  description: 'A topic of a conversation, with its share of the matched keyword weight.',
  fields: (t) => ({
    topic: t.exposeString('topic', { description: 'Topic name from the taxonomy.' }),
    score: t.exposeFloat('score', { description: 'Share of the keyword weight, 0–1.' }),
  }),
});

const MessageRef = builder.objectRef<conv.MessageView>('Message').implement({
  description:
    'A message of a conversation. Below ADMIN (unless a policy says otherwise) its text shows personal data redacted as "***".',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Message ID.' }),
    position: t.exposeInt('position', { description: 'Zero-based position in the conversation.' }),
    role: t.expose('role', { type: MessageRoleEnum, description: 'Who wrote it.' }),
    author: t.string({
      nullable: true,
      description: 'Author name or handle; redacted like the text.',
      resolve: (m) => (m.masked && m.author ? redactPersonalData(m.author) : m.author),
    }),
    text: t.exposeString('text', { description: 'The text, redacted for masked viewers.' }),
    sentAt: t.expose('sentAt', { type: 'DateTime', description: 'When it was sent.' }),
    language: t.exposeString('language', {
      nullable: true,
      description: 'ISO 639-1 language, null when the detector was not confident.',
    }),
    sentimentScore: t.exposeFloat('sentimentScore', {
      nullable: true,
      description: 'Sentiment from -1 to 1 (null for system messages).',
    }),
    sentimentLabel: t.expose('sentimentLabel', {
      type: SentimentLabelEnum,
      nullable: true,
      description: 'Sentiment label.',
    }),
    personalDataMasked: t.exposeBoolean('masked', {
      description: 'Whether personal data in the text is redacted for you.',
    }),
    translation: t.string({
      nullable: true,
      description:
        'The stored translation into a language (ISO 639-1), made from the redacted text by `translateConversation`; null until then.',
      args: { language: t.arg.string({ required: true }) },
      resolve: (m, { language }) => m.translations[language.toLowerCase()] ?? null,
    }),
  }),
});

/** Messages of many conversations in one query per request. */
const messageLoader = createContextCache(
  (ctx: AuthedContext) =>
    new DataLoader<string, conv.MessageView[]>(async (ids) => {
      const rows = await conv.messagesOf(ctx.db, ids);
      return ids.map((id) => rows.filter((r) => r.conversationId === id) as conv.MessageView[]);
    }),
);

export const ConversationRef = builder.objectRef<conv.ConversationView>('Conversation').implement({
  description: 'A conversation with a customer, categorized when written.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Conversation ID.' }),
    externalId: t.exposeString('externalId', { description: 'ID in the source system.' }),
    channel: t.exposeString('channel', { description: 'Channel (email, chat, whatsapp, …).' }),
    inbox: t.exposeString('inbox', { description: 'Inbox it arrived in.' }),
    customerRef: t.exposeString('customerRef', {
      nullable: true,
      description: 'Customer reference; personal data redacted for masked viewers.',
    }),
    customerAttributes: t.expose('customerAttributes', {
      type: 'JSONObject',
      description: 'Customer attributes; text values redacted for masked viewers.',
    }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'First message.' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'End.' }),
    status: t.expose('status', { type: ConversationStatusEnum, description: 'Status.' }),
    language: t.exposeString('language', {
      nullable: true,
      description: "Main language of the customer's messages.",
    }),
    topics: t.expose('topics', {
      type: [TopicScoreRef],
      description: "Topics of the customer's messages, best first.",
    }),
    intent: t.exposeString('intent', {
      nullable: true,
      description: 'Why the customer came (CANCEL, REFUND_REQUEST, ORDER_STATUS, …).',
    }),
    sentimentScore: t.exposeFloat('sentimentScore', {
      nullable: true,
      description: "Mean sentiment of the customer's messages, -1 to 1.",
    }),
    sentimentLabel: t.expose('sentimentLabel', {
      type: SentimentLabelEnum,
      nullable: true,
      description: "Label of the customer's sentiment.",
    }),
    firstResponseSeconds: t.exposeFloat('firstResponseSeconds', {
      nullable: true,
      description: 'Seconds from the first customer message to the first agent or bot reply.',
    }),
    resolutionSeconds: t.exposeFloat('resolutionSeconds', {
      nullable: true,
      description: 'Seconds from start to end of a resolved conversation.',
    }),
    metadata: t.expose('metadata', { type: 'JSONObject', description: 'Source metadata.' }),
    personalDataMasked: t.exposeBoolean('masked', {
      description: 'Whether personal data is redacted for you.',
    }),
    messages: t.field({
      type: [MessageRef],
      description: 'Messages in order.',
      resolve: async (c, _args, ctx) =>
        (await messageLoader(ctx as AuthedContext).load(c.id)).map((m) =>
          conv.messageView(m, c.masked),
        ),
    }),
  }),
});

const ConversationList = builder
  .objectRef<{ items: conv.ConversationView[]; total: number }>('ConversationList')
  .implement({
    description: 'A page of conversations.',
    fields: (t) => ({
      nodes: t.field({
        type: [ConversationRef],
        description: 'The conversations of this page.',
        resolve: (p) => p.items,
      }),
      totalCount: t.exposeInt('total', { description: 'Matching conversations in all.' }),
    }),
  });

const ConversationFilterInput = builder.inputType('ConversationFilter', {
  description: 'Conditions a conversation must meet (all of them).',
  fields: (t) => ({
    channel: t.string({ description: 'Exact channel.' }),
    inbox: t.string({ description: 'Exact inbox.' }),
    language: t.string({ description: 'ISO 639-1 language.' }),
    intent: t.string({ description: 'Intent.' }),
    topic: t.string({ description: 'One of its topics.' }),
    sentiment: t.field({ type: SentimentLabelEnum, description: 'Sentiment label.' }),
    status: t.field({ type: ConversationStatusEnum, description: 'Status.' }),
    startedAfter: t.field({ type: 'DateTime', description: 'Started at or after.' }),
    startedBefore: t.field({ type: 'DateTime', description: 'Started before.' }),
  }),
});

const IngestProblemRef = builder
  .objectRef<{ line: number; message: string }>('IngestProblem')
  .implement({
    description: 'A record that could not be ingested.',
    fields: (t) => ({
      line: t.exposeInt('line', { description: 'Line of the file (item number for JSON).' }),
      message: t.exposeString('message', { description: 'What is wrong with it.' }),
    }),
  });

builder.objectType(ConversationIngestError, {
  name: 'ConversationIngestError',
  description: 'Records of the file are invalid and skipInvalid was not set: nothing was written.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConversationIngestError,
  fields: (t) => ({
    problems: t.field({
      type: [IngestProblemRef],
      description: 'Every invalid record, by line.',
      resolve: (e) => e.problems,
    }),
  }),
});

const RunStatusEnum = builder.enumType('ConversationIngestStatus', {
  description: 'Where an ingest run stands.',
  values: ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const,
});

const ConversationIngestRef = builder
  .objectRef<ConversationIngestRun>('ConversationIngest')
  .implement({
    description: 'A bulk ingest of conversations, run as a job.',
    fields: (t) => ({
      id: t.exposeID('id', { description: 'Run ID.' }),
      status: t.expose('status', { type: RunStatusEnum, description: 'Run status.' }),
      step: t.exposeInt('step', { description: 'Conversations written so far.' }),
      totalSteps: t.exposeInt('totalSteps', {
        nullable: true,
        description: 'Conversations to write.',
      }),
      created: t.exposeInt('created', { description: 'New conversations.' }),
      updated: t.exposeInt('updated', { description: 'Conversations replaced by external id.' }),
      skipped: t.field({
        type: [IngestProblemRef],
        description: 'Invalid records left out (with skipInvalid).',
        resolve: (r) => r.skipped,
      }),
      error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
    }),
  });

const ConversationRecategorizeRef = builder
  .objectRef<ConversationRecategorizeRun>('ConversationRecategorize')
  .implement({
    description:
      'A re-categorization of every conversation of the organization with its current taxonomy and categorizer, run as a job.',
    fields: (t) => ({
      id: t.exposeID('id', { description: 'Run ID.' }),
      status: t.expose('status', { type: RunStatusEnum, description: 'Run status.' }),
      step: t.exposeInt('step', { description: 'Conversations re-categorized so far.' }),
      totalSteps: t.exposeInt('totalSteps', {
        nullable: true,
        description: 'Conversations to re-categorize (null until the worker counted them).',
      }),
      error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
    }),
  });

const errors = { types: [InputError, NotFoundError, ConversationIngestError] };

builder.queryFields((t) => ({
  conversations: t.withAuth({ authenticated: true }).field({
    type: ConversationList,
    description:
      'Conversations you may read, newest first. `search` matches words of any message (full text); for viewers who see personal data redacted it searches the redacted text.',
    errors: { types: [InputError], directResult: true },
    args: {
      filter: t.arg({ type: ConversationFilterInput }),
      search: t.arg.string({ description: 'Words every matching conversation contains.' }),
      first: t.arg.int({ defaultValue: 50, description: 'Page size, 1–500.' }),
      offset: t.arg.int({ defaultValue: 0, description: 'Conversations to skip.' }),
    },
    resolve: (_root, args, ctx) =>
      conv.listConversations(ctx, args.filter ?? {}, args.search ?? null, {
        first: args.first ?? 50,
        offset: Math.max(0, args.offset ?? 0),
      }),
  }),
  conversation: t.withAuth({ authenticated: true }).field({
    type: ConversationRef,
    nullable: true,
    description: 'One conversation by ID; null when not visible.',
    args: { id: t.arg.id({ required: true, validate: z.string().uuid() }) },
    resolve: (_root, { id }, ctx) =>
      conv.getConversation(ctx, String(id)).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      }),
  }),
  conversationRecategorize: t.withAuth({ authenticated: true }).field({
    type: ConversationRecategorizeRef,
    description: 'A re-categorization run of your organization, with its progress.',
    errors: { types: [NotFoundError], directResult: true },
    args: { id: t.arg.id({ required: true, validate: z.string().uuid() }) },
    resolve: (_root, { id }, ctx) => recategorizeRun(ctx, String(id)),
  }),
  conversationIngest: t.withAuth({ authenticated: true }).field({
    type: ConversationIngestRef,
    description: 'An ingest run of your organization, with its progress.',
    errors: { types: [NotFoundError], directResult: true },
    args: { id: t.arg.id({ required: true, validate: z.string().uuid() }) },
    resolve: (_root, { id }, ctx) => ingestRun(ctx, String(id)),
  }),
}));

const AddMessageInput = builder.inputType('AddMessageInput', {
  description: 'A message from a live feed.',
  fields: (t) => ({
    conversationId: t.id({ required: true, validate: z.string().uuid() }),
    role: t.field({ type: MessageRoleEnum, required: true, description: 'Who wrote it.' }),
    author: t.string({ description: 'Author name or handle.' }),
    text: t.string({ required: true, validate: z.string().min(1).max(100_000) }),
    sentAt: t.field({ type: 'DateTime', description: 'When it was sent (default: now).' }),
  }),
});

const AddMessagePayload = builder
  .objectRef<Awaited<ReturnType<typeof conv.addMessage>>>('AddMessagePayload')
  .implement({
    description: 'The message added and its conversation with updated analytics.',
    fields: (t) => ({
      message: t.field({
        type: MessageRef,
        description: 'The message.',
        resolve: (p) => p.message,
      }),
      conversation: t.field({
        type: ConversationRef,
        description: 'The conversation.',
        resolve: (p) => p.conversation,
      }),
    }),
  });

const PrincipalKindEnum = builder.enumType('ConversationPrincipalKind', {
  description: 'Whom a conversation policy names.',
  values: ['ROLE', 'USER', 'API_KEY'] as const,
});

const ConversationPolicyInput = builder.inputType('ConversationPolicyInput', {
  description:
    'Who may read which conversations: an API key reads none until a policy names it; `inboxes` limits the rows; `personalDataInClear` overrides the default (clear for ADMIN and up only).',
  fields: (t) => ({
    principalKind: t.field({ type: PrincipalKindEnum, required: true }),
    role: t.string({ description: 'With ROLE: OWNER, ADMIN, ANALYST or VIEWER.' }),
    userId: t.globalID({ description: 'With USER: the user.' }),
    apiKeyId: t.globalID({ description: 'With API_KEY: the key.' }),
    inboxes: t.stringList({ description: 'Inboxes readable; absent: all.' }),
    rowFilter: t.field({
      type: FilterInput,
      description:
        'Conversations visible, in the filter language of dataset policies over the fields channel, inbox, status, language, intent, sentiment, customerRef and customer.<attribute>; values may be "$viewer.id", "$viewer.role" or "$viewer.attributes.<name>". Absent: every conversation of the inboxes.',
    }),
    personalDataInClear: t.boolean({ description: 'Absent: the role default.' }),
  }),
});

const ConversationPolicyRef = builder
  .objectRef<{
    id: string;
    inboxes: string[] | null;
    rowFilter: Record<string, unknown> | null;
    personalData: string | null;
  }>('ConversationPolicy')
  .implement({
    description: 'A conversation policy.',
    fields: (t) => ({
      id: t.exposeID('id', { description: 'Policy ID.' }),
      inboxes: t.exposeStringList('inboxes', {
        nullable: true,
        description: 'Inboxes; null: all.',
      }),
      rowFilter: t.expose('rowFilter', {
        type: 'JSONObject',
        nullable: true,
        description: 'The row filter; null: none.',
      }),
      personalData: t.exposeString('personalData', {
        nullable: true,
        description: 'CLEAR or MASK; null: the role default.',
      }),
    }),
  });

const CategorizerEnum = builder.enumType('ConversationCategorizer', {
  description: 'What categorizes conversations (topics, intent, sentiment and language).',
  values: {
    RULES: {
      description:
        'Rules: wink-nlp sentiment with negation and contrast, eld language, weighted taxonomy keywords, intent patterns.',
    },
    LLM: {
      description:
        'The configured model (OPENAI_API_KEY), with Structured Outputs validated against a schema and answers cached by text hash; messages keep their rule-based sentiment and language.',
    },
    MODEL: {
      description:
        "The organization's own classifiers (`trainConversationClassifier`), trained on its labelled conversations: topics and intent from them (from the rules for a label without one); sentiment and language stay the rules'.",
    },
  } as const satisfies Record<Categorizer, { description: string }>,
});

const ClassifierLabelEnum = builder.enumType('ConversationClassifierLabel', {
  description: 'What a conversation classifier predicts.',
  values: {
    TOPIC: { description: 'The main topic (`metadata.labels.topic`).' },
    INTENT: { description: 'The intent (`metadata.labels.intent`).' },
  } as const satisfies Record<ClassifierLabel, { description: string }>,
});

const ClassifierRefType = builder.objectRef<ClassifierRef>('ConversationClassifier').implement({
  description: 'A trained classifier the MODEL categorizer uses.',
  fields: (t) => ({
    model: t.field({
      type: ModelRef,
      nullable: true,
      description: 'The model; null when you cannot see it.',
      resolve: (ref) => ref.modelId,
    }),
    alias: t.exposeString('alias', {
      nullable: true,
      description: 'The alias naming the version used; null: the newest version.',
    }),
  }),
});

const ClassifierInput = builder.inputType('ConversationClassifierInput', {
  description: 'A trained conversation classifier: a model, and the alias naming its version.',
  fields: (t) => ({
    modelId: t.globalID({
      for: [ModelRef],
      required: true,
      description: 'The model (from `trainConversationClassifier`).',
    }),
    alias: t.string({ description: 'Absent: the newest version of the model.' }),
  }),
});

const TaxonomyRef = builder
  .objectRef<{
    topics: Record<string, Record<string, number>>;
    categorizer: Categorizer;
    classifiers: ConversationClassifiers;
  }>('ConversationTaxonomy')
  .implement({
    description: 'Topics by weighted keywords, used to categorize conversations.',
    fields: (t) => ({
      topics: t.expose('topics', {
        type: 'JSONObject',
        description: 'Topic → keyword or phrase → weight.',
      }),
      categorizer: t.expose('categorizer', {
        type: CategorizerEnum,
        description: 'The categorizer conversations written from now on go through.',
      }),
      topicModel: t.field({
        type: ClassifierRefType,
        nullable: true,
        description: 'The topic classifier MODEL uses; null: none (the rules give topics).',
        resolve: (r) => r.classifiers.topic ?? null,
      }),
      intentModel: t.field({
        type: ClassifierRefType,
        nullable: true,
        description: 'The intent classifier MODEL uses; null: none (the rules give the intent).',
        resolve: (r) => r.classifiers.intent ?? null,
      }),
    }),
  });

builder.queryFields((t) => ({
  conversationTaxonomy: t.withAuth({ authenticated: true }).field({
    type: TaxonomyRef,
    description:
      "The organization's topic taxonomy: topic → keyword or phrase → weight (the default one until an admin sets one).",
    resolve: async (_root, _args, ctx) => {
      const { taxonomy, categorizer, classifiers } = await conv.categorizationOf(
        ctx.db,
        ctx.viewer.orgId,
      );
      return { topics: taxonomy, categorizer, classifiers };
    },
  }),
}));

builder.mutationFields((t) => ({
  setConversationTaxonomy: t.withAuth({ role: 'ADMIN' }).field({
    type: TaxonomyRef,
    description:
      'Replaces the topic taxonomy (ADMIN and up): `{ "billing": { "invoice": 3, "credit card": 2 } }`, and optionally the categorizer and its trained classifiers. Conversations written afterwards are categorized with them.',
    errors: { types: [InputError, NotFoundError], directResult: true },
    args: {
      taxonomy: t.arg({ type: 'JSONObject', required: true }),
      categorizer: t.arg({
        type: CategorizerEnum,
        description:
          'RULES, LLM (LLM_NOT_CONFIGURED without OPENAI_API_KEY) or MODEL (needs topicModel or intentModel, given now or before); absent: unchanged.',
      }),
      topicModel: t.arg({
        type: ClassifierInput,
        description: 'The topic classifier for MODEL; absent: unchanged.',
      }),
      intentModel: t.arg({
        type: ClassifierInput,
        description: 'The intent classifier for MODEL; absent: unchanged.',
      }),
    },
    resolve: (_root, { taxonomy, categorizer, topicModel, intentModel }, ctx) => {
      const ref = (input: typeof topicModel) =>
        input ? { modelId: input.modelId.id, alias: input.alias ?? null } : undefined;
      const given =
        topicModel || intentModel
          ? {
              ...(topicModel ? { topic: ref(topicModel) } : {}),
              ...(intentModel ? { intent: ref(intentModel) } : {}),
            }
          : null;
      return conv.setTaxonomy(
        ctx,
        // A JSONObject literal arrives as null-prototype objects, which drizzle cannot bind.
        structuredClone(taxonomy) as Record<string, Record<string, number>>,
        categorizer ?? null,
        given,
      );
    },
  }),
  trainConversationClassifier: t.withAuth({ role: 'ADMIN' }).field({
    type: TrainingRunRef,
    description:
      "Trains the organization's topic or intent classifier (ADMIN and up) on the conversations labelled in `metadata.labels.topic` / `.intent` (null: none) that you can read, redacted, as a normal training run over hashed word and n-gram features: follow it with `trainingProgress`, then choose it with `setConversationTaxonomy(categorizer: MODEL, topicModel: …)`. A model of that name is retrained.",
    errors: { types: [InputError, NotFoundError, ConflictError], directResult: true },
    args: {
      label: t.arg({
        type: ClassifierLabelEnum,
        required: true,
        description: 'TOPIC or INTENT.',
      }),
      name: t.arg.string({
        description: 'The model; default `conversation-topic` or `conversation-intent`.',
        validate: z.string().trim().min(1).max(200),
      }),
      algorithm: t.arg({
        type: AlgorithmEnum,
        description: 'Default LOGISTIC_REGRESSION.',
      }),
      seed: t.arg.int({ description: 'Seed of the split and initialisation; absent: random.' }),
    },
    resolve: (_root, args, ctx) =>
      trainConversationClassifier(
        ctx,
        {
          label: args.label,
          name: args.name,
          algorithm: args.algorithm,
          seed: args.seed,
        },
        async (runId) => {
          await ctx.jobs.send(TRAIN_JOB, { runId });
        },
      ),
  }),
  ingestConversations: t.withAuth({ role: 'ANALYST' }).field({
    type: ConversationIngestRef,
    description:
      'Validates a file of conversations and ingests it as a job (follow it with `conversationIngest`). Idempotent by external id: re-ingesting updates, never duplicates. With invalid records nothing is written unless `skipInvalid`, which ingests the rest and lists the bad ones by line.',
    errors: { ...errors, directResult: true },
    args: {
      file: t.arg({ type: 'File', required: true }),
      format: t.arg({ type: ConversationFileFormatEnum, required: true }),
      skipInvalid: t.arg.boolean({ defaultValue: false }),
    },
    resolve: (_root, args, ctx) =>
      startIngest(ctx, args.file, args.format, args.skipInvalid ?? false),
  }),
  recategorizeConversations: t.withAuth({ role: 'ADMIN' }).field({
    type: ConversationRecategorizeRef,
    description:
      'Re-categorizes every conversation of the organization with its current taxonomy and categorizer (after `setConversationTaxonomy`), as a job: follow it with `conversationRecategorize(id)`; each conversation is published as CATEGORIZED on `conversationEvents`. ADMIN and up.',
    resolve: (_root, _args, ctx) => startRecategorize(ctx),
  }),
  resumeConversationIngest: t.withAuth({ role: 'ANALYST' }).field({
    type: ConversationIngestRef,
    description:
      'Queues a FAILED ingest again (its worker was lost); it continues after the last batch it committed. CONFLICT for a run that did not fail.',
    errors: { types: [NotFoundError, ConflictError], directResult: true },
    args: { id: t.arg.id({ required: true, validate: z.string().uuid() }) },
    resolve: (_root, { id }, ctx) => resumeIngest(ctx, String(id)),
  }),
  addMessage: t.withAuth({ role: 'ANALYST' }).field({
    type: AddMessagePayload,
    description:
      "Appends a message to a conversation, recomputes the conversation's analytics and publishes it on `conversationEvents`.",
    errors: { ...errors, directResult: true },
    args: { input: t.arg({ type: AddMessageInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      conv.addMessage(ctx, String(input.conversationId), {
        role: input.role,
        author: input.author ?? null,
        text: input.text,
        sentAt: input.sentAt ?? new Date(),
      }),
  }),
  translateConversation: t.withAuth({ authenticated: true }).field({
    type: ConversationRef,
    description:
      'Translates every message of a conversation you may read into `targetLanguage` (ISO 639-1) through the configured LLM and stores the translations (read them with `Message.translation`); messages already translated cost nothing. Only redacted text is sent to the model. LLM_NOT_CONFIGURED without OPENAI_API_KEY.',
    errors: { types: [InputError, NotFoundError], directResult: true },
    args: {
      id: t.arg.id({ required: true, validate: z.string().uuid() }),
      targetLanguage: t.arg.string({ required: true }),
    },
    resolve: (_root, args, ctx) => translateConversation(ctx, String(args.id), args.targetLanguage),
  }),
  setConversationPolicy: t.withAuth({ role: 'ADMIN' }).field({
    type: ConversationPolicyRef,
    description: 'Creates or replaces the conversation policy of a principal (ADMIN and up).',
    errors: { ...errors, directResult: true },
    args: { input: t.arg({ type: ConversationPolicyInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      setConversationPolicy(ctx, {
        principalKind: input.principalKind,
        role: input.role ?? null,
        userId: input.userId?.id ?? null,
        apiKeyId: input.apiKeyId?.id ?? null,
        inboxes: input.inboxes ?? null,
        rowFilter: (input.rowFilter as Filter | null | undefined) ?? null,
        personalData:
          input.personalDataInClear == null ? null : input.personalDataInClear ? 'CLEAR' : 'MASK',
      }),
  }),
}));

const ConversationEventRef = builder.objectRef<ConversationEvent>('ConversationEvent').implement({
  description: 'A new message, or a conversation (re)categorized.',
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'MESSAGE_ADDED or CATEGORIZED.' }),
    conversationId: t.exposeID('conversationId', { description: 'The conversation.' }),
    inbox: t.exposeString('inbox', { description: 'Its inbox.' }),
    message: t.field({
      type: MessageRef,
      nullable: true,
      description: 'The new message, as you may read it (redacted for masked viewers).',
      resolve: (e, _args, ctx) =>
        e.messageId ? conv.messageFor(ctx as AuthedContext, e.messageId) : null,
    }),
  }),
});

builder.subscriptionFields((t) => ({
  conversationEvents: t.withAuth({ authenticated: true }).field({
    type: ConversationEventRef,
    description:
      'New messages and categorizations in an inbox you may read; each event is re-checked against your access as it is when it is sent.',
    args: { inbox: t.arg.string({ required: true }) },
    subscribe: async (_root, { inbox }, ctx) => {
      if (!(await conv.inboxReadable(ctx, inbox))) throw new NotFoundError('Inbox');
      return openStream(ctx, {
        source: ctx.events.subscribe(`conversationEvents:${ctx.viewer.orgId}`),
        accept: (e) => e.inbox === inbox,
        access: {
          resource: `conversations:${inbox}`,
          check: (c: AuthedContext) => conv.inboxReadable(c, inbox),
        },
        // A policy's row filter may leave out some conversations of the inbox: each event is
        // sent only if its conversation is readable by the subscriber as they are now.
        eventAccess: (e) => ({
          resource: `conversation:${e.conversationId}`,
          check: (c: AuthedContext) => conv.conversationReadable(c, e.conversationId),
        }),
      });
    },
    resolve: (event) => event,
  }),
}));

const GranularityEnum = builder.enumType('ConversationGranularity', {
  description: 'Length of the periods of a series, in the requested time zone.',
  values: describe<Granularity>(GRANULARITIES, (v) => `One point per local ${v.toLowerCase()}.`),
});

const GroupByEnum = builder.enumType('ConversationGroupBy', {
  description: 'What to split each period by (TOPIC: the conversation’s best topic).',
  values: describe<AnalyticsGroup>(ANALYTICS_GROUPS, (v) => `By ${v.toLowerCase()}.`),
});

const CountRef = builder.objectRef<{ label: string; count: number }>('LabelCount').implement({
  description: 'How many conversations carry a label or fall in a bucket.',
  fields: (t) => ({
    label: t.exposeString('label', { description: 'Label or bucket (0-1h, 1-4h, …).' }),
    count: t.exposeInt('count', { description: 'Conversations.' }),
  }),
});

const TimeStatsRef = builder.objectRef<TimeStats>('ResponseTimeStats').implement({
  description:
    'Seconds, over the conversations that have the time: median, p90 and Chatwoot buckets (0-1h, 1-4h, 4-8h, 8-24h, 24h+).',
  fields: (t) => ({
    median: t.exposeFloat('median', { nullable: true, description: 'Median seconds.' }),
    p90: t.exposeFloat('p90', { nullable: true, description: '90th percentile seconds.' }),
    buckets: t.field({
      type: [CountRef],
      description: 'Counts per bucket.',
      resolve: (s) => s.buckets,
    }),
  }),
});

const MetricsRef = builder.interfaceRef<Analytics['summary']>('ConversationMetrics').implement({
  description: 'Metrics of a set of conversations.',
  fields: (t) => ({
    volume: t.exposeInt('volume', { description: 'Conversations started.' }),
    sentiment: t.field({
      type: [CountRef],
      description: 'Conversations per sentiment label.',
      resolve: (p) => p.sentiment,
    }),
    averageSentiment: t.exposeFloat('averageSentiment', {
      nullable: true,
      description: 'Mean conversation sentiment score.',
    }),
    firstResponse: t.field({
      type: TimeStatsRef,
      description: 'First-response times.',
      resolve: (p) => p.firstResponse,
    }),
    resolution: t.field({
      type: TimeStatsRef,
      description: 'Resolution times.',
      resolve: (p) => p.resolution,
    }),
  }),
});

const PointRef = builder.objectRef<AnalyticsPoint>('ConversationAnalyticsPoint').implement({
  description: 'Metrics of the conversations that started in one period (and group).',
  fields: (t) => ({
    period: t.exposeString('period', {
      description: 'First local day of the period, YYYY-MM-DD, in the requested time zone.',
    }),
    group: t.exposeString('group', { nullable: true, description: 'Group value, if grouped.' }),
  }),
  interfaces: [MetricsRef],
});

const SummaryRef = builder
  .objectRef<Analytics['summary']>('ConversationAnalyticsSummary')
  .implement({
    description:
      'Metrics over the whole range: volume, sentiment and bucket counts equal the sums of the series.',
    interfaces: [MetricsRef],
    fields: () => ({}),
  });

const AnalyticsRef = builder.objectRef<Analytics>('ConversationAnalytics').implement({
  description:
    'Conversation analytics. Every metric buckets on the conversation’s start (startedAt), so each conversation counts in exactly one period.',
  fields: (t) => ({
    series: t.field({
      type: [PointRef],
      description: 'One point per period (and group).',
      resolve: (a) => a.series,
    }),
    summary: t.field({
      type: SummaryRef,
      description: 'The whole range.',
      resolve: (a) => a.summary,
    }),
  }),
});

builder.queryFields((t) => ({
  conversationAnalytics: t.withAuth({ authenticated: true }).field({
    type: AnalyticsRef,
    description:
      'Volume, sentiment, first-response and resolution times of the conversations you may read that started in [from, to), per local period of `timezone` (IANA name).',
    errors: { types: [InputError], directResult: true },
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      granularity: t.arg({ type: GranularityEnum, required: true }),
      timezone: t.arg.string({ defaultValue: 'UTC', description: 'IANA time zone.' }),
      groupBy: t.arg({ type: GroupByEnum }),
    },
    resolve: (_root, args, ctx) =>
      conversationAnalytics(ctx, {
        from: args.from,
        to: args.to,
        granularity: args.granularity,
        timezone: args.timezone ?? 'UTC',
        groupBy: args.groupBy ?? null,
      }),
  }),
}));
