import * as ss from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { classificationMetrics, regressionMetrics, rocAuc } from '../../src/models/metrics';

/** AUC by brute force over all (positive, negative) pairs, a tie counting half. */
function pairwiseAuc(positive: boolean[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  positive.forEach((p, i) => {
    if (!p) return;
    positive.forEach((q, j) => {
      if (q) return;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('classificationMetrics, binary', () => {
  // labels: neg, pos; p(pos) per row; predictions at threshold 0.5.
  const labels = ['neg', 'pos'];
  const yTrue = ['pos', 'pos', 'neg', 'neg', 'pos', 'neg', 'neg'];
  const pPos = [0.9, 0.6, 0.6, 0.2, 0.4, 0.1, 0.7];
  const yPred = pPos.map((p) => (p >= 0.5 ? 'pos' : 'neg'));
  const probabilities = pPos.map((p) => [1 - p, p]);
  const m = classificationMetrics(yTrue, yPred, probabilities, labels);

  it('counts the confusion matrix with true labels as rows', () => {
    // true neg: rows 2 (→pos), 3, 5 (→neg), 6 (→pos); true pos: rows 0, 1 (→pos), 4 (→neg)
    expect(m.confusionMatrix).toEqual({
      labels,
      matrix: [
        [2, 2],
        [1, 2],
      ],
    });
  });

  it('computes accuracy and macro precision, recall and F1 by hand', () => {
    expect(m.accuracy).toBeCloseTo(4 / 7, 12);
    // neg: tp 2, predicted 3, actual 4; pos: tp 2, predicted 4, actual 3
    const pNeg = 2 / 3;
    const pPos2 = 2 / 4;
    const rNeg = 2 / 4;
    const rPos = 2 / 3;
    expect(m.precision).toBeCloseTo((pNeg + pPos2) / 2, 12);
    expect(m.recall).toBeCloseTo((rNeg + rPos) / 2, 12);
    const f = (p: number, r: number) => ss.harmonicMean([p, r]);
    expect(m.f1).toBeCloseTo((f(pNeg, rNeg) + f(pPos2, rPos)) / 2, 12);
  });

  it('computes ROC AUC with a tied score counted as half', () => {
    // positives 0.9, 0.6, 0.4 vs negatives 0.6, 0.2, 0.1, 0.7:
    // 0.9 beats 4; 0.6 ties 0.6, beats 0.2, 0.1 (2.5); 0.4 beats 0.2, 0.1 (2) → 8.5 / 12
    expect(m.rocAuc).toBeCloseTo(8.5 / 12, 12);
    expect(
      pairwiseAuc(
        yTrue.map((y) => y === 'pos'),
        pPos,
      ),
    ).toBeCloseTo(8.5 / 12, 12);
  });

  it('computes log loss as the mean negative log probability of the true label', () => {
    const pTrue = [0.9, 0.6, 0.4, 0.8, 0.4, 0.9, 0.3];
    expect(m.logLoss).toBeCloseTo(-ss.mean(pTrue.map(Math.log)), 12);
  });

  it('matches scikit-learn documentation examples', () => {
    // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    expect(
      classificationMetrics(
        ['0', '0', '1', '1'],
        ['0', '0', '0', '1'],
        [0.1, 0.4, 0.35, 0.8].map((p) => [1 - p, p]),
        ['0', '1'],
      ).rocAuc,
    ).toBeCloseTo(0.75, 12);
    // sklearn.metrics.log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]])
    const ll = classificationMetrics(
      ['spam', 'ham', 'ham', 'spam'],
      ['spam', 'ham', 'ham', 'spam'],
      [
        [0.1, 0.9],
        [0.9, 0.1],
        [0.8, 0.2],
        [0.35, 0.65],
      ],
      ['ham', 'spam'],
    ).logLoss;
    expect(ll).toBeCloseTo(0.21616, 5);
  });

  it('clips probabilities at 1e-15 in log loss', () => {
    const m0 = classificationMetrics(
      ['a', 'b'],
      ['b', 'b'],
      [
        [0, 1],
        [0, 1],
      ],
      ['a', 'b'],
    );
    // row 0: p(a) = 0 → −ln(1e-15); row 1: p(b) = 1 → −ln(1 − 1e-15) ≈ 1.1e-15
    expect(m0.logLoss).toBeCloseTo((-Math.log(1e-15) - Math.log(1 - 1e-15)) / 2, 10);
    expect(m0.logLoss).toBeCloseTo(34.538776394910684 / 2, 8);
  });

  it('ranks all-tied scores at AUC 0.5 and omits AUC for a single class', () => {
    expect(rocAuc([true, false, true, false], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    const single = classificationMetrics(
      ['a', 'a'],
      ['a', 'b'],
      [
        [0.9, 0.1],
        [0.4, 0.6],
      ],
      ['a', 'b'],
    );
    expect(single.rocAuc).toBeUndefined();
    // 'b' never occurs in yTrue but is predicted: precision(b) = 0, recall(b) = 0
    expect(single.precision).toBeCloseTo((1 + 0) / 2, 12);
    expect(single.recall).toBeCloseTo((0.5 + 0) / 2, 12);
  });
});

describe('classificationMetrics, multiclass', () => {
  const labels = ['a', 'b', 'c'];
  const probabilities = [
    [0.7, 0.2, 0.1],
    [0.2, 0.5, 0.3],
    [0.1, 0.3, 0.6],
    [0.4, 0.4, 0.2],
    [0.3, 0.3, 0.4],
    [0.2, 0.6, 0.2],
  ];
  const yTrue = ['a', 'b', 'c', 'b', 'a', 'c'];
  const yPred = ['a', 'b', 'c', 'a', 'c', 'b'];
  const m = classificationMetrics(yTrue, yPred, probabilities, labels);

  it('counts the confusion matrix', () => {
    expect(m.confusionMatrix!.matrix).toEqual([
      [1, 0, 1],
      [1, 1, 0],
      [0, 1, 1],
    ]);
    expect(m.accuracy).toBeCloseTo(3 / 6, 12);
  });

  it('macro-averages precision, recall and F1 over the classes', () => {
    // each class: tp 1, predicted 2, actual 2 → precision = recall = F1 = 0.5
    expect(m.precision).toBeCloseTo(0.5, 12);
    expect(m.recall).toBeCloseTo(0.5, 12);
    expect(m.f1).toBeCloseTo(0.5, 12);
  });

  it('averages one-vs-rest AUCs (with ties) over the classes', () => {
    const perClass = labels.map((label, k) =>
      pairwiseAuc(
        yTrue.map((y) => y === label),
        probabilities.map((p) => p[k]!),
      ),
    );
    // class a: positives 0.7, 0.3 vs 0.2, 0.1, 0.4, 0.2 → (4 + 3) / 8
    expect(perClass[0]).toBeCloseTo(7 / 8, 12);
    // class b: positives 0.5, 0.4 vs 0.2, 0.3, 0.3, 0.6 → (3 + 3) / 8
    expect(perClass[1]).toBeCloseTo(6 / 8, 12);
    // class c: positives 0.6, 0.2 vs 0.1, 0.3, 0.2, 0.4 → (4 + 1 + 0.5) / 8
    expect(perClass[2]).toBeCloseTo(5.5 / 8, 12);
    expect(m.rocAuc).toBeCloseTo(ss.mean(perClass), 12);
  });

  it('computes multiclass log loss', () => {
    const pTrue = [0.7, 0.5, 0.6, 0.4, 0.3, 0.2];
    expect(m.logLoss).toBeCloseTo(-ss.mean(pTrue.map(Math.log)), 12);
  });
});

describe('regressionMetrics', () => {
  it('matches simple-statistics on a fixed example', () => {
    const yTrue = [3, -0.5, 2, 7, 4.2];
    const yPred = [2.5, 0, 2, 8, 3.9];
    const diff = yTrue.map((y, i) => y - yPred[i]!);
    const m = regressionMetrics(yTrue, yPred);
    expect(m.rmse).toBeCloseTo(ss.rootMeanSquare(diff), 12);
    expect(m.mae).toBeCloseTo(ss.mean(diff.map(Math.abs)), 12);
    const r2 = 1 - ss.sum(diff.map((d) => d * d)) / (ss.variance(yTrue) * yTrue.length);
    expect(m.r2).toBeCloseTo(r2, 12);
  });

  it('matches the scikit-learn r2_score documentation example', () => {
    // r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) == 0.948...; MSE 0.375
    const m = regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8]);
    expect(m.r2).toBeCloseTo(0.9486081370449679, 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(m.mae).toBeCloseTo(0.5, 12);
  });

  it('handles a constant target', () => {
    expect(regressionMetrics([2, 2], [2, 2]).r2).toBe(1);
    expect(regressionMetrics([2, 2], [1, 3]).r2).toBe(0);
  });
});
