import { describe, expect, it } from 'vitest';
import { downsample, historySeries } from '../../src/models/downsample';

describe('downsample', () => {
  it('keeps every point when there are no more than asked for', () => {
    const points = [3, 1, 2].map((value, i) => ({ step: i + 1, value }));
    expect(downsample(points, 5)).toEqual([
      { step: 1, min: 3, max: 3, last: 3 },
      { step: 2, min: 1, max: 1, last: 1 },
      { step: 3, min: 2, max: 2, last: 2 },
    ]);
  });

  it('splits into near-equal runs of consecutive points with min, max and last of each', () => {
    // 10 points into 3 buckets: indices [0,3), [3,6), [6,10).
    const values = [5, 9, 1, 4, 4, 7, 2, 8, 6, 3];
    const points = values.map((value, i) => ({ step: 10 * (i + 1), value }));
    expect(downsample(points, 3)).toEqual([
      { step: 30, min: 1, max: 9, last: 1 },
      { step: 60, min: 4, max: 7, last: 7 },
      { step: 100, min: 2, max: 8, last: 3 },
    ]);
  });

  it('never returns more than max points, and ends at the newest point', () => {
    const points = Array.from({ length: 25_001 }, (_, i) => ({ step: i + 1, value: Math.sin(i) }));
    const out = downsample(points, 1000);
    expect(out).toHaveLength(1000);
    expect(out.at(-1)).toMatchObject({ step: 25_001, last: Math.sin(25_000) });
    // The envelope survives: a spike anywhere is the max of its bucket.
    points[12_345]!.value = 99;
    expect(Math.max(...downsample(points, 1000).map((p) => p.max))).toBe(99);
  });
});

describe('historySeries', () => {
  it('makes loss, valLoss and each metric a series, skipping missing values', () => {
    const history = [
      { step: 1, loss: 0.9, valLoss: null, metrics: { accuracy: 0.5 } },
      { step: 2, loss: 0.5, valLoss: 0.6, metrics: { accuracy: 0.75 } },
      { step: 3, loss: 0.25, valLoss: 0.4, metrics: {} },
    ];
    expect(historySeries(history, 2)).toEqual([
      {
        name: 'loss',
        total: 3,
        points: [
          { step: 1, min: 0.9, max: 0.9, last: 0.9 },
          { step: 3, min: 0.25, max: 0.5, last: 0.25 },
        ],
      },
      {
        name: 'accuracy',
        total: 2,
        points: [
          { step: 1, min: 0.5, max: 0.5, last: 0.5 },
          { step: 2, min: 0.75, max: 0.75, last: 0.75 },
        ],
      },
      {
        name: 'valLoss',
        total: 2,
        points: [
          { step: 2, min: 0.6, max: 0.6, last: 0.6 },
          { step: 3, min: 0.4, max: 0.4, last: 0.4 },
        ],
      },
    ]);
  });
});
