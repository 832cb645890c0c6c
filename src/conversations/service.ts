import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import {
  type Conversation,
  type ConversationClassifiers,
  type ConversationMessage,
  conversationMessages,
  conversations,
  conversationTaxonomies,
} from '../../db/schema/conversations';
import {
  type ConversationAccess,
  conversationAccess,
  conversationVisibleTo,
  inboxVisible,
  recordConversationRead,
} from '../access/conversations';
import type { AuthedContext } from '../context';
import { redactPersonalData } from '../datasets/pii';
import { InputError, NotFoundError } from '../errors';
import { type LlmDeps, LlmNotConfiguredError } from '../llm/client';
import { analyzeConversation, analyzeMessage } from './analyze';
import type { Categorizer, CategorizerAnswer } from './categorizer';
import { categorizeWithLlm, customerText } from './llm';
import { checkClassifiers, modelCategorization } from './model';
import type { ConversationRecord, MessageRecord } from './records';
import { checkTaxonomy, DEFAULT_TAXONOMY, type Taxonomy } from './topics';

/** A conversation or message as one viewer may read it. */
export type ConversationView = Conversation & { masked: boolean };
export type MessageView = ConversationMessage & { masked: boolean };

/** Access for reads: none at all (an API key no policy names) looks like an empty org. */
async function readAccess(ctx: AuthedContext): Promise<ConversationAccess | null> {
  return conversationAccess(ctx);
}

function viewOf(c: Conversation, access: ConversationAccess): ConversationView {
  return {
    ...c,
    customerRef: access.masked && c.customerRef ? redactPersonalData(c.customerRef) : c.customerRef,
    customerAttributes: access.masked
      ? Object.fromEntries(
          Object.entries(c.customerAttributes).map(([k, v]) => [
            k,
            typeof v === 'string' ? redactPersonalData(v) : v,
          ]),
        )
      : c.customerAttributes,
    masked: access.masked,
  };
}

export function messageView(m: ConversationMessage, masked: boolean): MessageView {
  // Translations are made from the redacted text (translate.ts): every viewer may read them.
  return masked ? { ...m, text: m.maskedText, masked } : { ...m, masked };
}

export interface ConversationFilter {
  channel?: string | null;
  inbox?: string | null;
  language?: string | null;
  intent?: string | null;
  topic?: string | null;
  sentiment?: Conversation['sentimentLabel'] | null;
  status?: Conversation['status'] | null;
  startedAfter?: Date | null;
  startedBefore?: Date | null;
}

/**
 * The viewer's conversations, newest first, filtered, and with `search` matching any message's
 * words (PostgreSQL full-text, `simple` configuration) — on the redacted text for viewers who
 * read it redacted, so personal data cannot be found by guessing it. Audited.
 */
export async function listConversations(
  ctx: AuthedContext,
  filter: ConversationFilter,
  search: string | null,
  page: { first: number; offset: number },
): Promise<{ items: ConversationView[]; total: number }> {
  if (!Number.isInteger(page.first) || page.first < 1 || page.first > 500)
    throw new InputError('first must be between 1 and 500.', 'first');
  const access = await readAccess(ctx);
  if (!access) return { items: [], total: 0 };
  const c = conversations;
  const conditions = [conversationVisibleTo(ctx.viewer, access)];
  if (filter.channel) conditions.push(eq(c.channel, filter.channel));
  if (filter.inbox) conditions.push(eq(c.inbox, filter.inbox));
  if (filter.language) conditions.push(eq(c.language, filter.language));
  if (filter.intent) conditions.push(eq(c.intent, filter.intent));
  if (filter.sentiment) conditions.push(eq(c.sentimentLabel, filter.sentiment));
  if (filter.status) conditions.push(eq(c.status, filter.status));
  if (filter.startedAfter)
    conditions.push(sql`${c.startedAt} >= ${filter.startedAfter.toISOString()}::timestamptz`);
  if (filter.startedBefore)
    conditions.push(sql`${c.startedAt} < ${filter.startedBefore.toISOString()}::timestamptz`);
  if (filter.topic)
    conditions.push(sql`${c.topics} @> ${JSON.stringify([{ topic: filter.topic }])}::jsonb`);
  const query = search?.trim();
  if (query) {
    if (query.includes('\u0000')) throw new InputError('search cannot contain NUL.', 'search');
    const column = access.masked ? sql`m.masked_text` : sql`m.text`;
    conditions.push(
      sql`exists (select 1 from ${conversationMessages} m where m.conversation_id = ${c.id} and to_tsvector('simple', ${column}) @@ plainto_tsquery('simple', ${query}))`,
    );
  }
  const where = and(...conditions);
  const [rows, [count]] = await Promise.all([
    ctx.db
      .select()
      .from(c)
      .where(where)
      .orderBy(desc(c.startedAt), asc(c.id))
      .limit(page.first)
      .offset(page.offset),
    ctx.db.select({ n: sql<number>`count(*)::int` }).from(c).where(where),
  ]);
  await recordConversationRead(ctx, {
    action: 'conversations.list',
    access,
    filter: { ...filter, search: query ?? null },
    rowCount: rows.length,
  });
  return { items: rows.map((r) => viewOf(r, access)), total: Number(count?.n ?? 0) };
}

