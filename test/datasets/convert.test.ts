import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ColumnType, pgTypeFor } from '../../db/schema/datasets';
import { parseValue } from '../../src/datasets/canonical';
import { copyCell, createConverter } from '../../src/datasets/copy';
import { createInferrer, type InferredColumn } from '../../src/datasets/infer';
import { DatasetInputError } from '../../src/datasets/input-error';
import type { RawRow, RawValue } from '../../src/datasets/parse';
import { expectInputError, parseAll } from './sources';

function column(
  name: string,
  type: ColumnType,
  extra: Partial<InferredColumn> = {},
): InferredColumn {
  return { name, type, nullable: true, distinctEstimate: 0, ...extra };
}

/** Converts single values of one type, one output line each (without the '\n'). */
function convertAll(
  type: ColumnType,
  values: RawValue[],
  extra?: Partial<InferredColumn>,
): string[] {
  const converter = createConverter([column('x', type, extra)]);
  const rows: RawRow[] = values.map((v, i) => ({ line: i + 2, values: [v] }));
  return converter.convertBatch(rows).split('\n').slice(0, -1);
}

describe('createConverter', () => {
  it('writes integers as plain decimal text', () => {
    expect(convertAll('INTEGER', ['42', '-7', '+3', ' 12 ', '007', '-0', '3.0', '1e3', 5])).toEqual(
      ['42', '-7', '3', '12', '7', '0', '3', '1000', '5'],
    );
  });

  it('writes floats as JS number text', () => {
    expect(
      convertAll('FLOAT', ['1.50', '2', '-0.25', '.5', '1e3', '6.02E+23', 0.1, '12.5']),
    ).toEqual(['1.5', '2', '-0.25', '0.5', '1000', '6.02e+23', '0.1', '12.5']);
  });

  it('writes booleans as t and f', () => {
    expect(convertAll('BOOLEAN', ['true', 'No', 'YES', 'false', true, false])).toEqual([
      't',
      'f',
      't',
      'f',
      't',
      'f',
    ]);
  });

  it('writes dates as YYYY-MM-DD, honouring the column reading of slash dates', () => {
    expect(
      convertAll('DATE', ['2024-01-31', '2024/2/3', '12/31/2024', 'Jan 5, 2021', '5 Mar 0999']),
    ).toEqual(['2024-01-31', '2024-02-03', '2024-12-31', '2021-01-05', '0999-03-05']);
    expect(convertAll('DATE', ['01/02/2024'])).toEqual(['2024-01-02']);
    expect(convertAll('DATE', ['01/02/2024'], { dayFirst: true })).toEqual(['2024-02-01']);
  });

  it('writes timestamps as ISO 8601 UTC, taking zone-less ones as UTC', () => {
    expect(
      convertAll('TIMESTAMP', [
        '2024-01-31 10:20',
        '2024-01-31T10:20:30.120Z',
        '2024-01-31T01:20:30+02:00',
        '2024-12-31T23:30:00-0130',
        '2024-03-01 00:10:00+01',
        '2024-01-31',
        '01/31/2024 3:04:05 PM',
        '01/31/2024 12:04 am',
        '2024-01-31T10:20:30.1234567',
      ]),
    ).toEqual([
      '2024-01-31T10:20:00Z',
      '2024-01-31T10:20:30.12Z',
      '2024-01-30T23:20:30Z',
      '2025-01-01T01:00:00Z',
      '2024-02-29T23:10:00Z',
      '2024-01-31T00:00:00Z',
      '2024-01-31T15:04:05Z',
      '2024-01-31T00:04:00Z',
      '2024-01-31T10:20:30.123456Z',
    ]);
  });

  it('quotes text only when COPY needs it', () => {
    expect(
      convertAll('STRING', [
        'plain',
        'a,b',
        'say "hi"',
        'two\nlines',
        'cr\r',
        ' padded ',
        '\\.',
        '\\N',
        42,
        true,
      ]),
    ).toEqual([
      'plain',
      '"a,b"',
      '"say ""hi"""',
      '"two',
      'lines"',
      '"cr\r"',
      ' padded ',
      '"\\."',
      '\\N',
      '42',
      'true',
    ]);
  });

  it('writes nulls and null tokens as empty unquoted fields in every type', () => {
    const converter = createConverter([
      column('i', 'INTEGER'),
      column('f', 'FLOAT'),
      column('b', 'BOOLEAN'),
      column('d', 'DATE'),
      column('t', 'TIMESTAMP'),
      column('s', 'STRING'),
      column('c', 'CATEGORY'),
    ]);
    const out = converter.convertBatch([
      { line: 2, values: [null, 'NaN', 'NA', '', 'null', 'N/A', ' '] },
      { line: 3, values: ['1', '2.5', 'yes', '2024-01-01', '2024-01-01 00:00', 'x', 'y'] },
      { line: 4, values: [] },
    ]);
    expect(out).toBe(',,,,,,\n1,2.5,t,2024-01-01,2024-01-01T00:00:00Z,x,y\n,,,,,,\n');
  });

  it('rejects a value that does not fit, naming line and column', async () => {
    const converter = createConverter([column('id', 'INTEGER'), column('price', 'FLOAT')]);
    const run = (values: RawValue[]) => async () => converter.convertBatch([{ line: 17, values }]);
    const error = await expectInputError(run(['1', 'abc'])(), {
      reason: 'BAD_VALUE',
      line: 17,
      column: 'price',
    });
    expect(error.message).toBe('Line 17, column "price": "abc" is not a FLOAT');
    const integer = await expectInputError(run(['1.5', '1'])(), {
      reason: 'BAD_VALUE',
      line: 17,
      column: 'id',
    });
    expect(integer.message).toBe('Line 17, column "id": "1.5" is not an INTEGER');
    await expectInputError(run(['9007199254740993', '1'])(), {
      reason: 'BAD_VALUE',
      line: 17,
      column: 'id',
    });
    await expectInputError(run([true, '1'])(), { reason: 'BAD_VALUE', line: 17, column: 'id' });
    await expectInputError(run(['1', 'Infinity'])(), {
      reason: 'BAD_VALUE',
      line: 17,
      column: 'price',
    });
  });

  it('rejects values of the wrong kind for booleans, dates and timestamps', async () => {
    const cases: Array<[ColumnType, RawValue]> = [
      ['BOOLEAN', '1'],
      ['BOOLEAN', 1],
      ['DATE', '2023-02-29'],
      ['DATE', '2024-01-01 10:00'],
      ['DATE', 20240101],
      ['TIMESTAMP', '2024-01-01 24:00'],
      ['TIMESTAMP', 'yesterday'],
    ];
    for (const [type, value] of cases) {
      const converter = createConverter([column('v', type)]);
      await expectInputError(
        (async () => converter.convertBatch([{ line: 3, values: [value] }]))(),
        {
          reason: 'BAD_VALUE',
          line: 3,
          column: 'v',
        },
      );
    }
    const us = createConverter([column('d', 'DATE')]);
    await expectInputError((async () => us.convertBatch([{ line: 9, values: ['31/12/2024'] }]))(), {
      reason: 'BAD_VALUE',
      line: 9,
      column: 'd',
    });
  });

  it('rejects text with a NUL character, which PostgreSQL cannot store', async () => {
    const converter = createConverter([column('s', 'STRING')]);
    const error = await expectInputError(
      (async () => converter.convertBatch([{ line: 4, values: ['a\u0000b'] }]))(),
      { reason: 'BAD_VALUE', line: 4, column: 's' },
    );
    expect(error.message).toContain('NUL');
  });

  it('cuts long values in messages and leaves out values of hidden columns', async () => {
    const converter = createConverter([column('ssn', 'INTEGER'), column('note', 'INTEGER')], {
      hideValuesFor: new Set(['ssn']),
    });
    const hidden = await expectInputError(
      (async () => converter.convertBatch([{ line: 5, values: ['123-45-6789', '1'] }]))(),
      { reason: 'BAD_VALUE', line: 5, column: 'ssn' },
    );
    expect(hidden.message).toBe('Line 5, column "ssn": the value is not an INTEGER');
    expect(hidden.message).not.toContain('6789');
    const long = await expectInputError(
      (async () => converter.convertBatch([{ line: 6, values: ['1', 'x'.repeat(500)] }]))(),
      { reason: 'BAD_VALUE', line: 6, column: 'note' },
    );
    expect(long.message).toBe(`Line 6, column "note": "${'x'.repeat(40)}…" is not an INTEGER`);
  });
});

