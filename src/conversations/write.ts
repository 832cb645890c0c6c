import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import type { AnalyzedRecord } from './analyze';
import type { CategorizerAnswer } from './categorizer';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** A categorized record to write, with the chosen categorizer's answer when one replaces the rules'. */
export interface RecordToWrite {
  record: AnalyzedRecord;
  answer: CategorizerAnswer | null;
}

/** What writing one record did: the conversation it is now, and whether it was new. */
export interface WrittenConversation {
  conversation: { id: string; inbox: string };
  created: boolean;
}

function rowsOf(result: unknown): Array<Record<string, unknown>> {
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<
    Record<string, unknown>
  >;
}

/**
 * Writes categorized records by external id in at most three statements however many there
 * are: one upsert of the conversations (`xmax = 0` on a returned row: it was inserted), one
 * delete of the previous messages of those that existed, and one insert of the messages, each
 * row set passed as one JSON parameter. A record whose external id comes again later in the
 * list is replaced by the later one, as writing them one after the other would: the first
 * occurrence counts as created when the conversation was new, every other as updated. Results
 * are in the records' order. Call inside a transaction.
 */
export async function writeConversations(
  tx: Tx | Db,
  orgId: string,
  items: readonly RecordToWrite[],
): Promise<WrittenConversation[]> {
  if (items.length === 0) return [];
  const last = new Map<string, RecordToWrite>();
  for (const item of items) last.set(item.record.externalId, item);
  const now = new Date().toISOString();
  const conversationRows = [...last.values()].map(({ record: r, answer }) => {
    const a = { ...r.analysis, ...(answer ?? {}) };
    return {
      external_id: r.externalId,
      channel: r.channel,
      inbox: r.inbox,
      customer_ref: r.customerRef,
      customer_attributes: r.customerAttributes,
      started_at: r.startedAt.toISOString(),
      ended_at: r.endedAt?.toISOString() ?? null,
      status: r.status,
      language: a.language,
      topics: a.topics,
      intent: a.intent,
      sentiment_score: a.sentimentScore,
      sentiment_label: a.sentimentLabel,
      first_response_seconds: a.firstResponseSeconds,
      resolution_seconds: a.resolutionSeconds,
      metadata: r.metadata,
    };
  });
  const upserted = rowsOf(
    await tx.execute(sql`
      insert into conversations as c (org_id, external_id, channel, inbox, customer_ref,
        customer_attributes, started_at, ended_at, status, language, topics, intent,
        sentiment_score, sentiment_label, first_response_seconds, resolution_seconds, metadata,
        updated_at)
      select ${orgId}::uuid, x.external_id, x.channel, x.inbox, x.customer_ref,
        x.customer_attributes, x.started_at, x.ended_at, x.status::conversation_status,
        x.language, x.topics, x.intent, x.sentiment_score,
        x.sentiment_label::sentiment_label, x.first_response_seconds, x.resolution_seconds,
        x.metadata, ${now}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(conversationRows)}::jsonb) as x(
        external_id text, channel text, inbox text, customer_ref text, customer_attributes jsonb,
        started_at timestamptz, ended_at timestamptz, status text, language text, topics jsonb,
        intent text, sentiment_score double precision, sentiment_label text,
        first_response_seconds double precision, resolution_seconds double precision,
        metadata jsonb)
      on conflict (org_id, external_id) do update set
        channel = excluded.channel, inbox = excluded.inbox, customer_ref = excluded.customer_ref,
        customer_attributes = excluded.customer_attributes, started_at = excluded.started_at,
        ended_at = excluded.ended_at, status = excluded.status, language = excluded.language,
        topics = excluded.topics, intent = excluded.intent,
        sentiment_score = excluded.sentiment_score, sentiment_label = excluded.sentiment_label,
        first_response_seconds = excluded.first_response_seconds,
        resolution_seconds = excluded.resolution_seconds, metadata = excluded.metadata,
        updated_at = excluded.updated_at
      returning c.id, c.external_id, c.inbox, (c.xmax = 0) as created`),
  );
  const byExternalId = new Map(
    upserted.map((row) => [
      String(row.external_id),
      { id: String(row.id), inbox: String(row.inbox), created: row.created === true },
    ]),
  );
  // A conversation just inserted has no messages yet: only updated ones lose their old ones.
  const updated = [...byExternalId.values()].filter((c) => !c.created).map((c) => c.id);
  if (updated.length > 0)
    await tx.execute(
      sql`delete from conversation_messages where conversation_id = any(${`{${updated.join(',')}}`}::uuid[])`,
    );
  const messageRows = [...last.values()].flatMap(({ record: r }) => {
    const conversationId = byExternalId.get(r.externalId)!.id;
    return r.messages.map((m) => ({
      conversation_id: conversationId,
      position: m.position,
      role: m.role,
      author: m.author,
      text: m.text,
      masked_text: m.maskedText,
      sent_at: m.sentAt.toISOString(),
      language: m.language,
      sentiment_score: m.sentimentScore,
      sentiment_label: m.sentimentLabel,
    }));
  });
  await tx.execute(sql`
    insert into conversation_messages (conversation_id, position, role, author, text,
      masked_text, sent_at, language, sentiment_score, sentiment_label)
    select x.conversation_id, x.position, x.role::message_role, x.author, x.text, x.masked_text,
      x.sent_at, x.language, x.sentiment_score, x.sentiment_label::sentiment_label
    from jsonb_to_recordset(${JSON.stringify(messageRows)}::jsonb) as x(
      conversation_id uuid, "position" integer, "role" text, author text, "text" text,
      masked_text text, sent_at timestamptz, language text, sentiment_score double precision,
      sentiment_label text)`);
  const seen = new Set<string>();
  return items.map(({ record }) => {
    const written = byExternalId.get(record.externalId)!;
    const first = !seen.has(record.externalId);
    seen.add(record.externalId);
    return {
      conversation: { id: written.id, inbox: written.inbox },
      created: written.created && first,
    };
  });
}
