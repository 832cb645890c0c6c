import { describe, expect, it } from 'vitest';
import { createInferrer, type InferredColumn } from '../../src/datasets/infer';
import type { RawRow, RawValue } from '../../src/datasets/parse';
import { expectInputError } from './sources';

function rowsOf(...columns: RawValue[][]): RawRow[] {
  const length = Math.max(...columns.map((c) => c.length));
  return Array.from({ length }, (_, i) => ({
    line: i + 2,
    values: columns.map((c) => c[i] ?? null),
  }));
}

/** Infers one column from its values. */
function infer(values: RawValue[], options?: Parameters<typeof createInferrer>[1]): InferredColumn {
  const inferrer = createInferrer(['x'], options);
  inferrer.observe(rowsOf(values));
  return inferrer.finish()[0]!;
}

const typeOf = (values: RawValue[]) => infer(values).type;
const many = (make: (i: number) => RawValue, n = 40) =>
  Array.from({ length: n }, (_, i) => make(i));

describe('createInferrer types', () => {
  it('finds integers, including negative and signed ones', () => {
    expect(typeOf(['1', '-20', '+3', '0', ' 42 '])).toBe('INTEGER');
    expect(typeOf([1, 2, 3])).toBe('INTEGER');
    expect(typeOf(['9007199254740991', '1'])).toBe('INTEGER');
  });

  it('keeps zero-padded numbers as text (ZIP codes, ids)', () => {
    expect(typeOf(many((i) => `0${2100 + i}`))).toBe('STRING');
    expect(typeOf(['007', '12', '13'])).not.toBe('INTEGER');
    expect(typeOf(['00.5', '1.5'])).not.toBe('FLOAT');
  });

  it('keeps integers beyond 2^53 as text rather than rounding them', () => {
    expect(typeOf(many((i) => `${12345678901234567n + BigInt(i)}`))).toBe('STRING');
  });

  it('finds floats in decimal and exponent notation, mixed with integers', () => {
    expect(typeOf(['1.5', '2', '-0.25', '.5', '1e3', '6.02E+23'])).toBe('FLOAT');
    expect(typeOf([1, 2.5])).toBe('FLOAT');
    expect(typeOf(['1,234.5', '2'])).not.toBe('FLOAT');
    expect(typeOf(['Infinity', '1'])).not.toBe('FLOAT');
  });

  it('finds booleans as true/false/yes/no in any case, but not 0/1', () => {
    expect(typeOf(['true', 'FALSE', 'Yes', 'no', 'True'])).toBe('BOOLEAN');
    expect(typeOf([true, false, 'yes'])).toBe('BOOLEAN');
    expect(typeOf(['0', '1', '1'])).toBe('INTEGER');
    expect(typeOf(['t', 'f', 'true'])).not.toBe('BOOLEAN');
  });

  it('finds ISO and common date formats, rejecting impossible dates', () => {
    expect(typeOf(['2024-01-31', '2024-02-29', '1999-12-01'])).toBe('DATE');
    expect(typeOf(['2024/01/31', '2024/2/3'])).toBe('DATE');
    expect(
      typeOf(['Jan 1 2000', 'Feb 29, 2000', 'September 3, 2021', '5 Mar 2020', '05-Sep-2020']),
    ).toBe('DATE');
    expect(typeOf(['2023-02-29', '2024-01-01'])).not.toBe('DATE');
    expect(typeOf(['2024-13-01'])).not.toBe('DATE');
  });

  it('reads slash dates month-first unless only day-first fits', () => {
    const us = infer(['12/31/2024', '01/02/2024', '7/4/2024']);
    expect(us.type).toBe('DATE');
    expect(us.dayFirst).toBeUndefined();
    const european = infer(['31/12/2024', '01/02/2024', '13/1/2024']);
    expect(european).toMatchObject({ type: 'DATE', dayFirst: true });
    expect(typeOf(['12/31/2024', '31/12/2024'])).not.toBe('DATE');
  });

  it('finds timestamps with T or space, fractions and zones, and with dates mixed in', () => {
    expect(
      typeOf([
        '2024-01-31T10:20:30Z',
        '2024-01-31 10:20',
        '2024-01-31T10:20:30.123456+02:00',
        '2024-01-31 10:20:30-0500',
        '2024/01/31 10:20:30 UTC',
        '01/31/2024 3:04 PM',
      ]),
    ).toBe('TIMESTAMP');
    expect(typeOf(['2024-01-31', '2024-02-01 08:00:00'])).toBe('TIMESTAMP');
    expect(typeOf(['2024-01-31 25:00'])).not.toBe('TIMESTAMP');
    expect(typeOf(['2024-01-31 10:61'])).not.toBe('TIMESTAMP');
  });

  it('treats null tokens as nulls that do not affect the type', () => {
    const column = infer(['1', '', 'NA', 'N/A', 'null', 'NULL', 'NaN', ' ', null, '2']);
    expect(column).toMatchObject({ type: 'INTEGER', nullable: true, distinctEstimate: 2 });
    expect(infer(['1', '2'])).toMatchObject({ nullable: false });
  });

  it('calls a column with no values STRING', () => {
    expect(infer([null, '', 'NA'])).toMatchObject({
      type: 'STRING',
      nullable: true,
      distinctEstimate: 0,
    });
  });

  it('tells categories from free text by cardinality, repetition and length', () => {
    const colors = many((i) => ['red', 'green', 'blue'][i % 3]!, 30);
    expect(typeOf(colors)).toBe('CATEGORY');
    expect(typeOf(many((i) => `customer ${i}`, 30))).toBe('STRING');
    // Too few repeats to call it a category yet.
    expect(typeOf(['a', 'b', 'c', 'a'])).toBe('STRING');
    // 60 labels are too many for a category even when each repeats.
    expect(typeOf(many((i) => `label ${i % 60}`, 600))).toBe('STRING');
    // Long repeated texts are prose, not categories.
    expect(typeOf(many((i) => `${'long text '.repeat(12)}${i % 2}`, 40))).toBe('STRING');
  });

  it('treats text mixed into a typed column as STRING or CATEGORY', () => {
    expect(typeOf(many((i) => (i === 17 ? 'unknown' : `${i}`)))).toBe('STRING');
    expect(typeOf(many((i) => (i % 2 ? 'x' : 1)))).toBe('CATEGORY');
  });
});

