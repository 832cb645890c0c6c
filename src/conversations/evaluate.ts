import type { SentimentLabel } from '../../db/schema/conversations';
import { intentOf } from './intents';
import { languageOf } from './language';
import { sentimentOf } from './sentiment';
import { DEFAULT_TAXONOMY, type Taxonomy, topicsOf } from './topics';

/** One labelled message of an evaluation set (test/fixtures/conversations-eval.ndjson). */
export interface EvalItem {
  id: number;
  text: string;
  /** ISO 639-1 code of the language it is written in. */
  language: string;
  sentiment: SentimentLabel;
  /** Main topic of the default taxonomy, null when none applies. */
  topic: string | null;
  /** Intent, null when none applies. */
  intent: string | null;
}

/** What a categorizer says about one message; null where it has no answer. */
export interface Prediction {
  language: string | null;
  sentiment: SentimentLabel;
  topic: string | null;
  intent: string | null;
}

/** The rule-based categorizer on one customer message, as ingest applies it. */
export function ruleBasedPrediction(text: string, taxonomy: Taxonomy = DEFAULT_TAXONOMY) {
  return {
    language: languageOf(text),
    sentiment: sentimentOf(text).label,
    topic: topicsOf(text, taxonomy)[0]?.topic ?? null,
    intent: intentOf([{ role: 'USER', text }]),
  } satisfies Prediction;
}

/** Absent (null) compares as a label of its own. */
const NONE = '(none)';
const key = (v: string | null) => v ?? NONE;

export interface ClassScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/**
 * Accuracy and macro-averaged F1 of predictions against gold labels. Classes are every label seen
 * in either list (scikit-learn's `f1_score(average="macro")` convention); a class whose precision
 * and recall are both 0 (or undefined) has F1 0.
 */
export function classificationScores(
  gold: ReadonlyArray<string | null>,
  predicted: ReadonlyArray<string | null>,
): { accuracy: number; macroF1: number; classes: ClassScores[] } {
  if (gold.length !== predicted.length) throw new Error('gold and predicted differ in length');
  if (gold.length === 0) throw new Error('nothing to score');
  const labels = [...new Set([...gold.map(key), ...predicted.map(key)])].sort();
  let correct = 0;
  const tp = new Map<string, number>();
  const goldCount = new Map<string, number>();
  const predCount = new Map<string, number>();
  gold.forEach((g, i) => {
    const a = key(g);
    const b = key(predicted[i]!);
    goldCount.set(a, (goldCount.get(a) ?? 0) + 1);
    predCount.set(b, (predCount.get(b) ?? 0) + 1);
    if (a === b) {
      correct++;
      tp.set(a, (tp.get(a) ?? 0) + 1);
    }
  });
  const classes = labels.map((label) => {
    const t = tp.get(label) ?? 0;
    const p = predCount.get(label) ?? 0;
    const s = goldCount.get(label) ?? 0;
    const precision = p === 0 ? 0 : t / p;
    const recall = s === 0 ? 0 : t / s;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support: s };
  });
  return {
    accuracy: correct / gold.length,
    macroF1: classes.reduce((sum, c) => sum + c.f1, 0) / classes.length,
    classes,
  };
}

export interface EvaluationReport {
  messages: number;
  sentiment: { accuracy: number; macroF1: number; classes: ClassScores[] };
  topicAccuracy: number;
  intentAccuracy: number;
  languageAccuracy: number;
  /** Language accuracy per gold language. */
  languages: Record<string, { messages: number; accuracy: number }>;
}

/** Scores a categorizer on a labelled set. */
export function evaluate(
  items: readonly EvalItem[],
  predict: (text: string) => Prediction,
): EvaluationReport {
  const predictions = items.map((item) => predict(item.text));
  const score = (field: keyof Prediction) =>
    classificationScores(
      items.map((item) => item[field]),
      predictions.map((p) => p[field]),
    );
  const languages: EvaluationReport['languages'] = {};
  items.forEach((item, i) => {
    languages[item.language] ??= { messages: 0, accuracy: 0 };
    const entry = languages[item.language]!;
    entry.messages++;
    if (predictions[i]!.language === item.language) entry.accuracy++;
  });
  for (const entry of Object.values(languages)) entry.accuracy /= entry.messages;
  return {
    messages: items.length,
    sentiment: score('sentiment'),
    topicAccuracy: score('topic').accuracy,
    intentAccuracy: score('intent').accuracy,
    languageAccuracy: score('language').accuracy,
    languages,
  };
}

/** Reads an NDJSON evaluation set. */
export function parseEvalSet(content: string): EvalItem[] {
  return content
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as EvalItem);
}
