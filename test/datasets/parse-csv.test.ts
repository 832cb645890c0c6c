import { describe, expect, it } from 'vitest';
import { parseFile, type RawRow } from '../../src/datasets/parse';
import { InputError } from '../../src/errors';
import { bytesOf, chunked, expectInputError, fromText, parseAll, valuesOf } from './sources';

const csv = { format: 'CSV' } as const;

/** Every way of cutting `bytes` in two, plus one byte at a time. */
function* splits(bytes: Uint8Array): Generator<[string, AsyncIterable<Uint8Array>]> {
  yield ['1-byte chunks', chunked(bytes, 1)];
  for (let at = 0; at <= bytes.byteLength; at++) {
    yield [
      `split at ${at}`,
      (async function* () {
        yield bytes.subarray(0, at);
        yield bytes.subarray(at);
      })(),
    ];
  }
}

async function drain(source: AsyncIterable<Uint8Array>, options = csv) {
  const file = await parseFile(source, options);
  const rows: RawRow[] = [];
  for await (const batch of file.rows) rows.push(...batch);
  return { columns: file.columns, rows };
}

describe('parseFile (CSV)', () => {
  it('reads a header and rows, with 1-based physical line numbers', async () => {
    const { columns, rows } = await parseAll('name,age\nAda,36\nAlan,41\n', csv);
    expect(columns).toEqual(['name', 'age']);
    expect(rows).toEqual([
      { line: 2, values: ['Ada', '36'] },
      { line: 3, values: ['Alan', '41'] },
    ]);
  });

  it('makes an empty unquoted field null and a quoted empty field the empty string', async () => {
    const { rows } = await parseAll('a,b,c\n,"",x\n1,,\n', csv);
    expect(valuesOf(rows)).toEqual([
      [null, '', 'x'],
      ['1', null, null],
    ]);
  });

  it('handles quoted delimiters, escaped quotes and newlines inside quotes', async () => {
    const text = 'id,note\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,"""quoted"""\n5,end\n';
    const { rows } = await parseAll(text, csv);
    expect(valuesOf(rows)).toEqual([
      ['1', 'a, b'],
      ['2', 'say "hi"'],
      ['3', 'two\nlines'],
      ['4', '"quoted"'],
      ['5', 'end'],
    ]);
    // The embedded newline makes row 4 start on physical line 6.
    expect(rows.map((r) => r.line)).toEqual([2, 3, 4, 6, 7]);
  });

  it('accepts CRLF, LF and lone CR line endings and keeps CRLF inside quotes', async () => {
    const { rows } = await parseAll('a,b\r\n1,2\r\n3,"x\r\ny"\r4,5\n6,7', csv);
    expect(valuesOf(rows)).toEqual([
      ['1', '2'],
      ['3', 'x\r\ny'],
      ['4', '5'],
      ['6', '7'],
    ]);
    expect(rows.map((r) => r.line)).toEqual([2, 3, 5, 6]);
  });

  it('does not need a trailing newline, and reads a trailing delimiter at EOF as a null', async () => {
    expect(valuesOf((await parseAll('a,b\n1,2', csv)).rows)).toEqual([['1', '2']]);
    expect(valuesOf((await parseAll('a,b\n1,', csv)).rows)).toEqual([['1', null]]);
    expect(valuesOf((await parseAll('a,b\n1,"x"', csv)).rows)).toEqual([['1', 'x']]);
  });

  it('strips a UTF-8 byte order mark', async () => {
    const { columns, rows } = await parseAll('\uFEFFid,name\n1,Zoë\n', csv);
    expect(columns).toEqual(['id', 'name']);
    expect(valuesOf(rows)).toEqual([['1', 'Zoë']]);
  });

  it('skips blank lines, including whitespace-only lines before the header', async () => {
    const { columns, rows } = await parseAll('\n  \na,b\n\n1,2\n\r\n3,4\n\n', csv);
    expect(columns).toEqual(['a', 'b']);
    expect(rows).toEqual([
      { line: 5, values: ['1', '2'] },
      { line: 7, values: ['3', '4'] },
    ]);
  });

  it('trims header names', async () => {
    expect((await parseAll(' id , full name \n1,x\n', csv)).columns).toEqual(['id', 'full name']);
  });

  it('reads TSV and custom delimiters', async () => {
    const tsv = await parseAll('a\tb\n1,5\t"x\ty"\n', { format: 'TSV' });
    expect(valuesOf(tsv.rows)).toEqual([['1,5', 'x\ty']]);
    const semi = await parseAll('a;b\n1,5;2\n', { format: 'CSV', delimiter: ';' });
    expect(valuesOf(semi.rows)).toEqual([['1,5', '2']]);
    const pipe = await parseAll('a|b\n|x\n', { format: 'CSV', delimiter: '|' });
    expect(valuesOf(pipe.rows)).toEqual([[null, 'x']]);
  });

  it('rejects a delimiter that is not one ordinary character', async () => {
    for (const delimiter of [';;', '', '"', '\n']) {
      await expect(parseFile(fromText('a\n'), { format: 'CSV', delimiter })).rejects.toBeInstanceOf(
        InputError,
      );
    }
  });

  it('names columns column_1..n without a header and keeps the first line as data', async () => {
    const { columns, rows } = await parseAll('1,2,3\n4,5,6\n', { format: 'CSV', header: false });
    expect(columns).toEqual(['column_1', 'column_2', 'column_3']);
    expect(rows).toEqual([
      { line: 1, values: ['1', '2', '3'] },
      { line: 2, values: ['4', '5', '6'] },
    ]);
  });

  it('is lenient with stray quotes: literal inside unquoted fields, text after a closing quote kept', async () => {
    const { rows } = await parseAll('a,b\n5" pipe,"ab"c\n', csv);
    expect(valuesOf(rows)).toEqual([['5" pipe', 'abc']]);
  });

  it('allows a header with no rows', async () => {
    const { columns, rows } = await parseAll('a,b\n', csv);
    expect(columns).toEqual(['a', 'b']);
    expect(rows).toEqual([]);
  });

  it('gives the same result for every chunking, including splits inside quotes, CRLF and multi-byte characters', async () => {
    const text =
      '\uFEFFcity,"note ""x""",price\r\n' +
      'Zürich,"a,b\r\nc ""q""",1.5\r\n' +
      '東京,"",2\r' +
      '😀 smile,"€ """,\n' +
      '"x""",y,"z"\n';
    const bytes = bytesOf(text);
    const whole = await drain(chunked(bytes));
    expect(whole.columns).toEqual(['city', 'note "x"', 'price']);
    expect(whole.rows).toEqual([
      { line: 2, values: ['Zürich', 'a,b\r\nc "q"', '1.5'] },
      { line: 4, values: ['東京', '', '2'] },
      { line: 5, values: ['😀 smile', '€ "', null] },
      { line: 6, values: ['x"', 'y', 'z'] },
    ]);
    for (const [label, source] of splits(bytes)) {
      expect(await drain(source), label).toEqual(whole);
    }
  });

  it('decodes multi-byte UTF-8 characters split across chunks', async () => {
    const text = 'word\n€\n😀\nç\n';
    for (let size = 1; size <= 6; size++) {
      const { rows } = await parseAll(text, csv, size);
      expect(valuesOf(rows), `chunk size ${size}`).toEqual([['€'], ['😀'], ['ç']]);
    }
  });

  it('splits one huge source chunk into pieces without breaking characters', async () => {
    const row = 'é€,😀\n';
    const text = `a,b\n${row.repeat(200_000)}`;
    const { rows, bytes } = await parseAll(text, csv);
    expect(bytes).toBe(bytesOf(text).byteLength);
    expect(rows).toHaveLength(200_000);
    expect(rows.every((r) => r.values[0] === 'é€' && r.values[1] === '😀')).toBe(true);
    expect(rows.at(-1)!.line).toBe(200_001);
  });

  it('streams rows in batches of at most 5000', async () => {
    const text = `n\n${Array.from({ length: 12_001 }, (_, i) => i).join('\n')}\n`;
    const file = await parseFile(fromText(text, 4096), csv);
    const sizes: number[] = [];
    for await (const batch of file.rows) sizes.push(batch.length);
    expect(sizes.every((size) => size <= 5000)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(12_001);
    expect(file.stats()).toEqual({ bytes: bytesOf(text).byteLength, rows: 12_001 });
  });

  it('reads only the header before rows are asked for, and closes the source when iteration stops', async () => {
    let pulled = 0;
    let closed = false;
    async function* source() {
      try {
        yield bytesOf('a,b\n');
        for (let i = 0; i < 100; i++) {
          pulled++;
          yield bytesOf(`${'x,y\n'.repeat(2000)}`);
        }
      } finally {
        closed = true;
      }
    }
    const file = await parseFile(source(), csv);
    expect(file.columns).toEqual(['a', 'b']);
    expect(pulled).toBe(1);
    for await (const batch of file.rows) {
      expect(batch[0]!.values).toEqual(['x', 'y']);
      break;
    }
    expect(pulled).toBeLessThan(10);
    expect(closed).toBe(true);
  });
});

describe('parseFile (CSV) errors', () => {
  it('rejects an empty file, a whitespace-only file and a lone BOM', async () => {
    for (const text of ['', '  \n\t\r\n', '\uFEFF']) {
      await expectInputError(parseFile(fromText(text), csv), { reason: 'EMPTY_FILE' });
    }
  });

  it('rejects a row with more or fewer fields than the header, naming its line', async () => {
    const more = await expectInputError(parseAll('a,b\n1,2\n"x\ny",2,3\n', csv), {
      reason: 'RAGGED_ROW',
      line: 3,
    });
    expect(more.message).toBe('Line 3: expected 2 fields like the first line, found 3');
    await expectInputError(parseAll('a,b\n1,2\n\n3\n', csv), { reason: 'RAGGED_ROW', line: 4 });
    await expectInputError(parseAll('a,b\n1,2\n3', csv), { reason: 'RAGGED_ROW', line: 3 });
  });

  it('reports an unterminated quote at the line where it opened', async () => {
    const text = 'a,b\n1,2\n3,"never\nclosed\n4,5\n';
    for (const size of [undefined, 1, 3]) {
      const error = await expectInputError(parseAll(text, csv, size), {
        reason: 'UNTERMINATED_QUOTE',
        line: 3,
      });
      expect(error.message).toMatch(/^Line 3: /);
    }
  });

  it('reports invalid UTF-8 with its line, whatever the chunking', async () => {
    const bytes = new Uint8Array([
      ...bytesOf('a,b\r\n1,2\r\nx,'),
      0xe2,
      0x82,
      0x41,
      ...bytesOf('\n'),
    ]);
    for (const size of [bytes.byteLength, 1, 2, 5, 13, 14]) {
      await expectInputError(parseAll(bytes, csv, size), { reason: 'INVALID_UTF8', line: 3 });
    }
    const latin1 = new Uint8Array([...bytesOf('name\nok\n'), 0x5a, 0x6f, 0xeb, 0x0a]);
    await expectInputError(parseAll(latin1, csv), { reason: 'INVALID_UTF8', line: 3 });
  });

  it('reports a file cut in the middle of a UTF-8 character', async () => {
    const bytes = new Uint8Array([...bytesOf('a\n1\n'), 0xf0, 0x9f]);
    await expectInputError(parseAll(bytes, csv, 1), { reason: 'INVALID_UTF8', line: 3 });
  });

  it('rejects binary data: NUL bytes anywhere, control characters, UTF-16', async () => {
    await expectInputError(parseAll(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0x41]), csv), {
      reason: 'BINARY_DATA',
    });
    const late = `a,b\n${'1,2\n'.repeat(3000)}3,\u0000\n`;
    const error = await expectInputError(parseAll(late, csv, 1000), {
      reason: 'BINARY_DATA',
      line: 3002,
    });
    expect(error.message).toContain('NUL');
    const controls = new Uint8Array(200).map((_, i) => (i % 3 === 0 ? 1 : 65));
    await expectInputError(parseAll(controls, csv), { reason: 'BINARY_DATA' });
    const utf16 = new Uint8Array([0xff, 0xfe, 0x61, 0x00, 0x0a, 0x00]);
    const wide = await expectInputError(parseAll(utf16, csv), { reason: 'BINARY_DATA' });
    expect(wide.message).toContain('UTF-16');
  });

  it('rejects duplicate column names, ignoring case and surrounding spaces', async () => {
    const error = await expectInputError(parseAll('id,Name,name \n1,2,3\n', csv), {
      reason: 'DUPLICATE_COLUMN',
      line: 1,
      column: 'name',
    });
    expect(error.message).toContain('"Name"');
  });

  it('rejects an empty column name, quoted or not', async () => {
    await expectInputError(parseAll('a,,c\n1,2,3\n', csv), {
      reason: 'EMPTY_COLUMN_NAME',
      line: 1,
    });
    await expectInputError(parseAll('\n"",b\n1,2\n', csv), {
      reason: 'EMPTY_COLUMN_NAME',
      line: 2,
    });
  });

  it('stops with TOO_LARGE once more than maxBytes arrive', async () => {
    const text = `a\n${'1\n'.repeat(10_000)}`;
    const options = { ...csv, maxBytes: 5000 };
    const error = await expectInputError(parseAll(text, options, 1024), { reason: 'TOO_LARGE' });
    expect(error.message).toContain('4.9 KiB');
    await expect(parseAll(text, { ...csv, maxBytes: 20_002 })).resolves.toBeTruthy();
  });

  it('gives up on a quote still open after 16 Mi characters instead of buffering the file', async () => {
    let pulled = 0;
    async function* source() {
      yield bytesOf('a,b\n1,2\n3,"oops\n');
      const filler = bytesOf('4,5\n'.repeat(1 << 18));
      for (; pulled < 100; pulled++) yield filler;
    }
    const file = await parseFile(source(), csv);
    const drainRows = async () => {
      for await (const _ of file.rows);
    };
    const error = await expectInputError(drainRows(), { reason: 'UNTERMINATED_QUOTE', line: 3 });
    expect(error.message).toContain('closing quote missing');
    expect(pulled).toBeLessThan(20);
  });

  it('throws header problems from parseFile and row problems from the iteration', async () => {
    const file = await parseFile(fromText('a,b\n1,2\n1,2,3\n'), csv);
    const iterator = file.rows[Symbol.asyncIterator]();
    await expectInputError(iterator.next(), { reason: 'RAGGED_ROW', line: 3 });
  });
});
