import { describe, expect, it } from 'vitest';
import { parseFile, type RawRow } from '../../src/datasets/parse';
import { bytesOf, chunked, expectInputError, fromText, parseAll, valuesOf } from './sources';

const json = { format: 'JSON' } as const;
const ndjson = { format: 'NDJSON' } as const;

async function drainAt(bytes: Uint8Array, at: number, options: typeof json | typeof ndjson) {
  const file = await parseFile(
    (async function* () {
      yield bytes.subarray(0, at);
      yield bytes.subarray(at);
    })(),
    options,
  );
  const rows: RawRow[] = [];
  for await (const batch of file.rows) rows.push(...batch);
  return { columns: file.columns, rows };
}

describe('parseFile (JSON array)', () => {
  it('reads an array of objects with the line each object starts on', async () => {
    const text = '[\n  {"a": 1, "b": "x"},\n  {\n    "a": 2,\n    "b": "y"\n  }\n]\n';
    const { columns, rows } = await parseAll(text, json);
    expect(columns).toEqual(['a', 'b']);
    expect(rows).toEqual([
      { line: 2, values: [1, 'x'] },
      { line: 3, values: [2, 'y'] },
    ]);
  });

  it('keeps scalars, serializes nested values and makes missing keys null', async () => {
    const text = '[{"n":1.5,"t":true,"z":null,"o":{"k":[1,2]},"l":[]},{"n":-2},{"extra":"e"}]';
    const { columns, rows } = await parseAll(text, json);
    expect(columns).toEqual(['n', 't', 'z', 'o', 'l', 'extra']);
    expect(valuesOf(rows)).toEqual([
      [1.5, true, null, '{"k":[1,2]}', '[]', null],
      [-2, null, null, null, null, null],
      [null, null, null, null, null, 'e'],
    ]);
  });

  it('takes columns from the first 1000 objects and rejects a key first seen later', async () => {
    const objects = Array.from({ length: 1500 }, (_, i) =>
      i === 999 ? '{"a":1,"late":2}' : i === 1200 ? '{"a":1,"later":2}' : '{"a":1}',
    );
    const text = `[\n${objects.join(',\n')}\n]`;
    const file = await parseFile(fromText(text, 1000), json);
    expect(file.columns).toEqual(['a', 'late']);
    const rows: RawRow[] = [];
    const error = await expectInputError(
      (async () => {
        for await (const batch of file.rows) rows.push(...batch);
      })(),
      { reason: 'BAD_JSON', line: 1202 },
    );
    expect(error.message).toContain('"later"');
    expect(rows.length).toBe(1000);
  });

  it('is not confused by braces, brackets, quotes and backslashes inside strings, at any chunking', async () => {
    const text =
      '[ {"s": "}{][", "q": "say \\"hi\\"", "b": "back\\\\", "u": "\\u00e9€"},\n' +
      ' {"s": "\\\\\\"", "q": "😀", "b": "[{", "u": "x"} ]';
    const bytes = bytesOf(text);
    const whole = await parseAll(bytes, json);
    expect(valuesOf(whole.rows)).toEqual([
      ['}{][', 'say "hi"', 'back\\', 'é€'],
      ['\\"', '😀', '[{', 'x'],
    ]);
    expect(whole.rows.map((r) => r.line)).toEqual([1, 2]);
    for (let at = 0; at <= bytes.byteLength; at++) {
      expect(await drainAt(bytes, at, json), `split at ${at}`).toEqual({
        columns: whole.columns,
        rows: whole.rows,
      });
    }
    expect((await parseAll(bytes, json, 1)).rows).toEqual(whole.rows);
  });

  it('rejects an object too long to hold, naming the line it starts on', async () => {
    async function* source() {
      yield bytesOf('[{"a":1},\n{"a":"');
      const filler = bytesOf('y'.repeat(1 << 20));
      for (let i = 0; i < 20; i++) yield filler;
      yield bytesOf('"}]');
    }
    await expectInputError(parseAll(source(), json), { reason: 'TOO_LARGE', line: 2 });
  });

  it('streams large arrays in batches', async () => {
    const text = JSON.stringify(Array.from({ length: 12_345 }, (_, i) => ({ i, s: `v${i}` })));
    const { rows, batches } = await parseAll(text, json, 8192);
    expect(rows).toHaveLength(12_345);
    expect(rows[12_344]!.values).toEqual([12_344, 'v12344']);
    expect(batches).toBeGreaterThanOrEqual(3);
  });

  it('rejects malformed JSON with the line of the object', async () => {
    const error = await expectInputError(parseAll('[\n{"a":1},\n{"a":}\n]', json), {
      reason: 'BAD_JSON',
      line: 3,
    });
    expect(error.message).toBe('Line 3: the object starting here is not valid JSON');
  });

  it('rejects elements that are not objects, trailing commas and a missing comma', async () => {
    await expectInputError(parseAll('[{"a":1},\n 2]', json), { reason: 'BAD_JSON', line: 2 });
    await expectInputError(parseAll('[{"a":1},\n]', json), { reason: 'BAD_JSON', line: 2 });
    await expectInputError(parseAll('[{"a":1}\n{"a":2}]', json), { reason: 'BAD_JSON', line: 2 });
  });

  it('rejects a top-level object, suggesting NDJSON', async () => {
    const error = await expectInputError(parseAll('{"a":1}\n{"a":2}\n', json), {
      reason: 'BAD_JSON',
      line: 1,
    });
    expect(error.message).toContain('NDJSON');
  });

  it('rejects an array that is never closed and text after the array', async () => {
    await expectInputError(parseAll('[{"a":1},\n{"a":2', json), { reason: 'BAD_JSON', line: 2 });
    await expectInputError(parseAll('[{"a":1}\n', json), { reason: 'BAD_JSON', line: 2 });
    await expectInputError(parseAll('[{"a":1}]\n[', json), { reason: 'BAD_JSON', line: 2 });
  });

  it('rejects files with no objects', async () => {
    for (const text of ['', ' \n ', '[]', '[ \n ]']) {
      await expectInputError(parseFile(fromText(text), json), { reason: 'EMPTY_FILE' });
    }
    await expectInputError(parseFile(fromText('[{}, {}]'), json), {
      reason: 'EMPTY_FILE',
      line: 1,
    });
  });

  it('rejects keys that collide ignoring case, and empty keys, at the line they appear', async () => {
    await expectInputError(parseFile(fromText('[{"id":1},\n{"ID":2}]'), json), {
      reason: 'DUPLICATE_COLUMN',
      line: 2,
      column: 'ID',
    });
    await expectInputError(parseFile(fromText('[{"":1}]'), json), {
      reason: 'EMPTY_COLUMN_NAME',
      line: 1,
    });
  });

  it('rejects invalid UTF-8 and NUL bytes with their line', async () => {
    const invalid = new Uint8Array([
      ...bytesOf('[{"a":1},\n{"a":"'),
      0xc3,
      0x28,
      ...bytesOf('"}]'),
    ]);
    await expectInputError(parseAll(invalid, json), { reason: 'INVALID_UTF8', line: 2 });
    const nul = bytesOf(`[${'{"a":1},\n'.repeat(600)}{"a":"\u0000"}]`);
    await expectInputError(parseAll(nul, json, 512), { reason: 'BINARY_DATA', line: 601 });
  });
});

