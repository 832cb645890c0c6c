import { sql } from 'drizzle-orm';
import {
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { principalKindEnum } from './access';
import { apiKeys, organizations, roleEnum, users } from './auth';
import { createdAt, id, runState, updatedAt } from './common';

export const MESSAGE_ROLES = ['USER', 'AGENT', 'BOT', 'SYSTEM'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];
export const messageRoleEnum = pgEnum('message_role', MESSAGE_ROLES);

/** AWS Comprehend's labels: MIXED when a text holds both clearly positive and negative parts. */
export const SENTIMENT_LABELS = ['POSITIVE', 'NEGATIVE', 'NEUTRAL', 'MIXED'] as const;
export type SentimentLabel = (typeof SENTIMENT_LABELS)[number];
export const sentimentLabelEnum = pgEnum('sentiment_label', SENTIMENT_LABELS);

export const CONVERSATION_STATUSES = ['OPEN', 'PENDING', 'RESOLVED'] as const;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];
export const conversationStatusEnum = pgEnum('conversation_status', CONVERSATION_STATUSES);

/** A topic found in a conversation, with its share of the keyword weight (0–1). */
export interface TopicScore {
  topic: string;
  score: number;
}

/** One conversation of an organization, keyed by the id its source system gave it. */
export const conversations = pgTable(
  'conversations',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    externalId: text('external_id').notNull(),
    channel: text('channel').notNull(),
    inbox: text('inbox').notNull(),
    customerRef: text('customer_ref'),
    customerAttributes: jsonb('customer_attributes')
      .$type<Record<string, unknown>>()
      .notNull()
      .default({}),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    status: conversationStatusEnum('status').notNull().default('OPEN'),
    language: text('language'),
    topics: jsonb('topics').$type<TopicScore[]>().notNull().default([]),
    intent: text('intent'),
    sentimentScore: doublePrecision('sentiment_score'),
    sentimentLabel: sentimentLabelEnum('sentiment_label'),
    /** Seconds from the first customer message to the first reply by an agent or bot. */
    firstResponseSeconds: doublePrecision('first_response_seconds'),
    /** Seconds from the start to the end of a resolved conversation. */
    resolutionSeconds: doublePrecision('resolution_seconds'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('conversations_org_external_idx').on(t.orgId, t.externalId),
    index('conversations_org_started_idx').on(t.orgId, t.startedAt),
    index('conversations_org_inbox_idx').on(t.orgId, t.inbox),
  ],
);
export type Conversation = typeof conversations.$inferSelect;
export type NewConversation = typeof conversations.$inferInsert;

/**
 * One message of a conversation. `maskedText` is the text with personal data redacted, written
 * with it, so viewers below ADMIN read and search that form and never the raw one.
 */
export const conversationMessages = pgTable(
  'conversation_messages',
  {
    id: id(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    role: messageRoleEnum('role').notNull(),
    author: text('author'),
    text: text('text').notNull(),
    maskedText: text('masked_text').notNull(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }).notNull(),
    language: text('language'),
    sentimentScore: doublePrecision('sentiment_score'),
    sentimentLabel: sentimentLabelEnum('sentiment_label'),
    /** Translations by target language code. */
    translations: jsonb('translations').$type<Record<string, string>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('conversation_messages_position_idx').on(t.conversationId, t.position),
    index('conversation_messages_search_idx').using(
      'gin',
      sql`to_tsvector('simple', ${t.maskedText})`,
    ),
  ],
);
export type ConversationMessage = typeof conversationMessages.$inferSelect;
export type NewConversationMessage = typeof conversationMessages.$inferInsert;

/**
 * Who may read an organization's conversations beyond the defaults, in the shape of dataset
 * policies: an API key reads none unless a policy names it; `inboxes` limits the rows (null:
 * every inbox); `personalData` overrides the role default (clear for ADMIN and up, else masked).
 */
