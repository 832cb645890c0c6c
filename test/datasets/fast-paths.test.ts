import { describe, expect, it } from 'vitest';
import type { ColumnType } from '../../db/schema/datasets';
import { createConverter } from '../../src/datasets/copy';
import { createInferrer, type InferredColumn } from '../../src/datasets/infer';
import { DatasetInputError } from '../../src/datasets/input-error';
import type { RawRow, RawValue } from '../../src/datasets/parse';
import { parseAll } from './sources';

/**
 * The ingestion hot paths have shortcuts (plain CSV records, canonical numbers, remembered
 * conversions, repeats of the previous row): each must give exactly what the long way gives.
 */

const NULL_TOKENS = ['', 'NA', 'N/A', 'n/a', 'null', 'NULL', 'Null', 'NaN', 'nan', '#N/A', '<NA>'];

function column(name: string, type: ColumnType): InferredColumn {
  return { name, type, nullable: true, distinctEstimate: 0 };
}

function rowsOf(values: RawValue[]): RawRow[] {
  return values.map((v, i) => ({ line: i + 2, values: [v] }));
}

/** The field each value converts to on its own (a fresh converter: nothing remembered), or the
 * error it raises. */
function oneByOne(type: ColumnType, values: RawValue[]): string[] {
  return values.map((value) => {
    try {
      return createConverter([column('x', type)]).convertBatch(rowsOf([value]));
    } catch (error) {
      if (error instanceof DatasetInputError) return `error: ${error.message}`;
      throw error;
    }
  });
}

/** The same values converted as one batch. */
function batched(type: ColumnType, values: RawValue[]): string {
  return createConverter([column('x', type)]).convertBatch(rowsOf(values));
}

/** What the converter must print for number text, from Number itself. */
function numberOracle(type: 'INTEGER' | 'FLOAT', raw: string): string | null | undefined {
  const first = raw.charCodeAt(0);
  const last = raw.charCodeAt(raw.length - 1);
  const s = raw.length > 0 && (first <= 32 || last <= 32) ? raw.trim() : raw;
  if (NULL_TOKENS.includes(s)) return null;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  const number = Number(s);
  if (type === 'INTEGER') return Number.isSafeInteger(number) ? `${number}` : undefined;
  return Number.isFinite(number) ? `${number}` : undefined;
}

const NUMBER_TEXTS = [
  '0',
  '-0',
  '00',
  '-00',
  '007',
  '7',
  '-7',
  '+7',
  ' 7',
  '7 ',
  '123456789012345',
  '-123456789012345',
  '1234567890123456',
  '9007199254740991',
  '9007199254740993',
  '99999999999999999999',
  '1.5',
  '1.50',
  '-1.5',
  '0.5',
  '-0.5',
  '.5',
  '5.',
  '0.0',
  '-0.0',
  '0.1',
  '0.000001',
  '0.0000001',
  '0.0000012345',
  '1e3',
  '1E+3',
  '1e21',
  '1e400',
  '0.016666666666666666',
  '0.30000000000000004',
  '123456789012345.6',
  '12345678901234.5',
  '1.23456789012345',
  '1.234567890123456',
  '1_000',
  '0x10',
  '１２',
  '−5',
  '-',
  '.',
  'e5',
  '1e',
  'NA',
  'NaN',
  '',
  ' ',
  'Infinity',
];