/** One conversation the viewer may read, or NOT_FOUND (another org's looks the same). Audited. */
export async function getConversation(ctx: AuthedContext, id: string): Promise<ConversationView> {
  const access = await readAccess(ctx);
  if (!access) throw new NotFoundError('Conversation');
  const [row] = await ctx.db
    .select()
    .from(conversations)
    .where(and(eq(conversations.id, id), conversationVisibleTo(ctx.viewer, access)));
  if (!row) throw new NotFoundError('Conversation');
  await recordConversationRead(ctx, {
    action: 'conversations.read',
    access,
    filter: { id },
    rowCount: 1,
  });
  return viewOf(row, access);
}

/** Messages of conversations already loaded through the gate, in order. */
export async function messagesOf(
  db: Db,
  conversationIds: readonly string[],
): Promise<ConversationMessage[]> {
  if (conversationIds.length === 0) return [];
  return db
    .select()
    .from(conversationMessages)
    .where(inArray(conversationMessages.conversationId, [...conversationIds]))
    .orderBy(asc(conversationMessages.conversationId), asc(conversationMessages.position));
}

/** One message for a subscriber, through the gate; null when they may not read it now. */
export async function messageFor(
  ctx: AuthedContext,
  messageId: string,
): Promise<MessageView | null> {
  const access = await readAccess(ctx);
  if (!access) return null;
  const [row] = await ctx.db
    .select({ m: conversationMessages })
    .from(conversationMessages)
    .innerJoin(conversations, eq(conversations.id, conversationMessages.conversationId))
    .where(and(eq(conversationMessages.id, messageId), conversationVisibleTo(ctx.viewer, access)));
  if (!row) return null;
  await recordConversationRead(ctx, {
    action: 'conversations.event',
    access,
    filter: { messageId },
    rowCount: 1,
  });
  return messageView(row.m, access.masked);
}

/** Whether the viewer may now read one conversation (for each stream event). */
export async function conversationReadable(
  ctx: AuthedContext,
  conversationId: string,
): Promise<boolean> {
  const access = await readAccess(ctx);
  if (!access) return false;
  const [row] = await ctx.db
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.id, conversationId), conversationVisibleTo(ctx.viewer, access)));
  return row !== undefined;
}

/** Whether the viewer may now follow an inbox (for stream re-checks). */
export async function inboxReadable(ctx: AuthedContext, inbox: string): Promise<boolean> {
  const access = await readAccess(ctx);
  return access !== null && inboxVisible(access, inbox);
}

/** The organization's taxonomy, or the default one. */
export async function taxonomyOf(db: Db, orgId: string): Promise<Taxonomy> {
  return (await categorizationOf(db, orgId)).taxonomy;
}

export interface Categorization {
  taxonomy: Taxonomy;
  categorizer: Categorizer;
  /** The trained classifiers MODEL uses. */
  classifiers: ConversationClassifiers;
}

/** The organization's taxonomy and categorizer (the default taxonomy and RULES until set). */
export async function categorizationOf(db: Db, orgId: string): Promise<Categorization> {
  const [row] = await db
    .select()
    .from(conversationTaxonomies)
    .where(eq(conversationTaxonomies.orgId, orgId));
  return {
    taxonomy: row?.topics ?? DEFAULT_TAXONOMY,
    categorizer: (row?.categorizer as Categorizer | undefined) ?? 'RULES',
    classifiers: row?.classifiers ?? {},
  };
}

/**
 * The chosen categorizer's answer for a conversation: the LLM's when the organization chose LLM
 * and a key is configured, its trained classifiers' with MODEL (`modelCategorization`); null
 * otherwise (the rules categorize). Call outside any transaction.
 */