describe('parseValue', () => {
  it('returns JS values for each type', () => {
    expect(parseValue('INTEGER', ' 0042 ')).toBe(42);
    expect(parseValue('FLOAT', '2.50')).toBe(2.5);
    expect(parseValue('FLOAT', 3)).toBe(3);
    expect(parseValue('BOOLEAN', 'Yes')).toBe(true);
    expect(parseValue('BOOLEAN', false)).toBe(false);
    expect(parseValue('DATE', '3/4/2024')).toBe('2024-03-04');
    expect(parseValue('DATE', '3/4/2024', { dayFirst: true })).toBe('2024-04-03');
    expect(parseValue('TIMESTAMP', '2024-03-04 05:06:07+01:00')).toBe('2024-03-04T04:06:07Z');
    expect(parseValue('STRING', 'a,"b"')).toBe('a,"b"');
    expect(parseValue('CATEGORY', 7)).toBe('7');
  });

  it('returns null for nulls and null tokens', () => {
    for (const type of ['INTEGER', 'FLOAT', 'BOOLEAN', 'DATE', 'TIMESTAMP', 'STRING'] as const) {
      expect(parseValue(type, null)).toBeNull();
      expect(parseValue(type, 'NA')).toBeNull();
    }
  });

  it('throws BAD_VALUE with the column when given, hiding the value on request', () => {
    expect(() => parseValue('INTEGER', 'x')).toThrow('"x" is not an INTEGER');
    try {
      parseValue('DATE', 'secret', { column: 'dob', hideValue: true });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DatasetInputError);
      expect((error as DatasetInputError).message).toBe('Column "dob": the value is not a DATE');
      expect((error as DatasetInputError).column).toBe('dob');
    }
  });
});