describe('conversion shortcuts', () => {
  it('prints numbers as Number does, on canonical and tricky texts alike', () => {
    for (const type of ['INTEGER', 'FLOAT'] as const) {
      const fields = oneByOne(type, NUMBER_TEXTS);
      NUMBER_TEXTS.forEach((text, i) => {
        const expected = numberOracle(type, text);
        const field = fields[i]!;
        if (expected === undefined)
          expect(field, `${type} ${JSON.stringify(text)}`).toMatch(/^error/);
        else expect(field, `${type} ${JSON.stringify(text)}`).toBe(`${expected ?? ''}\n`);
      });
    }
  });

  it('converts repeats, runs and remembered values exactly as each value alone', () => {
    const samples: Record<ColumnType, RawValue[]> = {
      INTEGER: ['1', '1', ' 1', '01', '1', null, '1', '-0', '-0', '0', 7, 7, '7', 'NA', 'NA', '2'],
      FLOAT: [
        '0.016666666666666666',
        '0.016666666666666666',
        '1.50',
        '1.50',
        '1.5',
        null,
        '1.50',
        '2',
        '2.0',
        0.1,
        0.1,
        '0.1',
        'NaN',
        'NaN',
        '-0',
        '-0',
        '0',
        ' 3.25 ',
        '3.25',
      ],
      BOOLEAN: ['true', 'true', 'TRUE', 'no', 'no', null, 'no', true, true, 'null', 'null'],
      DATE: [
        '2024-01-31',
        '2024-01-31',
        '2024/1/31',
        '2024/1/31',
        'Jan 31, 2024',
        null,
        'Jan 31, 2024',
        '12/31/2024',
        '12/31/2024',
        ' 2024-01-31',
        'NA',
        'NA',
      ],
      TIMESTAMP: [
        '2024-01-31 10:00',
        '2024-01-31 10:00',
        '2024-01-31T10:00:00+02:00',
        '2024-01-31T10:00:00+02:00',
        null,
        '2024-01-31T10:00:00+02:00',
        '2024-01-31',
        '2024-01-31',
        '<NA>',
        '<NA>',
      ],
      STRING: [
        'a,b',
        'a,b',
        'say "hi"',
        'say "hi"',
        '\\.',
        '\\.',
        null,
        'a,b',
        'plain',
        'plain',
        '',
        '',
        ' ',
        5,
        5,
        '5',
        true,
      ],
      CATEGORY: ['x', 'x', 'line\nbreak', 'line\nbreak', null, 'x', 'y', 'y', 'N/A', 'N/A'],
    };
    for (const [type, values] of Object.entries(samples) as Array<[ColumnType, RawValue[]]>) {
      expect(batched(type, values), type).toBe(oneByOne(type, values).join(''));
    }
  });

  it('stays exact when a column never repeats and its memory of conversions fills up', () => {
    const floats: RawValue[] = [];
    for (let i = 0; i < 10_000; i++) floats.push(`${i}.10`, `${i % 50}.250`);
    expect(batched('FLOAT', floats)).toBe(oneByOne('FLOAT', floats).join(''));
    const dates: RawValue[] = [];
    for (let i = 0; i < 6000; i++) dates.push(`${1 + (i % 12)}/${1 + (i % 28)}/${2000 + (i % 20)}`);
    expect(batched('DATE', dates)).toBe(oneByOne('DATE', dates).join(''));
  });

  it('reports a bad value after a run of good ones, with its line', () => {
    const converter = createConverter([column('n', 'INTEGER')]);
    expect(() => converter.convertBatch(rowsOf(['5', '5', '5', '5x']))).toThrow(
      expect.objectContaining({ line: 5, column: 'n' }),
    );
  });
});

