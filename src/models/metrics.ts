import type { Metrics } from './types';

const EPS = 1e-15;

/**
 * Area under the ROC curve of `scores` for `positive` against the rest: the Mann–Whitney
 * statistic with average ranks for tied scores (a tie counts half). Null without both classes.
 */
export function rocAuc(positive: boolean[], scores: number[]): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i++) {
    if (positive[i]) {
      pos++;
      rankSum += ranks[i]!;
    }
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Classification metrics. `probabilities[i][k]` is the probability of `labels[k]` for row i.
 * - precision, recall and F1 are macro averages over the labels that occur in `yTrue` or
 *   `yPred` (a label never predicted has precision 0); F1 is the mean of per-label F1 scores.
 * - ROC AUC: with two labels, the score of `labels[1]` as the positive class; with more, the
 *   macro one-vs-rest average over labels that have both positive and negative rows. Omitted
 *   when undefined (a single class in `yTrue`).
 * - log loss: mean of −ln p(true label), p clipped to [1e-15, 1 − 1e-15], no renormalization.
 * - confusion matrix: rows are true labels, columns predicted, in `labels` order (values seen
 *   in `yTrue`/`yPred` but not in `labels` are appended).
 */
export function classificationMetrics(
  yTrue: string[],
  yPred: string[],
  probabilities: number[][],
  labels: string[],
): Metrics {
  const n = yTrue.length;
  if (yPred.length !== n || probabilities.length !== n) {
    throw new RangeError('yTrue, yPred and probabilities must have the same length.');
  }
  if (n === 0) return {};
  const all = [...labels];
  for (const v of [...yTrue, ...yPred]) if (!all.includes(v)) all.push(v);
  const index = new Map(all.map((l, i) => [l, i]));
  const matrix = all.map(() => all.map(() => 0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    matrix[index.get(yTrue[i]!)!]![index.get(yPred[i]!)!]!++;
    if (yTrue[i] === yPred[i]) correct++;
  }

  let precision = 0;
  let recall = 0;
  let f1 = 0;
  let present = 0;
  all.forEach((_, k) => {
    const tp = matrix[k]![k]!;
    const actual = matrix[k]!.reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + row[k]!, 0);
    if (actual === 0 && predicted === 0) return;
    present++;
    const p = predicted ? tp / predicted : 0;
    const r = actual ? tp / actual : 0;
    precision += p;
    recall += r;
    f1 += p + r ? (2 * p * r) / (p + r) : 0;
  });

  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    const k = labels.indexOf(yTrue[i]!);
    const p = k < 0 ? 0 : (probabilities[i]![k] ?? 0);
    logLoss -= Math.log(Math.min(Math.max(p, EPS), 1 - EPS));
  }

  let auc: number | null = null;
  if (labels.length === 2) {
    auc = rocAuc(
      yTrue.map((y) => y === labels[1]),
      probabilities.map((p) => p[1]!),
    );
  } else if (labels.length > 2) {
    const aucs = labels
      .map((label, k) =>
        rocAuc(
          yTrue.map((y) => y === label),
          probabilities.map((p) => p[k]!),
        ),
      )
      .filter((a): a is number => a !== null);
    auc = aucs.length ? aucs.reduce((a, b) => a + b, 0) / aucs.length : null;
  }

  return {
    accuracy: correct / n,
    precision: precision / present,
    recall: recall / present,
    f1: f1 / present,
    ...(auc === null ? {} : { rocAuc: auc }),
    logLoss: logLoss / n,
    confusionMatrix: { labels: all, matrix },
  };
}

/** RMSE, MAE and R² (1 − SSres/SStot; for a constant `yTrue`, 1 if predicted exactly, else 0). */
export function regressionMetrics(yTrue: number[], yPred: number[]): Metrics {
  const n = yTrue.length;
  if (yPred.length !== n) throw new RangeError('yTrue and yPred must have the same length.');
  if (n === 0) return {};
  let mean = 0;
  for (const y of yTrue) mean += y;
  mean /= n;
  let se = 0;
  let ae = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    const d = yTrue[i]! - yPred[i]!;
    se += d * d;
    ae += Math.abs(d);
    tot += (yTrue[i]! - mean) ** 2;
  }
  const r2 = tot > 0 ? 1 - se / tot : se === 0 ? 1 : 0;
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2 };
}
