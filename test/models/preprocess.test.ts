import * as ss from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors';
import { MAX_CATEGORIES, Preprocessor } from '../../src/models/preprocess';
import { TEXT_BUCKETS, terms } from '../../src/models/text';
import { FeatureError, type FeatureSpec } from '../../src/models/types';

const features: FeatureSpec[] = [
  { name: 'x', type: 'FLOAT' },
  { name: 'n', type: 'INTEGER' },
  { name: 'flag', type: 'BOOLEAN' },
  { name: 'color', type: 'CATEGORY' },
];
const train = [
  { x: 1, n: 10, flag: true, color: 'red' },
  { x: 2, n: '20', flag: false, color: 'blue' },
  { x: null, n: 30, flag: true, color: 'red' },
  { x: 6, n: 40, flag: null, color: null },
];
const row = (data: Float32Array, cols: number, i: number) =>
  Array.from(data.subarray(i * cols, (i + 1) * cols));

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('Preprocessor', () => {
  const pre = Preprocessor.fit(features, train);

  it('lays out numeric columns, then one-hot categories by frequency and a missing indicator', () => {
    expect(pre.state.outputNames).toEqual([
      'x',
      'n',
      'flag',
      'color=red',
      'color=blue',
      'color=<missing>',
    ]);
  });

  it('standardizes with the training mean and population std, imputing nulls with the mean', () => {
    const xMean = ss.mean([1, 2, 6]);
    const xStd = ss.standardDeviation([1, 2, 6]);
    const m = pre.transform(train);
    expect(m.rows).toBe(4);
    expect(m.cols).toBe(6);
    const xs = Array.from({ length: 4 }, (_, i) => m.data[i * m.cols]!);
    expect(xs[0]).toBeCloseTo((1 - xMean) / xStd, 6);
    expect(xs[1]).toBeCloseTo((2 - xMean) / xStd, 6);
    expect(xs[2]).toBe(0); // imputed with the mean → 0 after standardization
    expect(xs[3]).toBeCloseTo((6 - xMean) / xStd, 6);
    // a numeric string is a number; BOOLEAN is 0/1 before standardizing (mean 2/3 of 1,0,1)
    const flagMean = ss.mean([1, 0, 1]);
    const flagStd = ss.standardDeviation([1, 0, 1]);
    expect(m.data[1 * m.cols + 1]).toBeCloseTo(
      (20 - 25) / ss.standardDeviation([10, 20, 30, 40]),
      6,
    );
    expect(m.data[1 * m.cols + 2]).toBeCloseTo((0 - flagMean) / flagStd, 6);
    expect(m.data[3 * m.cols + 2]).toBe(0);
  });

  it('keeps training statistics when transforming other rows', () => {
    const m = pre.transform([{ x: 100, n: 25, flag: true, color: 'red' }]);
    const xMean = ss.mean([1, 2, 6]);
    const xStd = ss.standardDeviation([1, 2, 6]);
    expect(m.data[0]).toBeCloseTo((100 - xMean) / xStd, 4);
    expect(m.data[1]).toBeCloseTo(0, 6);
    // refitting on different rows would change the statistics; the fitted state did not
    expect(pre.state.columns[0]).toMatchObject({ mean: xMean });
  });

  it('one-hot encodes known categories, unseen → all zeros, missing → its indicator', () => {
    const m = pre.transform([
      { x: 1, n: 1, flag: true, color: 'blue' },
      { x: 1, n: 1, flag: true, color: 'green' },
      { x: 1, n: 1, flag: true, color: null },
      { x: 1, n: 1, flag: true, color: '' },
    ]);
    expect(row(m.data, m.cols, 0).slice(3)).toEqual([0, 1, 0]);
    expect(row(m.data, m.cols, 1).slice(3)).toEqual([0, 0, 0]);
    expect(row(m.data, m.cols, 2).slice(3)).toEqual([0, 0, 1]);
    expect(row(m.data, m.cols, 3).slice(3)).toEqual([0, 0, 1]);
  });

  it(`keeps the ${MAX_CATEGORIES} most frequent categories; rarer ones encode as zeros`, () => {
    const rows: Array<Record<string, unknown>> = [];
    // category c<i> appears 61 − i times, so c0 is the most frequent and c60 the rarest
    for (let i = 0; i <= 60; i++) for (let k = 0; k < 61 - i; k++) rows.push({ s: `c${i}` });
    const p = Preprocessor.fit([{ name: 's', type: 'STRING' }], rows);
    expect(p.width).toBe(MAX_CATEGORIES + 1);
    expect(p.state.outputNames[0]).toBe('s=c0');
    expect(p.state.outputNames[MAX_CATEGORIES - 1]).toBe(`s=c${MAX_CATEGORIES - 1}`);
    const m = p.transform([{ s: 'c3' }, { s: 'c55' }]);
    expect(row(m.data, m.cols, 0)[3]).toBe(1);
    expect(row(m.data, m.cols, 1).every((v) => v === 0)).toBe(true);
  });

  it('turns DATE and TIMESTAMP into days since the epoch', () => {
    const p = Preprocessor.fit(
      [
        { name: 'd', type: 'DATE' },
        { name: 't', type: 'TIMESTAMP' },
      ],
      [
        { d: '1970-01-01', t: '1970-01-01T00:00:00Z' },
        { d: '1970-01-11', t: '1970-01-02T12:00:00.000Z' },
      ],
    );
    expect(p.state.columns[0]).toMatchObject({ mean: 5, std: 5 });
    expect(p.state.columns[1]).toMatchObject({ mean: 0.75, std: 0.75 });
  });

  it('survives a JSON round trip', () => {
    const copy = Preprocessor.fromJSON(JSON.parse(JSON.stringify(pre.toJSON())));
    expect(copy.transform(train)).toEqual(pre.transform(train));
  });

  it('throws FeatureError naming the feature for a missing column or a wrongly typed value', () => {
    const missing = thrown(() => pre.transform([{ x: 1, n: 1, color: 'red' }]));
    expect(missing).toBeInstanceOf(FeatureError);
    expect(missing).toBeInstanceOf(InputError);
    expect((missing as FeatureError).feature).toBe('flag');
    expect((missing as FeatureError).field).toBe('flag');

    const wrong = thrown(() => pre.transform([{ x: 'abc', n: 1, flag: true, color: 'red' }]));
    expect(wrong).toBeInstanceOf(FeatureError);
    expect((wrong as FeatureError).feature).toBe('x');
    expect((wrong as Error).message).toContain('"abc"');

    for (const [feature, value] of [
      ['flag', 'maybe'],
      ['n', true],
      ['color', { nested: 1 }],
    ] as const) {
      const base = { x: 1, n: 1, flag: true, color: 'red' };
      const error = thrown(() => pre.transform([{ ...base, [feature]: value }]));
      expect((error as FeatureError).feature).toBe(feature);
    }
    const date = thrown(() =>
      Preprocessor.fit([{ name: 'd', type: 'DATE' }], [{ d: 'yesterday' }]),
    ) as FeatureError;
    expect(date.feature).toBe('d');
  });
});

