import type { ConversationAnalysis } from './analyze';

/** Who categorizes an organization's conversations: the rules, the LLM or its trained classifiers. */
export const CATEGORIZERS = ['RULES', 'LLM', 'MODEL'] as const;
export type Categorizer = (typeof CATEGORIZERS)[number];

/**
 * What a categorizer other than the rules decides (the LLM all of it, trained classifiers topics
 * and intent); what it leaves out and the rest of a conversation's analytics stay computed.
 */
export type CategorizerAnswer = Partial<
  Pick<ConversationAnalysis, 'language' | 'topics' | 'intent' | 'sentimentScore' | 'sentimentLabel'>
>;
