import { z } from 'zod';
import { SENTIMENT_LABELS, type TopicScore } from '../../db/schema/conversations';
import { redactPersonalData } from '../datasets/pii';
import { completeStructured, type LlmDeps } from '../llm/client';
import type { CategorizerAnswer } from './categorizer';
import { INTENT_NAMES } from './intents';
import type { ConversationRecord } from './records';
import type { Taxonomy } from './topics';

/**
 * The answer's shape, checked before anything is stored: topics only from the organization's
 * taxonomy, intents only the known ones, a score in [-1, 1] and a two-letter language code.
 */
function answerSchema(taxonomy: Taxonomy) {
  const topics = Object.keys(taxonomy) as [string, ...string[]];
  return z.object({
    language: z
      .string()
      .regex(/^[a-z]{2}$/)
      .nullable(),
    topics: z.array(z.object({ topic: z.enum(topics), score: z.number().min(0).max(1) })).max(3),
    intent: z.enum(INTENT_NAMES).nullable(),
    sentiment: z.enum(SENTIMENT_LABELS),
    sentimentScore: z.number().min(-1).max(1),
  });
}

/** The customer's messages of a conversation, redacted, one per line: what the model reads. */
export function customerText(record: Pick<ConversationRecord, 'messages'>): string {
  return record.messages
    .filter((m) => m.role === 'USER')
    .map((m) => redactPersonalData(m.text))
    .join('\n');
}

/**
 * Categorizes a conversation's customer text through the configured model (Structured Outputs,
 * validated against the schema above). The model only reads redacted text, so personal data never
 * reaches the provider. Answers are cached in `llm_cache` by a hash of model, prompt and text, so
 * re-ingesting the same conversation costs no call. Throws LLM_NOT_CONFIGURED without a key,
 * LLM_UNAVAILABLE and LLM_BAD_OUTPUT as `completeStructured` does.
 */
export async function categorizeWithLlm(
  deps: LlmDeps,
  text: string,
  taxonomy: Taxonomy,
): Promise<CategorizerAnswer | null> {
  if (!text.trim()) return null;
  const topics = Object.entries(taxonomy)
    .map(([topic, keywords]) => `- ${topic}: ${Object.keys(keywords).slice(0, 12).join(', ')}`)
    .join('\n');
  const { value } = await completeStructured(deps, {
    name: 'categorize_conversation',
    system: [
      'You categorize customer-support conversations. The user message holds what the customer wrote, one message per line; "***" stands for redacted personal data.',
      `Topics (name: example keywords); list at most 3 that apply, best first, each with a score in [0, 1] (shares summing to 1), or none:\n${topics}`,
      `Intent: one of ${INTENT_NAMES.join(', ')}, or null when none applies.`,
      'Sentiment of the customer: POSITIVE, NEGATIVE, NEUTRAL, or MIXED when clearly positive and clearly negative parts meet; sentimentScore from -1 to 1.',
      'Language: the ISO 639-1 code of the language the customer writes in, or null when it cannot be told.',
    ].join('\n\n'),
    user: text,
    schema: answerSchema(taxonomy),
  });
  const ranked: TopicScore[] = [...value.topics].sort(
    (a, b) => b.score - a.score || a.topic.localeCompare(b.topic),
  );
  return {
    language: value.language,
    topics: ranked,
    intent: value.intent,
    sentimentScore: value.sentimentScore,
    sentimentLabel: value.sentiment,
  };
}