describe('free-text features', () => {
  const text: FeatureSpec[] = [{ name: 'note', type: 'STRING', text: true }];
  const fitted = Preprocessor.fit(text, [{ note: 'Refund please' }, { note: null }]);
  const vector = (note: unknown) => Array.from(fitted.transform([{ note }]).data);
  const norm = (v: number[]) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));

  it('counts words, word bigrams and character trigrams of the lowercased text', () => {
    expect(terms('Hi THERE')).toEqual([
      'w:hi',
      'b:hi there',
      'c:_hi',
      'c:hi_',
      'w:there',
      'c:_th',
      'c:the',
      'c:her',
      'c:ere',
      'c:re_',
    ]);
  });

  it(`hashes into ${TEXT_BUCKETS} slots, L2-normalised, the same at every call`, () => {
    expect(fitted.width).toBe(TEXT_BUCKETS);
    const v = vector('Where is my parcel? My parcel!');
    expect(norm(v)).toBeCloseTo(1, 6);
    expect(vector('where is my PARCEL? my parcel!')).toEqual(v);
    // "a" has two terms (w:a, c:_a_), counted once each: two slots of ±1/√2.
    const a = vector('a').filter((x) => x !== 0);
    expect(a.map(Math.abs)).toEqual([Math.SQRT1_2, Math.SQRT1_2].map((x) => Math.fround(x)));
    expect(vector(null).every((x) => x === 0)).toBe(true);
    expect(vector('').every((x) => x === 0)).toBe(true);
  });

  it('survives a JSON round trip', () => {
    const again = Preprocessor.fromJSON(JSON.parse(JSON.stringify(fitted.toJSON())));
    expect(Array.from(again.transform([{ note: 'refund' }]).data)).toEqual(vector('refund'));
  });

  it('refuses a text feature that is not STRING, and a value that is not text, naming it', () => {
    const notString = thrown(() =>
      Preprocessor.fit([{ name: 'n', type: 'INTEGER', text: true }], [{ n: 1 }]),
    );
    expect(notString).toBeInstanceOf(FeatureError);
    expect((notString as FeatureError).feature).toBe('n');
    const wrong = thrown(() => fitted.transform([{ note: 42 }]));
    expect(wrong).toBeInstanceOf(FeatureError);
    expect((wrong as FeatureError).message).toMatch(/Row 1: Feature "note" is text/);
  });
});
