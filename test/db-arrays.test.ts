/**
 * Arrays read and written by the PostgreSQL client, which has the built-in array types without
 * asking the catalog (db/arrays.ts). The reference is PostgreSQL's own `array_to_json` of the
 * same value.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArray, serializeArray } from '../db/arrays';
import { openPostgres } from '../db/client';

const text = String;
const number = Number;
const boolean = (x: string) => x === 't';

/** Array expressions, with how their elements read in JSON. */
const CASES: Array<[string, (x: string) => unknown]> = [
  [`array[]::text[]`, text],
  [
    `array['a', 'b c', '', null, 'NULL', 'null', 'with "quotes"', 'back\\slash', 'comma,brace}{', ' lead']`,
    text,
  ],
  [`array[1, null, -3]::int4[]`, number],
  [`array[1.5, -0.25, 1e300]::float8[]`, number],
  [`array[true, false, null]`, boolean],
  [`array[array['a', null], array['{', '}']]`, text],
  [`array[array[1, 2], array[3, 4]]::int2[]`, number],
  [`'[0:1]={7,8}'::int4[]`, number],
  [`array['6d1b2a6e-4c3f-4c8e-9a59-3f1a2b3c4d5e']::uuid[]`, text],
  [`array['x', 'y']::varchar[]`, text],
];

describe('the text form of arrays', () => {
  let db: PGlite;
  beforeAll(async () => {
    db = new PGlite();
  });
  afterAll(async () => {
    await db.close();
  });

  it('parses what PostgreSQL writes, as array_to_json reads it', async () => {
    for (const [expression, element] of CASES) {
      const { rows } = await db.query<{ text: string; json: string }>(
        `select (${expression})::text as text, array_to_json(${expression})::text as json`,
      );
      const { text, json } = rows[0]!;
      expect(parseArray(text, element), `${expression} → ${text}`).toEqual(JSON.parse(json));
    }
  });

  it('refuses a malformed literal rather than reading past it', () => {
    for (const text of ['', '{', '{"a', '{a', '{a}x', 'x', '{"a"b}', '{a\\']) {
      expect(() => parseArray(text, String), text).toThrow(/Malformed array literal/);
    }
  });

  it('writes a literal PostgreSQL reads back as the same array', async () => {
    const values = ['a', null, 'b c', 'NULL', 'with "quotes"', 'back\\slash', '{x}', ''];
    const literal = serializeArray(values, String);
    const { rows } = await db.query<{ json: string }>(
      'select array_to_json($1::text[])::text as json',
      [literal],
    );
    expect(JSON.parse(rows[0]!.json)).toEqual(values);
    const nested = serializeArray(
      [
        [1, 2],
        [3, null],
      ],
      String,
    );
    const again = await db.query<{ json: string }>(
      'select array_to_json($1::int4[])::text as json',
      [nested],
    );
    expect(JSON.parse(again.rows[0]!.json)).toEqual([
      [1, 2],
      [3, null],
    ]);
  });
});

const url = process.env.TEST_DATABASE_URL;

describe.skipIf(!url)('arrays through the PostgreSQL client', () => {
  it('reads built-in arrays as arrays, each element through its type', async () => {
    const database = openPostgres(url!);
    try {
      const [row] = await database.sql.unsafe(
        `select array['a', null, 'b "c"']::text[] as texts, array[1, 2]::int4[] as ints,
                array[5000000000]::int8[] as bigs, array[true, false] as flags,
                array['{"k": 1}']::jsonb[] as docs, array[array[1.5], array[2]]::float8[] as grid,
                array[]::uuid[] as none, (select array_agg(n order by n) from generate_series(1, 3) n) as agg`,
      );
      expect(row).toEqual({
        texts: ['a', null, 'b "c"'],
        ints: [1, 2],
        // int8 is text in this client, as a single value is.
        bigs: ['5000000000'],
        flags: [true, false],
        docs: [{ k: 1 }],
        grid: [[1.5], [2]],
        none: [],
        agg: [1, 2, 3],
      });
      // A JavaScript array bound to an array parameter.
      const [bound] = await database.sql.unsafe(
        'select array_to_json($1::text[])::text as json, array_length($2::int4[], 1) as n',
        [['x', null, 'y"z'] as never, [1, 2, 3] as never],
      );
      expect(JSON.parse(bound!.json)).toEqual(['x', null, 'y"z']);
      expect(bound!.n).toBe(3);
    } finally {
      await database.close();
    }
  });
});
