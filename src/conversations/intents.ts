import type { MessageRole } from '../../db/schema/conversations';

/** Intents, each recognized by patterns in English, Spanish, French and German. */
const INTENTS: Array<{ intent: string; pattern: RegExp; weight: number }> = [
  {
    intent: 'CANCEL',
    pattern: /\b(?:cancel|unsubscribe|close my account|cancelar|kündigen|résilier)/i,
    weight: 3,
  },
  {
    intent: 'REFUND_REQUEST',
    pattern: /\b(?:refund|money back|reembolso|remboursement|rückerstattung)/i,
    weight: 3,
  },
  {
    intent: 'COMPLAINT',
    pattern: /\b(?:terrible|awful|unacceptable|worst|disappointed|angry|ridiculous|complain)/i,
    weight: 2,
  },
  {
    intent: 'BUG_REPORT',
    pattern: /\b(?:crash\w*|error|bug|broken|not working|doesn't work|stopped working)/i,
    weight: 2,
  },
  {
    intent: 'ORDER_STATUS',
    pattern:
      /\b(?:where is my|tracking|hasn't arrived|never arrived|not arrived|dónde está|wo ist)/i,
    weight: 2,
  },
  {
    intent: 'ACCOUNT_ACCESS',
    pattern:
      /\b(?:can't log in|cannot log in|reset (?:my )?password|locked out|forgot (?:my )?password)/i,
    weight: 3,
  },
  {
    intent: 'PRAISE',
    pattern: /\b(?:thank you so much|great job|love (?:it|this)|amazing|excellent service)/i,
    weight: 1,
  },
  {
    intent: 'QUESTION',
    pattern: /\?|^(?:how|what|when|where|why|can|could|is|are|do|does)\b/i,
    weight: 1,
  },
];

/** Every intent the categorizers may give. */
export const INTENT_NAMES = [
  'CANCEL',
  'REFUND_REQUEST',
  'COMPLAINT',
  'BUG_REPORT',
  'ORDER_STATUS',
  'ACCOUNT_ACCESS',
  'PRAISE',
  'QUESTION',
] as const;

/** The opening customer message says why they came: its matches count this much more. */
const OPENING_WEIGHT = 3;

/**
 * The intent of a conversation from its customer messages: each pattern that matches a message
 * adds its weight, the first customer message weighing more; null when nothing matches.
 */
export function intentOf(
  messages: ReadonlyArray<{ role: MessageRole; text: string }>,
): string | null {
  const scores = new Map<string, number>();
  let opening = true;
  for (const m of messages) {
    if (m.role !== 'USER') continue;
    for (const { intent, pattern, weight } of INTENTS) {
      if (pattern.test(m.text))
        scores.set(intent, (scores.get(intent) ?? 0) + weight * (opening ? OPENING_WEIGHT : 1));
    }
    opening = false;
  }
  let best: string | null = null;
  let bestScore = 0;
  for (const [intent, score] of scores) {
    if (score > bestScore) {
      best = intent;
      bestScore = score;
    }
  }
  return best;
}