describe('inference shortcuts', () => {
  /** Final nullability and distinct estimate of one column fed `values`, `sampleSize` typed. */
  function stats(values: RawValue[], sampleSize = 100) {
    const inferrer = createInferrer(['x'], { sampleSize });
    for (let i = 0; i < values.length; i += 1000) {
      inferrer.observe(rowsOf(values.slice(i, i + 1000)));
    }
    const [x] = inferrer.finish();
    return { nullable: x!.nullable, distinct: x!.distinctEstimate, type: x!.type };
  }

  it('counts distinct values as a Set does: texts of one number stay apart', () => {
    const values: RawValue[] = [
      '7',
      '7',
      '07',
      '+7',
      ' 7',
      7,
      7,
      '-0',
      '0',
      0,
      -0,
      '0.0',
      'x',
      'x',
      null,
      'NA',
      '7',
      '123456789012345',
      '1234567890123456',
      '-5',
      '-5',
      'true',
      true,
    ];
    const distinct = new Set(values.filter((v) => v !== null && v !== 'NA')).size;
    expect(stats(values)).toEqual({ nullable: true, distinct, type: 'STRING' });
  });

  it('gives the same counts whatever the order, runs or exact-to-sketch switch', () => {
    const values: RawValue[] = [];
    for (let i = 0; i < 3000; i++) values.push(`${i}`, `${i}`, `0${i}`, `id-${i % 2000}`, null);
    for (let i = 0; i < 500; i++) values.push(i * 1.5, 'NA', '');
    const shuffled = [...values];
    let seed = 42;
    for (let i = shuffled.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const sorted = [...values].sort((a, b) => String(a).localeCompare(String(b)));
    const expected = stats(values);
    expect(expected.distinct).toBeGreaterThan(4096);
    expect(Math.abs(expected.distinct - 8750) / 8750).toBeLessThan(0.05);
    expect(stats(shuffled)).toEqual(expected);
    expect(stats(sorted)).toEqual(expected);
  });

  it('counts a column that repeats one value, with nulls between, exactly', () => {
    const values: RawValue[] = [];
    for (let i = 0; i < 5000; i++) values.push('0.016666666666666666', i % 7 === 0 ? 'NA' : '3');
    expect(stats(values)).toEqual({ nullable: true, distinct: 2, type: 'FLOAT' });
  });
});

describe('plain CSV records', () => {
  it('read as the general scanner reads them, whatever the chunking', async () => {
    const text =
      'a,b,c\n' +
      '1,2,3\n' +
      ',,\n' +
      '1,,3\n' +
      '"q",2,3\n' +
      'x"y,2,3\n' +
      '\n' +
      '1,2,3\r\n' +
      '4,5,6\r' +
      '7,8,9\n' +
      '  ,  , \n' +
      'a b,"c\nd",e\n' +
      '1,2,3';
    const whole = await parseAll(text, { format: 'CSV' });
    expect(whole.rows.map((r) => [r.line, ...r.values])).toEqual([
      [2, '1', '2', '3'],
      [3, null, null, null],
      [4, '1', null, '3'],
      [5, 'q', '2', '3'],
      [6, 'x"y', '2', '3'],
      [8, '1', '2', '3'],
      [9, '4', '5', '6'],
      [10, '7', '8', '9'],
      [11, '  ', '  ', ' '],
      [12, 'a b', 'c\nd', 'e'],
      [14, '1', '2', '3'],
    ]);
    for (const size of [1, 2, 3, 5, 7]) {
      expect((await parseAll(text, { format: 'CSV' }, size)).rows, `chunks of ${size}`).toEqual(
        whole.rows,
      );
    }
    const tabs = text.replaceAll(',', '\t');
    const tsv = await parseAll(tabs, { format: 'TSV' });
    expect(tsv.rows).toEqual(whole.rows);
    expect((await parseAll(tabs, { format: 'TSV' }, 1)).rows).toEqual(whole.rows);
  });

  it('report a ragged plain record at its line, as the general scanner does', async () => {
    for (const size of [undefined, 1]) {
      for (const [text, line, found] of [
        ['a,b\n1,2\n1,2,3\n', 3, 3],
        ['a,b\n1,2\n\n3\n', 4, 1],
        ['a,b\r\n1,2\r\n1\n', 3, 1],
      ] as const) {
        const error = await parseAll(text, { format: 'CSV' }, size).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, `${JSON.stringify(text)} in chunks of ${size}`).toBeInstanceOf(
          DatasetInputError,
        );
        expect((error as DatasetInputError).line).toBe(line);
        expect((error as DatasetInputError).message).toContain(`found ${found}`);
      }
    }
  });
});