describe('copyCell', () => {
  it('writes typed values as the converter writes them, without reading text as null', () => {
    const cells: Array<[ColumnType, unknown, string]> = [
      ['INTEGER', 42, '42'],
      ['INTEGER', 9007199254740993n, '9007199254740993'],
      ['INTEGER', '-7', '-7'],
      ['FLOAT', 0.1, '0.1'],
      ['FLOAT', Number.NaN, ''],
      ['BOOLEAN', false, 'f'],
      ['DATE', '2024-03-04', '2024-03-04'],
      ['DATE', new Date('2024-03-04T00:00:00Z'), '2024-03-04'],
      ['TIMESTAMP', new Date('2024-03-04T05:06:07.5Z'), '2024-03-04T05:06:07.5Z'],
      ['TIMESTAMP', '2024-03-04 05:06:07+01:00', '2024-03-04T04:06:07Z'],
      ['STRING', 'a,"b"', '"a,""b"""'],
      ['STRING', '', '""'],
      ['STRING', 'NA', 'NA'],
      ['CATEGORY', '\\.', '"\\."'],
      ['CATEGORY', 7, '7'],
      ['STRING', null, ''],
      ['DATE', undefined, ''],
    ];
    expect(cells.map(([type, value]) => copyCell(type, value))).toEqual(
      cells.map(([, , cell]) => cell),
    );
  });

  it('throws BAD_VALUE for a value of another type', () => {
    expect(() => copyCell('INTEGER', 1.5)).toThrow('"1.5" is not an INTEGER');
    expect(() => copyCell('BOOLEAN', 'maybe')).toThrow('"maybe" is not a BOOLEAN');
    expect(() => copyCell('DATE', {})).toThrow(DatasetInputError);
    expect(() => copyCell('STRING', 'a\0b')).toThrow('NUL character');
  });
});

describe('pgTypeFor', () => {
  it('maps each column type to a PostgreSQL type', () => {
    const types: ColumnType[] = [
      'INTEGER',
      'FLOAT',
      'BOOLEAN',
      'DATE',
      'TIMESTAMP',
      'STRING',
      'CATEGORY',
    ];
    expect(types.map(pgTypeFor)).toEqual([
      'bigint',
      'double precision',
      'boolean',
      'date',
      'timestamptz',
      'text',
      'text',
    ]);
  });
});