describe('createInferrer options and counting', () => {
  it('lets overrides win over inference', () => {
    const inferrer = createInferrer(['zip', 'n'], { overrides: { zip: 'INTEGER', n: 'STRING' } });
    inferrer.observe(rowsOf(['02134', '10001'], ['1', '2']));
    expect(inferrer.finish().map((c) => c.type)).toEqual(['INTEGER', 'STRING']);
  });

  it('rejects an override of a column that does not exist', async () => {
    await expectInputError((async () => createInferrer(['a'], { overrides: { b: 'INTEGER' } }))(), {
      reason: 'UNKNOWN_COLUMN',
      column: 'b',
    });
  });

  it('decides types from the sample only, but counts nulls and distincts over every row', () => {
    const inferrer = createInferrer(['x'], { sampleSize: 3 });
    inferrer.observe(rowsOf(['1', '2', '3']));
    expect(inferrer.sampled).toBe(3);
    const atSample = inferrer.finish()[0]!;
    expect(atSample).toEqual({ name: 'x', type: 'INTEGER', nullable: false, distinctEstimate: 3 });
    inferrer.observe(rowsOf(['oops', null, '4']));
    expect(inferrer.sampled).toBe(3);
    expect(inferrer.finish()[0]).toEqual({
      name: 'x',
      type: 'INTEGER',
      nullable: true,
      distinctEstimate: 5,
    });
  });

  it('counts distinct values exactly while few and estimates them closely when many', () => {
    const inferrer = createInferrer(['id', 'few'], { sampleSize: 1000 });
    const n = 200_000;
    for (let start = 0; start < n; start += 5000) {
      inferrer.observe(
        Array.from({ length: 5000 }, (_, k) => ({
          line: start + k + 2,
          values: [`id-${start + k}`, (start + k) % 7],
        })),
      );
    }
    const [id, few] = inferrer.finish();
    expect(Math.abs(id!.distinctEstimate - n) / n).toBeLessThan(0.05);
    expect(id!.type).toBe('STRING');
    expect(few!.distinctEstimate).toBe(7);
    expect(few!.type).toBe('INTEGER');
  });

  it('estimates numeric cardinality past the exact cap', () => {
    const inferrer = createInferrer(['n']);
    inferrer.observe(Array.from({ length: 30_000 }, (_, i) => ({ line: i, values: [i * 1.5] })));
    const { distinctEstimate } = inferrer.finish()[0]!;
    expect(Math.abs(distinctEstimate - 30_000) / 30_000).toBeLessThan(0.05);
  });

  it('infers several columns independently', () => {
    const inferrer = createInferrer(['a', 'b', 'c']);
    inferrer.observe(rowsOf(['1', '2'], ['x', 'y'], ['2024-01-01', null]));
    expect(inferrer.finish()).toEqual([
      { name: 'a', type: 'INTEGER', nullable: false, distinctEstimate: 2 },
      { name: 'b', type: 'STRING', nullable: false, distinctEstimate: 2 },
      { name: 'c', type: 'DATE', nullable: true, distinctEstimate: 1 },
    ]);
  });
});