export async function categorizerAnswer(
  deps: LlmDeps,
  settings: Categorization,
  record: Pick<ConversationRecord, 'messages'>,
): Promise<CategorizerAnswer | null> {
  if (settings.categorizer === 'MODEL')
    return modelCategorization(deps, settings.classifiers, record);
  if (settings.categorizer !== 'LLM' || !deps.config.openai.apiKey) return null;
  return categorizeWithLlm(deps, customerText(record), settings.taxonomy);
}

/**
 * Appends a message from a live feed: the message is categorized once, the conversation's
 * analytics are recomputed from its messages' stored analyses, both in one transaction; the
 * event is published after it commits.
 */
export async function addMessage(
  ctx: AuthedContext,
  conversationId: string,
  message: MessageRecord,
): Promise<{ conversation: ConversationView; message: MessageView }> {
  const access = await readAccess(ctx);
  if (!access) throw new NotFoundError('Conversation');
  const settings = await categorizationOf(ctx.db, ctx.viewer.orgId);
  const taxonomy = settings.taxonomy;
  // The model is asked before the transaction (its cache lives in the database too), about the
  // customer messages stored so far and the new one.
  let answer: CategorizerAnswer | null = null;
  if (
    settings.categorizer === 'MODEL' ||
    (settings.categorizer === 'LLM' && ctx.config.openai.apiKey)
  ) {
    const [visible] = await ctx.db
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.id, conversationId), conversationVisibleTo(ctx.viewer, access)));
    if (!visible) throw new NotFoundError('Conversation');
    const earlier = await messagesOf(ctx.db, [conversationId]);
    answer = await categorizerAnswer(ctx, settings, { messages: [...earlier, message] });
  }
  const { conversation, added } = await ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(conversations)
      .where(and(eq(conversations.id, conversationId), conversationVisibleTo(ctx.viewer, access)))
      .for('update');
    if (!current) throw new NotFoundError('Conversation');
    const [{ next }] = (await tx
      .select({ next: sql<number>`coalesce(max(${conversationMessages.position}) + 1, 0)::int` })
      .from(conversationMessages)
      .where(eq(conversationMessages.conversationId, conversationId))) as [{ next: number }];
    const [added] = await tx
      .insert(conversationMessages)
      .values({
        conversationId,
        position: Number(next),
        role: message.role,
        author: message.author ?? null,
        text: message.text,
        maskedText: redactPersonalData(message.text),
        sentAt: message.sentAt,
        ...analyzeMessage(message.role, message.text),
      })
      .returning();
    const all = await messagesOf(tx, [conversationId]);
    const analysis = { ...analyzeConversation(all, current, taxonomy), ...(answer ?? {}) };
    const [conversation] = await tx
      .update(conversations)
      .set({ ...analysis, updatedAt: new Date() })
      .where(eq(conversations.id, conversationId))
      .returning();
    return { conversation: conversation!, added: added! };
  });
  ctx.events.publish(`conversationEvents:${ctx.viewer.orgId}`, {
    kind: 'MESSAGE_ADDED',
    conversationId,
    messageId: added.id,
    inbox: conversation.inbox,
  });
  return { conversation: viewOf(conversation, access), message: messageView(added, access.masked) };
}

/**
 * Replaces the organization's taxonomy. Conversations written from now on use it; existing ones
 * keep their topics until they are written again.
 */
export async function setTaxonomy(
  ctx: AuthedContext,
  taxonomy: Taxonomy,
  categorizer: Categorizer | null = null,
  classifiers: ConversationClassifiers | null = null,
): Promise<{ topics: Taxonomy; categorizer: Categorizer; classifiers: ConversationClassifiers }> {
  const problem = checkTaxonomy(taxonomy);
  if (problem) throw new InputError(problem, 'taxonomy');
  if (categorizer === 'LLM' && !ctx.config.openai.apiKey) throw new LlmNotConfiguredError();
  const orgId = ctx.viewer.orgId;
  const current = await categorizationOf(ctx.db, orgId);
  const chosen = categorizer ?? current.categorizer;
  let models = classifiers ?? current.classifiers;
  // MODEL is refused without a trained classifier; the classifiers are checked when given or used.
  if (chosen === 'MODEL' || classifiers) models = await checkClassifiers(ctx, models);
  await ctx.db
    .insert(conversationTaxonomies)
    .values({ orgId, topics: taxonomy, categorizer: chosen, classifiers: models })
    .onConflictDoUpdate({
      target: conversationTaxonomies.orgId,
      set: { topics: taxonomy, categorizer: chosen, classifiers: models, updatedAt: new Date() },
    });
  return { topics: taxonomy, categorizer: chosen, classifiers: models };
}
