import type {
  ConversationStatus,
  MessageRole,
  SentimentLabel,
  TopicScore,
} from '../../db/schema/conversations';
import { redactPersonalData } from '../datasets/pii';
import { intentOf } from './intents';
import { languageOf } from './language';
import type { ConversationRecord } from './records';
import { labelOfScores, sentimentOf } from './sentiment';
import { type Taxonomy, topicsOf } from './topics';

/** What categorization stores on each message, computed once when the message arrives. */
export interface MessageAnalysis {
  language: string | null;
  sentimentScore: number | null;
  sentimentLabel: SentimentLabel | null;
}

/** Customer and agent messages carry sentiment; system notices carry none. */
export function analyzeMessage(role: MessageRole, text: string): MessageAnalysis {
  if (role === 'SYSTEM') return { language: null, sentimentScore: null, sentimentLabel: null };
  const sentiment = sentimentOf(text);
  return {
    language: languageOf(text),
    sentimentScore: sentiment.score,
    sentimentLabel: sentiment.label,
  };
}

export interface AnalyzedMessage extends MessageAnalysis {
  role: MessageRole;
  text: string;
  sentAt: Date;
}

export interface ConversationAnalysis {
  language: string | null;
  topics: TopicScore[];
  intent: string | null;
  sentimentScore: number | null;
  sentimentLabel: SentimentLabel | null;
  firstResponseSeconds: number | null;
  resolutionSeconds: number | null;
}

/**
 * A conversation's analytics from its messages' stored analyses: language, sentiment and topics
 * from what the customer wrote; first response from the first customer message to the first
 * agent or bot reply after it; resolution from the start to the end of a resolved conversation.
 */
export function analyzeConversation(
  messages: readonly AnalyzedMessage[],
  conversation: { startedAt: Date; endedAt: Date | null; status: ConversationStatus },
  taxonomy: Taxonomy,
): ConversationAnalysis {
  const ordered = [...messages].sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime());
  const customer = ordered.filter((m) => m.role === 'USER');
  const languages = new Map<string, number>();
  for (const m of customer)
    if (m.language) languages.set(m.language, (languages.get(m.language) ?? 0) + m.text.length);
  const language = [...languages].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  const sentiment = labelOfScores(
    customer.flatMap((m) =>
      m.sentimentScore === null || m.sentimentLabel === null
        ? []
        : [{ score: m.sentimentScore, label: m.sentimentLabel }],
    ),
  );
  const firstAsk = customer[0];
  const reply = firstAsk
    ? ordered.find(
        (m) =>
          (m.role === 'AGENT' || m.role === 'BOT') &&
          m.sentAt.getTime() >= firstAsk.sentAt.getTime(),
      )
    : undefined;
  const seconds = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 1000;
  return {
    language,
    topics: topicsOf(customer.map((m) => m.text).join('\n'), taxonomy),
    intent: intentOf(ordered),
    sentimentScore: sentiment?.score ?? null,
    sentimentLabel: sentiment?.label ?? null,
    firstResponseSeconds: firstAsk && reply ? seconds(firstAsk.sentAt, reply.sentAt) : null,
    resolutionSeconds:
      conversation.status === 'RESOLVED' && conversation.endedAt
        ? seconds(conversation.startedAt, conversation.endedAt)
        : null,
  };
}

/** A message of a record as it is stored: its place in time order, redacted form and analysis. */
export interface AnalyzedMessageRow extends AnalyzedMessage {
  position: number;
  author: string | null;
  maskedText: string;
}

/** A conversation record categorized and redacted, ready to be written by its external id. */
export interface AnalyzedRecord {
  externalId: string;
  channel: string;
  inbox: string;
  customerRef: string | null;
  customerAttributes: Record<string, unknown>;
  startedAt: Date;
  endedAt: Date | null;
  status: ConversationStatus;
  metadata: Record<string, unknown>;
  analysis: ConversationAnalysis;
  /** In the record's order; `position` numbers them by time. */
  messages: AnalyzedMessageRow[];
}

/**
 * Everything the rules compute for one conversation record: each message's analysis and
 * redacted text, positions by time, and the conversation's analytics. Pure and CPU-bound: the
 * ingest job runs it in pool processes, a batch at a time.
 */
export function analyzeRecord(record: ConversationRecord, taxonomy: Taxonomy): AnalyzedRecord {
  const messages: AnalyzedMessageRow[] = record.messages.map((m) => ({
    role: m.role,
    author: m.author ?? null,
    text: m.text,
    maskedText: redactPersonalData(m.text),
    sentAt: m.sentAt,
    position: 0,
    ...analyzeMessage(m.role, m.text),
  }));
  const ordered = [...messages].sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime());
  ordered.forEach((m, position) => {
    m.position = position;
  });
  const startedAt = record.startedAt ?? ordered[0]!.sentAt;
  const status = record.status ?? 'OPEN';
  const endedAt = record.endedAt ?? (status === 'RESOLVED' ? ordered.at(-1)!.sentAt : null);
  return {
    externalId: record.externalId,
    channel: record.channel,
    inbox: record.inbox,
    customerRef: record.customerRef ?? null,
    customerAttributes: record.customerAttributes ?? {},
    startedAt,
    endedAt,
    status,
    metadata: record.metadata ?? {},
    analysis: analyzeConversation(ordered, { startedAt, endedAt, status }, taxonomy),
    messages,
  };
}
