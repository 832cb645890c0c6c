import model from 'wink-eng-lite-web-model';
import winkNLP from 'wink-nlp';
import type { SentimentLabel } from '../../db/schema/conversations';

// Only what sentiment reads: sentence boundaries, negation and the sentiment scores (named
// entities and part-of-speech tags would change nothing here and cost a third of the time).
const nlp = winkNLP(model, ['sbd', 'negation', 'sentiment']);
const its = nlp.its;

/** A clause must score past this to count as positive or negative. */
const POLARITY = 0.1;
/**
 * Words that turn a sentence around: what follows usually carries the writer's verdict
 * ("helpful, but the app is terrible"), so the clause after one weighs more.
 */
const CONTRAST = /\b(?:but|however|although|though|yet|except|unfortunately)\b/i;
const AFTER_CONTRAST_WEIGHT = 2;
/**
 * wink-nlp's normalized score saturates on short texts ("good" and "very good" score alike):
 * degree adverbs scale a clause's score up or down. A closed class of words, not a lexicon.
 */
const INTENSIFIER =
  /\b(?:very|really|so|extremely|incredibly|totally|absolutely|super|truly|completely|highly)\b/gi;
const DAMPENER = /\b(?:slightly|somewhat|a bit|a little|kind of|sort of|fairly|rather)\b/gi;
const INTENSIFIER_GAIN = 0.2;
const DAMPENER_FACTOR = 0.6;

export interface Sentiment {
  /** -1 (negative) to 1 (positive). */
  score: number;
  label: SentimentLabel;
}

/**
 * Sentiment of a text: wink-nlp scores each clause (its lexicon handles negation and
 * intensifiers: "not good" is negative, "very good" more positive than "good"); sentences are
 * split again at contrast words, and degree adverbs scale a clause. A text with clearly positive and clearly negative clauses is
 * MIXED; its score leans to the clauses after a contrast word.
 */
export function sentimentOf(text: string): Sentiment {
  const clauses: Array<{ score: number; weight: number }> = [];
  const doc = nlp.readDoc(text);
  const sentences = doc.sentences().out() as string[];
  for (const sentence of sentences) {
    const parts = sentence.split(CONTRAST);
    parts.forEach((part, i) => {
      if (!/[\p{L}\p{N}]/u.test(part)) return;
      // A text that is one clause is read once: its document is the clause's.
      const whole = sentences.length === 1 && part === text;
      const base = (whole ? doc : nlp.readDoc(part)).out(its.sentiment) as unknown as number;
      const up = part.match(INTENSIFIER)?.length ?? 0;
      const down = part.match(DAMPENER)?.length ?? 0;
      const scaled = base * (1 + INTENSIFIER_GAIN * up) * DAMPENER_FACTOR ** down;
      const score = Math.max(-1, Math.min(1, scaled));
      clauses.push({ score, weight: i > 0 ? AFTER_CONTRAST_WEIGHT : 1 });
    });
  }
  if (clauses.length === 0) return { score: 0, label: 'NEUTRAL' };
  const total = clauses.reduce((sum, c) => sum + c.weight, 0);
  const score = clauses.reduce((sum, c) => sum + c.score * c.weight, 0) / total;
  const positive = clauses.some((c) => c.score >= POLARITY);
  const negative = clauses.some((c) => c.score <= -POLARITY);
  return { score, label: labelOf(score, positive, negative) };
}

function labelOf(score: number, positive: boolean, negative: boolean): SentimentLabel {
  if (positive && negative) return 'MIXED';
  if (score >= POLARITY) return 'POSITIVE';
  if (score <= -POLARITY) return 'NEGATIVE';
  return 'NEUTRAL';
}

/** The label of an average score over several texts (a conversation's customer messages). */
export function labelOfScores(scores: readonly Sentiment[]): Sentiment | null {
  if (scores.length === 0) return null;
  const score = scores.reduce((sum, s) => sum + s.score, 0) / scores.length;
  const positive = scores.some((s) => s.label === 'POSITIVE' || s.label === 'MIXED');
  const negative = scores.some((s) => s.label === 'NEGATIVE' || s.label === 'MIXED');
  return { score, label: labelOf(score, positive, negative) };
}
