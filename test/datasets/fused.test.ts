import { describe, expect, it } from 'vitest';
import type { ColumnType } from '../../db/schema/datasets';
import { createConverter } from '../../src/datasets/copy';
import { createInferrer } from '../../src/datasets/infer';
import { DatasetInputError } from '../../src/datasets/input-error';
import type { RawRow, RawValue } from '../../src/datasets/parse';

/**
 * `Converter.observeAndConvert` is one pass standing in for `Inferrer.observe` then
 * `Converter.convertBatch`: the COPY text, the null and distinct statistics and the errors must be
 * exactly those of the two passes.
 */

const NULL_TOKENS = ['', 'NA', 'N/A', 'n/a', 'null', 'NULL', 'Null', 'NaN', 'nan', '#N/A', '<NA>'];

/** Values each column type accepts, tricky ones included, plus nulls and null tokens. */
const POOLS: Record<ColumnType, RawValue[]> = {
  INTEGER: [
    '0',
    '7',
    '-7',
    '+7',
    ' 7',
    '007',
    '-0',
    '32767',
    '32768',
    '-32768',
    '-32769',
    '123456789012345',
    '-123456789012345',
    '9007199254740991',
    '1e3',
    '2.0',
    7,
    -0,
    null,
    ...NULL_TOKENS,
  ],
  FLOAT: [
    '0',
    '12.5',
    '-12.5',
    '1.50',
    '0.0',
    '-0',
    '1e3',
    '1E-7',
    '2.5e+10',
    '.5',
    ' 3.25 ',
    '0.016666666666666666',
    '99999999999999999999',
    '42',
    0.1,
    3,
    null,
    ...NULL_TOKENS,
  ],
  STRING: ['a,b', 'say "hi"', '\\.', ' ', '42', '-5', '007', 'x', 5, true, null, ...NULL_TOKENS],
  CATEGORY: ['x', 'y', 'line\nbreak', '1', '12', null, 'N/A', 'None'],
  BOOLEAN: ['true', 'TRUE', 'no', 'Yes', true, false, null, 'null', 'NA'],
  DATE: ['2024-01-31', '2024/1/31', 'Jan 31, 2024', '12/31/2024', ' 2024-01-31', null, 'NA'],
  TIMESTAMP: ['2024-01-31 10:00', '2024-01-31T10:00:00+02:00', '2024-01-31', null, '<NA>'],
};