describe('parseFile (NDJSON)', () => {
  it('reads one object per line, skipping blank lines, with CRLF or LF', async () => {
    const text = '{"a":1,"b":"x"}\r\n\r\n  \n{"a":2}\n{"b":"z","a":3}';
    const { columns, rows } = await parseAll(text, ndjson);
    expect(columns).toEqual(['a', 'b']);
    expect(rows).toEqual([
      { line: 1, values: [1, 'x'] },
      { line: 4, values: [2, null] },
      { line: 5, values: [3, 'z'] },
    ]);
  });

  it('gives the same rows for every split position', async () => {
    const bytes = bytesOf('{"a":"é😀"}\n\n{"a":"\\n"}\r\n{"a":[1,{"b":2}]}\n');
    const whole = await parseAll(bytes, ndjson);
    expect(valuesOf(whole.rows)).toEqual([['é😀'], ['\n'], ['[1,{"b":2}]']]);
    for (let at = 0; at <= bytes.byteLength; at++) {
      expect((await drainAt(bytes, at, ndjson)).rows, `split at ${at}`).toEqual(whole.rows);
    }
  });

  it('rejects a malformed line and a line that is not an object, naming the line', async () => {
    await expectInputError(parseAll('{"a":1}\n\n{"a":1,}\n', ndjson), {
      reason: 'BAD_JSON',
      line: 3,
    });
    const error = await expectInputError(parseAll('{"a":1}\n[1,2]\n', ndjson), {
      reason: 'BAD_JSON',
      line: 2,
    });
    expect(error.message).toBe('Line 2: expected a JSON object on this line');
    await expectInputError(parseAll('{"a":1}\n{"a":2} {"a":3}\n', ndjson), {
      reason: 'BAD_JSON',
      line: 2,
    });
  });

  it('rejects an empty file', async () => {
    await expectInputError(parseFile(fromText('\n\n  \n'), ndjson), { reason: 'EMPTY_FILE' });
  });

  it('rejects a line too long to hold, before reading the rest of the file', async () => {
    let pulled = 0;
    async function* source() {
      yield bytesOf('{"a":1}\n{"a":"');
      const filler = bytesOf('x'.repeat(1 << 20));
      for (; pulled < 100; pulled++) yield filler;
    }
    await expectInputError(parseAll(source(), ndjson), { reason: 'TOO_LARGE', line: 2 });
    expect(pulled).toBeLessThan(20);
  });

  it('reports the bytes it read', async () => {
    const text = '{"a":1}\n{"a":2}\n';
    const file = await parseFile(chunked(bytesOf(text), 3), ndjson);
    for await (const batch of file.rows) expect(batch).toHaveLength(2);
    expect(file.stats()).toEqual({ bytes: 16, rows: 2 });
  });
});
