import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classificationScores,
  evaluate,
  parseEvalSet,
  ruleBasedPrediction,
} from '../../src/conversations/evaluate';

const items = parseEvalSet(
  readFileSync(new URL('../fixtures/conversations-eval.ndjson', import.meta.url), 'utf8'),
);

describe('classification scores', () => {
  it('match a hand-checked confusion matrix', () => {
    // gold A A A B B C C C C -, predicted A B A B C C C A - -; checked by hand and with
    // python's fractions: A p=r=2/3, B p=r=1/2, C p=2/3 r=1/2 F1=4/7, none p=1/2 r=1 F1=2/3;
    // macro-F1 = 101/168, accuracy 6/10.
    const gold = ['A', 'A', 'A', 'B', 'B', 'C', 'C', 'C', 'C', null];
    const predicted = ['A', 'B', 'A', 'B', 'C', 'C', 'C', 'A', null, null];
    const scores = classificationScores(gold, predicted);
    expect(scores.accuracy).toBeCloseTo(0.6, 12);
    expect(scores.macroF1).toBeCloseTo(101 / 168, 12);
    const byLabel = Object.fromEntries(scores.classes.map((c) => [c.label, c]));
    expect(byLabel.C).toMatchObject({ support: 4 });
    expect(byLabel.C!.precision).toBeCloseTo(2 / 3, 12);
    expect(byLabel.C!.recall).toBeCloseTo(1 / 2, 12);
    expect(byLabel.C!.f1).toBeCloseTo(4 / 7, 12);
    expect(byLabel['(none)']!.f1).toBeCloseTo(2 / 3, 12);
  });

  it('give a class never predicted and never right an F1 of 0', () => {
    const scores = classificationScores(['X', 'Y'], ['Y', 'Y']);
    expect(scores.classes.find((c) => c.label === 'X')!.f1).toBe(0);
    // Y: precision 1/2, recall 1, F1 2/3; macro (0 + 2/3) / 2
    expect(scores.macroF1).toBeCloseTo(1 / 3, 12);
  });

  it('refuse lists of different lengths or none', () => {
    expect(() => classificationScores(['A'], [])).toThrow();
    expect(() => classificationScores([], [])).toThrow();
  });
});

describe('the evaluation set', () => {
  it('holds at least 300 labelled messages in several languages', () => {
    expect(items.length).toBeGreaterThanOrEqual(300);
    expect(new Set(items.map((i) => i.text)).size).toBe(items.length);
    expect(new Set(items.map((i) => i.language)).size).toBeGreaterThanOrEqual(5);
    for (const label of ['POSITIVE', 'NEGATIVE', 'NEUTRAL', 'MIXED'])
      expect(items.some((i) => i.sentiment === label)).toBe(true);
  });

  it('is scored as a direct count of agreements', () => {
    const subset = items.slice(0, 60);
    const report = evaluate(subset, ruleBasedPrediction);
    const predictions = subset.map((i) => ruleBasedPrediction(i.text));
    const agree = (f: 'sentiment' | 'topic' | 'intent' | 'language') =>
      subset.filter((item, k) => item[f] === predictions[k]![f]).length / subset.length;
    expect(report.messages).toBe(60);
    expect(report.sentiment.accuracy).toBeCloseTo(agree('sentiment'), 12);
    expect(report.topicAccuracy).toBeCloseTo(agree('topic'), 12);
    expect(report.intentAccuracy).toBeCloseTo(agree('intent'), 12);
    expect(report.languageAccuracy).toBeCloseTo(agree('language'), 12);
    expect(report.sentiment.macroF1).toBeCloseTo(
      classificationScores(
        subset.map((i) => i.sentiment),
        predictions.map((p) => p.sentiment),
      ).macroF1,
      12,
    );
  });
});