describe('converter output loaded back', () => {
  let pg: PGlite;
  beforeAll(async () => {
    pg = await PGlite.create();
  }, 60_000);
  afterAll(async () => {
    await pg?.close();
  });

  const source =
    'id,price,active,day,at,label,note\n' +
    '1,1.50,yes,2024-01-31,2024-01-31 10:20:30+02:00,red,"plain"\n' +
    '2,,no,1/2/2024,2024-02-01T00:00:00Z,green,"a, ""quoted"" value"\n' +
    '3,-2e3,TRUE,NA,,red,"multi\nline"\n' +
    '4,0.000001,false,2024-12-31,2024-12-31T23:59:59.999999Z,blue,\\.\n' +
    '5,3,N/A,2024-02-29,2024-02-29 12:00,red,"\\N"\n' +
    '6,7.25,true,2024-03-01,2024-03-01 00:00,green,NULL\n';

  async function ingest() {
    const { columns, rows } = await parseAll(source, { format: 'CSV' });
    const inferrer = createInferrer(columns);
    inferrer.observe(rows);
    const inferred = inferrer.finish();
    return { inferred, rows, copy: createConverter(inferred).convertBatch(rows) };
  }

  it('infers the expected types for the round-trip table', async () => {
    const { inferred } = await ingest();
    expect(inferred.map((c) => c.type)).toEqual([
      'INTEGER',
      'FLOAT',
      'BOOLEAN',
      'DATE',
      'TIMESTAMP',
      // Six rows are too few for three labels to count as a category.
      'STRING',
      'STRING',
    ]);
  });

  it('loads into PostgreSQL with COPY and reads back the same values', async () => {
    const { inferred, copy } = await ingest();
    const columnsSql = inferred.map((c) => `"${c.name}" ${pgTypeFor(c.type)}`).join(', ');
    await pg.exec(`create table roundtrip (${columnsSql})`);
    await pg.query("copy roundtrip from '/dev/blob' with (format csv)", [], {
      blob: new Blob([copy]),
    });
    const { rows } = await pg.query<Record<string, unknown>>(
      `select id::text, price::text, active::text, day::text,
              to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as at,
              label, note, note is null as note_null
         from roundtrip order by id`,
    );
    expect(rows).toEqual([
      {
        id: '1',
        price: '1.5',
        active: 'true',
        day: '2024-01-31',
        at: '2024-01-31T08:20:30.000000',
        label: 'red',
        note: 'plain',
        note_null: false,
      },
      {
        id: '2',
        price: null,
        active: 'false',
        day: '2024-01-02',
        at: '2024-02-01T00:00:00.000000',
        label: 'green',
        note: 'a, "quoted" value',
        note_null: false,
      },
      {
        id: '3',
        price: '-2000',
        active: 'true',
        day: null,
        at: null,
        label: 'red',
        note: 'multi\nline',
        note_null: false,
      },
      {
        id: '4',
        price: '1e-06',
        active: 'false',
        day: '2024-12-31',
        at: '2024-12-31T23:59:59.999999',
        label: 'blue',
        note: '\\.',
        note_null: false,
      },
      {
        id: '5',
        price: '3',
        active: null,
        day: '2024-02-29',
        at: '2024-02-29T12:00:00.000000',
        label: 'red',
        note: '\\N',
        note_null: false,
      },
      {
        id: '6',
        price: '7.25',
        active: 'true',
        day: '2024-03-01',
        at: '2024-03-01T00:00:00.000000',
        label: 'green',
        note: null,
        note_null: true,
      },
    ]);
  });

  it('parses back with the CSV parser to the canonical values', async () => {
    const { inferred, copy } = await ingest();
    const header = inferred.map((c) => c.name).join(',');
    const { rows } = await parseAll(`${header}\n${copy}`, { format: 'CSV' });
    expect(rows.map((r) => r.values)).toEqual([
      ['1', '1.5', 't', '2024-01-31', '2024-01-31T08:20:30Z', 'red', 'plain'],
      ['2', null, 'f', '2024-01-02', '2024-02-01T00:00:00Z', 'green', 'a, "quoted" value'],
      ['3', '-2000', 't', null, null, 'red', 'multi\nline'],
      ['4', '0.000001', 'f', '2024-12-31', '2024-12-31T23:59:59.999999Z', 'blue', '\\.'],
      ['5', '3', null, '2024-02-29', '2024-02-29T12:00:00Z', 'red', '\\N'],
      ['6', '7.25', 't', '2024-03-01', '2024-03-01T00:00:00Z', 'green', null],
    ]);
  });

  it('loads typed rows written with copyCell, keeping empty and null-token texts', async () => {
    const types: ColumnType[] = ['INTEGER', 'FLOAT', 'BOOLEAN', 'DATE', 'TIMESTAMP', 'STRING'];
    await pg.exec(
      `create table typed (${types.map((t, i) => `c${i} ${pgTypeFor(t)}`).join(', ')})`,
    );
    const rows = [
      [1, 2.5, true, '2024-01-31', new Date('2024-01-31T08:20:30Z'), ''],
      [2, Number.NaN, null, new Date('2024-02-29T00:00:00Z'), null, 'NA'],
      [3, -0.25, false, null, '2024-03-01T00:00:00Z', '\\.'],
    ];
    const copy = rows.map((r) => `${r.map((v, i) => copyCell(types[i]!, v)).join(',')}\n`).join('');
    await pg.query("copy typed from '/dev/blob' with (format csv)", [], { blob: new Blob([copy]) });
    const { rows: back } = await pg.query<Record<string, unknown>>(
      `select c0::text, c1::text, c2::text, c3::text,
              to_char(c4 at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') as c4, c5
         from typed order by c0`,
    );
    expect(back.map((r) => Object.values(r))).toEqual([
      ['1', '2.5', 'true', '2024-01-31', '2024-01-31T08:20:30', ''],
      ['2', null, null, '2024-02-29', null, 'NA'],
      ['3', '-0.25', 'false', null, '2024-03-01T00:00:00', '\\.'],
    ]);
  });
});