const TYPES = Object.keys(POOLS) as ColumnType[];

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Rows of values drawn from the pools (a `foreign` share from any type's), with runs of repeats
 * as sorted columns have. */
function rowsFrom(
  types: ColumnType[],
  count: number,
  seed: number,
  pools: Record<ColumnType, RawValue[]> = POOLS,
  foreign = 0,
): RawValue[][] {
  const next = random(seed);
  const rows: RawValue[][] = [];
  let previous: RawValue[] = types.map(() => null);
  for (let r = 0; r < count; r++) {
    const row = types.map((type, j) => {
      if (next() < 0.4) return previous[j]!;
      const from = next() < foreign ? TYPES[Math.floor(next() * TYPES.length)]! : type;
      const pool = pools[from];
      return pool[Math.floor(next() * pool.length)]!;
    });
    rows.push(row);
    previous = row;
  }
  return rows;
}

interface Outcome {
  text: string;
  columns?: unknown;
  error?: { reason: string; message: string; line?: number; column?: string };
}

/**
 * Loads `sample` then `batches` as service.ts does, with the two passes or the fused one: the
 * sample is observed and types are fixed (to `types`), then each batch is observed and
 * converted.
 */
function load(
  fused: boolean,
  types: ColumnType[],
  sample: RawValue[][],
  batches: RawValue[][][],
  hidden: string[] = [],
): Outcome {
  const names = types.map((_, j) => `c${j}`);
  const overrides = Object.fromEntries(names.map((name, j) => [name, types[j]!]));
  const inferrer = createInferrer(names, { sampleSize: sample.length, overrides });
  let line = 2;
  const toRows = (values: RawValue[][]): RawRow[] =>
    values.map((v) => ({ line: line++, values: v }));
  const sampleRows = toRows(sample);
  inferrer.observe(sampleRows);
  const converter = createConverter(inferrer.finish(), { hideValuesFor: new Set(hidden) });
  let text = converter.convertBatch(sampleRows);
  try {
    for (const batch of batches) {
      const rows = toRows(batch);
      if (fused) text += converter.observeAndConvert(rows, inferrer);
      else {
        inferrer.observe(rows);
        text += converter.convertBatch(rows);
      }
    }
  } catch (error) {
    if (!(error instanceof DatasetInputError)) throw error;
    const { reason, message, line, column } = error;
    return { text, error: { reason, message, line, column } };
  }
  return { text, columns: inferrer.finish() };
}

function expectSame(
  types: ColumnType[],
  sample: RawValue[][],
  batches: RawValue[][][],
  hidden?: string[],
): Outcome {
  const twoPasses = load(false, types, sample, batches, hidden);
  expect(load(true, types, sample, batches, hidden)).toEqual(twoPasses);
  return twoPasses;
}

/** Only the values of each type that convert, so a load runs to the end. */
function valid(type: ColumnType): RawValue[] {
  const converter = createConverter([{ name: 'x', type, nullable: true, distinctEstimate: 0 }]);
  return POOLS[type].filter((value) => {
    try {
      converter.convertBatch([{ line: 1, values: [value] }]);
      return true;
    } catch {
      return false;
    }
  });
}

describe('observeAndConvert', () => {
  it('gives the text and statistics of observe then convertBatch, for every type', () => {
    const pools = Object.fromEntries(TYPES.map((type) => [type, valid(type)]));
    const rows = rowsFrom(TYPES, 3000, 7, pools as Record<ColumnType, RawValue[]>);
    const batches = [rows.slice(100, 101), rows.slice(101, 1500), [], rows.slice(1500)];
    const outcome = expectSame(TYPES, rows.slice(0, 100), batches);
    expect(outcome.error).toBeUndefined();
    expect(outcome.columns).toHaveLength(TYPES.length);
  });

  it('fails on the same value, line and column, hiding hidden values', () => {
    let failed = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rows = rowsFrom(TYPES, 400, seed, POOLS, 0.005);
      const sample = rows.slice(0, 10).map(() => TYPES.map(() => null));
      const batches = [rows.slice(0, 150), rows.slice(150)];
      const outcome = expectSame(TYPES, sample, batches);
      if (outcome.error === undefined) continue;
      failed++;
      expect(outcome.error.reason).toBe('BAD_VALUE');
      const hidden = expectSame(TYPES, sample, batches, ['c0', 'c1', 'c4', 'c5', 'c6']);
      expect(hidden.error).toMatchObject({ line: outcome.error.line });
    }
    expect(failed).toBeGreaterThan(10);
    const hidden = expectSame(['INTEGER'], [['1']], [[['5'], ['5'], ['+5'], ['5x']]], ['c0']);
    expect(hidden.error).toEqual({
      reason: 'BAD_VALUE',
      message: 'Line 6, column "c0": the value is not an INTEGER',
      line: 6,
      column: 'c0',
    });
  });

  it('counts repeats across batches, and null tokens repeating, as observe does', () => {
    const batches: RawValue[][][] = [
      [
        ['5', 'NA'],
        ['5', 'NA'],
        [null, 'NA'],
      ],
      [
        ['5', 'NA'],
        ['5', '1.5'],
      ],
      [
        ['5', '1.5'],
        ['NA', '1.5'],
        ['NA', null],
        ['6', ''],
      ],
    ];
    const outcome = expectSame(['INTEGER', 'FLOAT'], [['5', 'NA']], batches);
    expect(outcome.columns).toMatchObject([
      { nullable: true, distinctEstimate: 2 },
      { nullable: true, distinctEstimate: 1 },
    ]);
  });

  it('counts distinct values exactly to 4096, then in the same sketch', () => {
    const next = random(3);
    const texts = (count: number, make: (i: number) => RawValue) =>
      Array.from({ length: count }, (_, i) => make(i));
    const integers = texts(6000, (i) => `${Math.floor((next() - 0.5) * 80_000) + (i % 2)}`);
    const mixed = texts(6000, (i) =>
      i % 3 === 0 ? `${i - 3000}` : i % 3 === 1 ? `id-${i}` : `0${i}`,
    );
    const floats = texts(6000, (i) => `${(i - 3000) / 4}`);
    for (const size of [100, 4000, 4097, 6000]) {
      const rows = integers.slice(0, size).map((v, i) => [v, mixed[i]!, floats[i]!, v]);
      const outcome = expectSame(['INTEGER', 'STRING', 'FLOAT', 'CATEGORY'], rows.slice(0, 10), [
        rows.slice(10, 2000),
        rows.slice(2000),
      ]);
      const exact = [0, 1, 2].map((j) => new Set(rows.map((row) => row[j])).size);
      const counts = (outcome.columns as Array<{ distinctEstimate: number }>).map(
        (c) => c.distinctEstimate,
      );
      for (const [j, count] of exact.entries()) {
        if (count <= 4096) expect(counts[j], `column ${j} of ${size}`).toBe(count);
        else expect(Math.abs(counts[j]! - count) / count).toBeLessThan(0.05);
      }
    }
  });

  it('falls back to the two passes while the sample is not full', () => {
    const types: ColumnType[] = ['INTEGER', 'STRING'];
    const names = ['a', 'b'];
    const rows: RawRow[] = [
      { line: 2, values: ['1', 'x'] },
      { line: 3, values: ['2', null] },
      { line: 4, values: ['2', 'NA'] },
    ];
    const fused = createInferrer(names, {
      sampleSize: 10,
      overrides: { a: types[0]!, b: 'STRING' },
    });
    const plain = createInferrer(names, {
      sampleSize: 10,
      overrides: { a: types[0]!, b: 'STRING' },
    });
    const converter = createConverter(fused.finish());
    const text = converter.observeAndConvert(rows, fused);
    plain.observe(rows);
    expect(text).toBe(createConverter(plain.finish()).convertBatch(rows));
    expect(fused.sampled).toBe(3);
    expect(fused.finish()).toEqual(plain.finish());
  });
});