export const conversationPolicies = pgTable(
  'conversation_policies',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    principalKind: principalKindEnum('principal_kind').notNull(),
    principalRole: roleEnum('principal_role'),
    principalUserId: uuid('principal_user_id').references(() => users.id, { onDelete: 'cascade' }),
    principalApiKeyId: uuid('principal_api_key_id').references(() => apiKeys.id, {
      onDelete: 'cascade',
    }),
    inboxes: text('inboxes').array(),
    /**
     * Rows visible, in the dataset policies' filter language over conversation fields (channel,
     * inbox, status, language, intent, sentiment, customer.<attribute>), with `$viewer.…`
     * references; null: every row the inboxes allow.
     */
    rowFilter: jsonb('row_filter').$type<Record<string, unknown>>(),
    /** CLEAR or MASK; null: the role default. */
    personalData: text('personal_data'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('conversation_policies_role_idx')
      .on(t.orgId, t.principalRole)
      .where(sql`principal_kind = 'ROLE'`),
    uniqueIndex('conversation_policies_user_idx')
      .on(t.orgId, t.principalUserId)
      .where(sql`principal_kind = 'USER'`),
    uniqueIndex('conversation_policies_api_key_idx')
      .on(t.orgId, t.principalApiKeyId)
      .where(sql`principal_kind = 'API_KEY'`),
    index('conversation_policies_user_fk_idx').on(t.principalUserId),
    index('conversation_policies_api_key_fk_idx').on(t.principalApiKeyId),
  ],
);
export type ConversationPolicy = typeof conversationPolicies.$inferSelect;

/** An organization's topic taxonomy: topic → keyword → weight. */
/** A trained classifier chosen for a label: a model, and the alias naming its version. */
export interface ClassifierRef {
  modelId: string;
  alias: string | null;
}
export interface ConversationClassifiers {
  topic?: ClassifierRef;
  intent?: ClassifierRef;
}

export const conversationTaxonomies = pgTable('conversation_taxonomies', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  topics: jsonb('topics').$type<Record<string, Record<string, number>>>().notNull(),
  /**
   * RULES (default); LLM: categorize through the configured model (rules without a key); MODEL:
   * through the organization's trained classifiers in `classifiers`.
   */
  categorizer: text('categorizer').notNull().default('RULES'),
  /** The trained classifiers MODEL uses, by model and alias (null: its newest version). */
  classifiers: jsonb('classifiers').$type<ConversationClassifiers>().notNull().default({}),
  updatedAt: updatedAt(),
});

/** A record of the file that could not be ingested, by line (1-based). */
export interface IngestProblem {
  line: number;
  message: string;
}

/**
 * One bulk ingest: its validated records wait in its chunks, and `step` counts those written,
 * advanced in the transaction that writes each batch, so a worker killed mid-ingest resumes
 * after the last batch it committed.
 */
export const conversationIngestRuns = pgTable(
  'conversation_ingest_runs',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'set null' }),
    skipInvalid: boolean('skip_invalid').notNull().default(false),
    skipped: jsonb('skipped').$type<IngestProblem[]>().notNull().default([]),
    created: integer('created').notNull().default(0),
    updated: integer('updated').notNull().default(0),
    ...runState(),
  },
  (t) => [
    index('conversation_ingest_runs_org_idx').on(t.orgId),
    index('conversation_ingest_runs_created_by_idx').on(t.createdBy),
    index('conversation_ingest_runs_api_key_idx').on(t.apiKeyId),
  ],
);
export type ConversationIngestRun = typeof conversationIngestRuns.$inferSelect;

/**
 * The validated records of an ingest, in the file's order, `INGEST_CHUNK` per chunk (the last
 * one may hold fewer): record `i` is item `i % INGEST_CHUNK` of chunk `i / INGEST_CHUNK`. Written
 * while the file is read, so no row holds the whole file; kept as long as the run.
 */
export const conversationIngestChunks = pgTable(
  'conversation_ingest_chunks',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => conversationIngestRuns.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    records: jsonb('records').$type<unknown[]>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.seq] })],
);

/** Records per stored chunk of an ingest, and per batch its job writes. */
export const INGEST_CHUNK = 200;

/**
 * One re-categorization of an organization's conversations (after a taxonomy or categorizer
 * change): conversations are taken in id order, and `cursor` (the last id written) and
 * `recategorized` advance in the transaction that writes each batch, so a run handed back or
 * resumed continues after the last committed batch.
 */
export const conversationRecategorizeRuns = pgTable(
  'conversation_recategorize_runs',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    cursor: uuid('cursor'),
    recategorized: integer('recategorized').notNull().default(0),
    ...runState(),
  },
  (t) => [
    index('conversation_recategorize_runs_org_idx').on(t.orgId),
    index('conversation_recategorize_runs_created_by_idx').on(t.createdBy),
  ],
);
export type ConversationRecategorizeRun = typeof conversationRecategorizeRuns.$inferSelect;
