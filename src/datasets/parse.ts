import { InputError } from '../errors';
import { DatasetInputError } from './input-error';

export type FileFormat = 'CSV' | 'TSV' | 'JSON' | 'NDJSON';

export interface ParseOptions {
  format: FileFormat;
  /** A single character; defaults to ',' for CSV and a tab for TSV. Ignored for JSON formats. */
  delimiter?: string;
  /** Whether the first CSV/TSV record names the columns (default true); else column_1..n. */
  header?: boolean;
  /** Fail with TOO_LARGE as soon as more bytes than this have arrived. */
  maxBytes?: number;
}

/** A CSV field (string, or null when empty and unquoted) or a JSON scalar. */
export type RawValue = string | number | boolean | null;

export interface RawRow {
  /** 1-based physical line where the record starts, the header line included. */
  line: number;
  /** Aligned with `ParsedFile.columns`. */
  values: RawValue[];
}

export interface ParsedFile {
  columns: string[];
  /** Batches of rows, read lazily from the source; can be iterated once. */
  rows: AsyncIterable<RawRow[]>;
  stats(): { bytes: number; rows: number };
}

const BATCH_ROWS = 5000;
/** JSON columns are the union of the keys of this many leading objects. */
const KEY_WINDOW = 1000;
/** One source chunk is decoded at most this much at a time, so a caller handing over a whole
 * file as one buffer does not turn it into one giant string. */
const MAX_DECODE_BYTES = 1 << 20;
/** Longest field, JSON object or NDJSON line held while it spans pieces of text, so that a
 * missing closing quote cannot make the parser buffer the rest of a huge file. */
const MAX_SPAN_CHARS = 1 << 24;
/** Bytes looked at up front to tell binary files from text. */
const SNIFF_BYTES = 4096;
/** Share of control bytes in the sniffed prefix above which a file is taken as binary. */
const MAX_CONTROL_SHARE = 0.1;

const LF = 10;
const CR = 13;
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;

/**
 * Starts parsing an uploaded file: reads just far enough to know its columns (the header record,
 * or the first 1000 JSON objects), then streams the rows lazily in batches. Problems with the
 * header are thrown from here; problems further in are thrown while iterating `rows`. Either
 * way they are `DatasetInputError`s naming the line, and the source is closed.
 */
export async function parseFile(
  source: AsyncIterable<Uint8Array>,
  options: ParseOptions,
): Promise<ParsedFile> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    if (options.format === 'CSV' || options.format === 'TSV') {
      return await openDelimited(iterator, options);
    }
    return await openJson(iterator, options);
  } catch (error) {
    await iterator.return?.();
    throw error;
  }
}

/** What every format-specific scanner offers the shared plumbing. */
interface Scanner<T> {
  /** Physical line at the end of the text consumed so far. */
  readonly line: number;
  /** Whether lone CRs end lines in this format (line numbers of byte-level errors follow suit). */
  readonly loneCrBreaks: boolean;
  feed(text: string): void;
  /** Scans the fed text until `out` holds `limit` items; true when the text is used up. */
  run(out: T[], limit: number): boolean;
  /** Flushes whatever the end of input completes, or throws if it leaves something open. */
  finish(out: T[]): void;
}

/** Decoded text from the byte source, with the byte-level checks (size, binary, UTF-8). */
class TextSource {
  bytes = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** Chunks read but not decoded yet, kept apart so boundaries stay where the source put them. */
  private readonly queue: Uint8Array[] = [];
  private previous: Uint8Array | null = null;
  private sniffed = false;
  private exhausted = false;
  private ended = false;

  constructor(
    private readonly iterator: AsyncIterator<Uint8Array>,
    private readonly maxBytes: number,
    private readonly scanner: Scanner<unknown>,
  ) {}

  /** The next piece of text, or null once the source is exhausted. */
  async read(): Promise<string | null> {
    if (!this.sniffed) await this.sniff();
    let chunk = this.queue.shift();
    if (chunk === undefined) {
      if (this.ended) return null;
      chunk = await this.next();
      if (chunk === undefined) return this.end();
    }
    if (chunk.byteLength > MAX_DECODE_BYTES) {
      this.queue.unshift(chunk.subarray(MAX_DECODE_BYTES));
      chunk = chunk.subarray(0, MAX_DECODE_BYTES);
    }
    const nul = chunk.indexOf(0);
    if (nul >= 0) {
      const line = this.lineAt(chunk, nul);
      throw new DatasetInputError(
        'BINARY_DATA',
        'the file contains a NUL byte, so it is not text',
        {
          line,
        },
      );
    }
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      throw this.invalidUtf8(chunk);
    }
    this.previous = chunk;
    return text;
  }

  async close(): Promise<void> {
    this.ended = true;
    await this.iterator.return?.();
  }

  private async next(): Promise<Uint8Array | undefined> {
    if (this.exhausted) return undefined;
    const result = await this.iterator.next();
    if (result.done) {
      this.exhausted = true;
      return undefined;
    }
    this.bytes += result.value.byteLength;
    if (this.bytes > this.maxBytes) {
      throw new DatasetInputError(
        'TOO_LARGE',
        `the file is larger than the limit of ${formatBytes(this.maxBytes)}`,
      );
    }
    return result.value;
  }

  /** Looks at the first few KiB before anything is decoded, so a binary file is reported as
   * binary rather than as whatever text error its first bytes happen to cause. */
  private async sniff(): Promise<void> {
    this.sniffed = true;
    let size = 0;
    while (size < SNIFF_BYTES) {
      const chunk = await this.next();
      if (chunk === undefined) break;
      this.queue.push(chunk);
      size += chunk.byteLength;
    }
    if (size === 0) return;
    const head = this.queue.length === 1 ? this.queue[0]! : concatBytes(this.queue, size);
    rejectBinary(head.subarray(0, SNIFF_BYTES));
  }

  private end(): string {
    this.ended = true;
    try {
      return this.decoder.decode();
    } catch {
      throw new DatasetInputError(
        'INVALID_UTF8',
        'the file ends in the middle of a UTF-8 character; save it as UTF-8',
        { line: this.scanner.line },
      );
    }
  }

  private invalidUtf8(slice: Uint8Array): DatasetInputError {
    // A sequence may have started at the end of the previous slice; re-check it with this one.
    const tail = this.previous === null ? new Uint8Array(0) : incompleteTail(this.previous);
    const joined =
      tail.byteLength === 0
        ? slice
        : concatBytes([tail, slice], tail.byteLength + slice.byteLength);
    const at = Math.max(0, firstInvalidUtf8(joined) - tail.byteLength);
    return new DatasetInputError(
      'INVALID_UTF8',
      'the file is not valid UTF-8 text; save it with UTF-8 encoding',
      { line: this.lineAt(slice, at) },
    );
  }

  /** Line of byte `index` of a slice the scanner has not seen yet. */
  private lineAt(slice: Uint8Array, index: number): number {
    const previousEndsCr =
      this.previous !== null && this.previous[this.previous.byteLength - 1] === CR;
    let line = this.scanner.line;
    for (let i = 0; i < index; i++) {
      const b = slice[i];
      if (b === LF) {
        if (i > 0 ? slice[i - 1] !== CR : !previousEndsCr) line++;
      } else if (b === CR && this.scanner.loneCrBreaks) {
        line++;
      }
    }
    return line;
  }
}

function rejectBinary(head: Uint8Array): void {
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw new DatasetInputError('BINARY_DATA', 'the file is UTF-16 text; save it as UTF-8');
  }
  let control = 0;
  for (let i = 0; i < head.byteLength; i++) {
    const b = head[i]!;
    if ((b < 32 && b !== 9 && b !== LF && b !== CR && b !== 12) || b === 127) control++;
  }
  if (control > head.byteLength * MAX_CONTROL_SHARE) {
    throw new DatasetInputError(
      'BINARY_DATA',
      'the file looks like binary data, not text (is it a spreadsheet or an archive?)',
    );
  }
}

function concatBytes(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** The bytes at the end of `bytes` that start a UTF-8 sequence the slice does not finish. */
function incompleteTail(bytes: Uint8Array): Uint8Array {
  const n = bytes.byteLength;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = bytes[n - back]!;
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > back ? bytes.subarray(n - back) : new Uint8Array(0);
  }
  return new Uint8Array(0);
}

/** Offset of the first byte that cannot start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.byteLength;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0;
      else if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      else if (b === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      if (i + k >= n) return i;
      const c = bytes[i + k]!;
      if (k === 1 ? c < low || c > high : (c & 0xc0) !== 0x80) return i;
    }
    i += length;
  }
  return n;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function spanLimit(): string {
  return `${MAX_SPAN_CHARS / (1 << 20)} Mi characters`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${+(bytes / (1 << 30)).toFixed(1)} GiB`;
  if (bytes >= 1 << 20) return `${+(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${+(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** Drives a scanner with text from the source. */
class Pump<T> {
  private needText = true;
  private ended = false;

  constructor(
    private readonly scanner: Scanner<T>,
    readonly text: TextSource,
  ) {}

  /** Adds items to `out` up to `limit`; false once the input is exhausted. */
  async fill(out: T[], limit: number): Promise<boolean> {
    while (out.length < limit) {
      if (this.ended) return false;
      if (this.needText) {
        const piece = await this.text.read();
        if (piece === null) {
          this.ended = true;
          this.scanner.finish(out);
          return false;
        }
        this.scanner.feed(piece);
      }
      this.needText = this.scanner.run(out, limit);
    }
    return true;
  }
}

/** Trimmed column names, rejecting blank and case-insensitively repeated ones; `lineOf` says
 * where each name came from. */
function checkColumnNames(names: readonly RawValue[], lineOf: (index: number) => number): string[] {
  const seen = new Map<string, string>();
  return names.map((raw, index) => {
    const name = raw === null ? '' : String(raw).trim();
    if (name === '') {
      throw new DatasetInputError('EMPTY_COLUMN_NAME', `column ${index + 1} has no name`, {
        line: lineOf(index),
      });
    }
    const key = name.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      const spelled = earlier === name ? '' : ` (also as "${earlier}")`;
      throw new DatasetInputError(
        'DUPLICATE_COLUMN',
        `the column name appears more than once${spelled}; names must be unique ignoring case`,
        { line: lineOf(index), column: name },
      );
    }
    seen.set(key, name);
    return name;
  });
}

function makeFile<T>(
  columns: string[],
  pump: Pump<T>,
  first: RawRow[],
  toRows: (items: T[]) => RawRow[],
): ParsedFile {
  let rowCount = 0;
  async function* rows(): AsyncGenerator<RawRow[]> {
    try {
      let batch = first;
      let more = true;
      for (;;) {
        if (batch.length > 0) {
          rowCount += batch.length;
          yield batch;
        }
        if (!more) return;
        const items: T[] = [];
        more = await pump.fill(items, BATCH_ROWS);
        batch = toRows(items);
      }
    } finally {
      await pump.text.close();
    }
  }
  return {
    columns,
    rows: rows(),
    stats: () => ({ bytes: pump.text.bytes, rows: rowCount }),
  };
}

async function openDelimited(
  iterator: AsyncIterator<Uint8Array>,
  options: ParseOptions,
): Promise<ParsedFile> {
  const delimiter = options.delimiter ?? (options.format === 'TSV' ? '\t' : ',');
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new InputError(
      'The delimiter must be one character other than a quote or newline.',
      'delimiter',
    );
  }
  const scanner = new CsvScanner(delimiter);
  const text = new TextSource(iterator, options.maxBytes ?? Number.POSITIVE_INFINITY, scanner);
  const pump = new Pump(scanner, text);
  const first: RawRow[] = [];
  let record: RawRow | undefined;
  while (record === undefined) {
    const more = await pump.fill(first, 1);
    const candidate = first.pop();
    // A line of only spaces before the header is noise, not a one-column header.
    if (candidate !== undefined && !isBlankRecord(candidate)) record = candidate;
    else if (!more) throw new DatasetInputError('EMPTY_FILE', 'the file is empty');
  }
  scanner.expected = record.values.length;
  const hasHeader = options.header ?? true;
  const columns = hasHeader
    ? checkColumnNames(record.values, () => record.line)
    : record.values.map((_, i) => `column_${i + 1}`);
  return makeFile(columns, pump, hasHeader ? [] : [record], (rows) => rows);
}

function isBlankRecord(record: RawRow): boolean {
  const only = record.values[0];
  return record.values.length === 1 && (only === null || String(only).trim() === '');
}

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote inside a quoted field was the last character of a text piece. */
const QUOTE_PENDING = 3;

/**
 * RFC 4180 records from text arriving in pieces. Records end at LF, CRLF or a lone CR; blank
 * lines are skipped; an empty unquoted field is null while `""` is the empty string. Leniently,
 * a quote inside an unquoted field is literal and text after a closing quote is appended.
 * Unquoted fields are found with cached `indexOf` positions rather than a per-character loop.
 */
class CsvScanner implements Scanner<RawRow> {
  line = 1;
  readonly loneCrBreaks = true;
  /** Field count every record must have; -1 until the first record sets it. */
  expected = -1;
  private buf = '';
  private pos = 0;
  private previousEndsCr = false;
  private nextDelimiter = -1;
  private nextLf = -1;
  private nextCr = -1;
  private state = FIELD_START;
  private fields: RawValue[] = [];
  private recordLine = 1;
  private fieldStart = 0;
  /** Earlier pieces of a field that spans text pieces. */
  private parts: string[] | null = null;
  private partsLength = 0;
  /** Offset of a quoted field's closing quote from the field's start; -1 if unquoted. */
  private closeAt = -1;
  private quoteLine = 0;
  private escaped = false;

  private readonly delimiterCode: number;

  constructor(private readonly delimiter: string) {
    this.delimiterCode = delimiter.charCodeAt(0);
  }

  feed(text: string): void {
    this.previousEndsCr = this.buf.length > 0 && this.buf.charCodeAt(this.buf.length - 1) === CR;
    this.buf = text;
    this.pos = 0;
    this.nextDelimiter = -1;
    this.nextLf = -1;
    this.nextCr = -1;
  }

  run(out: RawRow[], limit: number): boolean {
    const buf = this.buf;
    const n = buf.length;
    let i = this.pos;
    while (i < n) {
      const state = this.state;
      if (state === FIELD_START) {
        const c = buf.charCodeAt(i);
        if (this.fields.length === 0) {
          if (c === LF || c === CR) {
            i = this.lineBreak(buf, i);
            continue;
          }
          const next = this.plainRecord(buf, i, out);
          if (next >= 0) {
            i = next;
            if (out.length >= limit) {
              this.pos = i;
              return i >= n;
            }
            continue;
          }
          this.recordLine = this.line;
        }
        this.fieldStart = i;
        this.closeAt = -1;
        if (c === QUOTE) {
          this.state = QUOTED;
          this.quoteLine = this.line;
          this.escaped = false;
          i++;
          continue;
        }
        this.state = UNQUOTED;
      } else if (state === QUOTED) {
        const q = buf.indexOf('"', i);
        if (q < 0) {
          this.countBreaks(buf, i, n);
          break;
        }
        this.countBreaks(buf, i, q);
        if (q + 1 === n) {
          this.state = QUOTE_PENDING;
          i = n;
          break;
        }
        if (buf.charCodeAt(q + 1) === QUOTE) {
          this.escaped = true;
          i = q + 2;
          continue;
        }
        this.closeAt = this.partsLength + q - this.fieldStart;
        this.state = UNQUOTED;
        i = q + 1;
        continue;
      } else if (state === QUOTE_PENDING) {
        if (buf.charCodeAt(i) === QUOTE) {
          this.escaped = true;
          this.state = QUOTED;
          i++;
        } else {
          this.closeAt = this.partsLength - 1;
          this.state = UNQUOTED;
        }
        continue;
      }
      // UNQUOTED: the field runs to the next delimiter or line break.
      let d = this.nextDelimiter;
      if (d < i) d = this.nextDelimiter = indexOrEnd(buf, this.delimiter, i);
      let lf = this.nextLf;
      if (lf < i) lf = this.nextLf = indexOrEnd(buf, '\n', i);
      let cr = this.nextCr;
      if (cr < i) cr = this.nextCr = indexOrEnd(buf, '\r', i);
      const end = Math.min(d, lf, cr);
      if (end === n) {
        i = n;
        break;
      }
      this.fields.push(this.fieldValue(buf, end));
      this.state = FIELD_START;
      if (end === d) {
        i = end + 1;
        continue;
      }
      this.emit(out);
      i = this.lineBreak(buf, end);
      if (out.length >= limit) {
        this.pos = i;
        return i >= n;
      }
    }
    this.pos = n;
    if (this.state !== FIELD_START) this.stash(buf, n);
    return true;
  }

  finish(out: RawRow[]): void {
    this.feed('');
    const state = this.state;
    if (state === QUOTED) {
      throw new DatasetInputError(
        'UNTERMINATED_QUOTE',
        'a quoted field starts here but its closing quote never comes',
        { line: this.quoteLine },
      );
    }
    if (state === QUOTE_PENDING) this.closeAt = this.partsLength - 1;
    if (state !== FIELD_START) this.fields.push(this.fieldValue('', 0));
    else if (this.fields.length > 0) this.fields.push(null);
    this.state = FIELD_START;
    if (this.fields.length > 0) this.emit(out);
  }

  /**
   * The common record, a whole LF-ended line of this piece without quotes or CRs, read in one
   * pass of the fields the general scanner would make of it. Returns the index after its line
   * break, or -1 (having consumed nothing) to leave anything else to the general scanner.
   */
  private plainRecord(buf: string, i: number, out: RawRow[]): number {
    const n = buf.length;
    const delimiter = this.delimiterCode;
    // Sized up front: a pushed-to empty array would reserve room for 17 values per row.
    const values: RawValue[] = this.expected > 0 ? new Array(this.expected) : [];
    let count = 0;
    let start = i;
    for (let k = i; k < n; k++) {
      const c = buf.charCodeAt(k);
      if (c === delimiter) {
        values[count++] = k === start ? null : buf.slice(start, k);
        start = k + 1;
      } else if (c === LF) {
        values[count++] = k === start ? null : buf.slice(start, k);
        this.recordLine = this.line++;
        if (count < values.length) values.length = count;
        this.push(out, values);
        return k + 1;
      } else if (c === QUOTE || c === CR) return -1;
    }
    return -1;
  }

  private emit(out: RawRow[]): void {
    this.push(out, this.fields);
    this.fields = [];
  }

  /** Adds the record at `recordLine` once its field count is checked. */
  private push(out: RawRow[], values: RawValue[]): void {
    if (this.expected >= 0 && values.length !== this.expected) {
      throw new DatasetInputError(
        'RAGGED_ROW',
        `expected ${plural(this.expected, 'field')} like the first line, found ${values.length}`,
        { line: this.recordLine },
      );
    }
    out.push({ line: this.recordLine, values });
  }

  /** Consumes the line break at `i`, returning the index after it. */
  private lineBreak(buf: string, i: number): number {
    if (buf.charCodeAt(i) === CR) {
      this.line++;
      return i + 1 < buf.length && buf.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
    }
    // An LF completing a CRLF split across pieces was counted with its CR.
    if (i > 0 || !this.previousEndsCr) this.line++;
    return i + 1;
  }

  private countBreaks(buf: string, from: number, to: number): void {
    let lf = this.nextLf;
    if (lf < from) lf = this.nextLf = indexOrEnd(buf, '\n', from);
    let cr = this.nextCr;
    if (cr < from) cr = this.nextCr = indexOrEnd(buf, '\r', from);
    for (let k = Math.min(lf, cr); k < to; k++) {
      const c = buf.charCodeAt(k);
      if (c === CR) this.line++;
      else if (c === LF && (k > 0 ? buf.charCodeAt(k - 1) !== CR : !this.previousEndsCr)) {
        this.line++;
      }
    }
  }

  private stash(buf: string, end: number): void {
    if (end > this.fieldStart) {
      this.parts ??= [];
      this.parts.push(buf.slice(this.fieldStart, end));
      this.partsLength += end - this.fieldStart;
    }
    this.fieldStart = 0;
    if (this.partsLength <= MAX_SPAN_CHARS) return;
    if (this.state === UNQUOTED && this.closeAt < 0) {
      throw new DatasetInputError('TOO_LARGE', `a field is longer than ${spanLimit()}`, {
        line: this.recordLine,
      });
    }
    throw new DatasetInputError(
      'UNTERMINATED_QUOTE',
      `a quoted field starts here and runs past ${spanLimit()}; is its closing quote missing?`,
      { line: this.quoteLine },
    );
  }

  private fieldValue(buf: string, end: number): RawValue {
    let raw: string;
    if (this.parts === null) {
      if (this.closeAt < 0) return end === this.fieldStart ? null : buf.slice(this.fieldStart, end);
      raw = buf.slice(this.fieldStart, end);
    } else {
      raw = this.parts.join('') + buf.slice(this.fieldStart, end);
      this.parts = null;
      this.partsLength = 0;
      if (this.closeAt < 0) return raw;
    }
    let content = raw.slice(1, this.closeAt);
    if (this.escaped) content = content.replaceAll('""', '"');
    return this.closeAt + 1 < raw.length ? content + raw.slice(this.closeAt + 1) : content;
  }
}

function indexOrEnd(text: string, search: string, from: number): number {
  const at = text.indexOf(search, from);
  return at < 0 ? text.length : at;
}

/** A JSON object and the line it starts on. */
interface ParsedObject {
  line: number;
  value: Record<string, unknown>;
}

async function openJson(
  iterator: AsyncIterator<Uint8Array>,
  options: ParseOptions,
): Promise<ParsedFile> {
  const scanner: Scanner<ParsedObject> =
    options.format === 'NDJSON' ? new NdjsonScanner() : new JsonArrayScanner();
  const text = new TextSource(iterator, options.maxBytes ?? Number.POSITIVE_INFINITY, scanner);
  const pump = new Pump(scanner, text);
  const first: ParsedObject[] = [];
  await pump.fill(first, KEY_WINDOW);
  if (first.length === 0) {
    throw new DatasetInputError('EMPTY_FILE', 'the file contains no JSON objects');
  }
  const keys: string[] = [];
  const keyLines: number[] = [];
  const index = new Map<string, number>();
  for (const { line, value } of first) {
    for (const key in value) {
      if (!index.has(key)) {
        index.set(key, keys.length);
        keys.push(key);
        keyLines.push(line);
      }
    }
  }
  if (keys.length === 0) {
    throw new DatasetInputError('EMPTY_FILE', 'the JSON objects have no keys', {
      line: first[0]!.line,
    });
  }
  const columns = checkColumnNames(keys, (i) => keyLines[i]!);
  const toRows = (objects: ParsedObject[]): RawRow[] => {
    const rows: RawRow[] = new Array(objects.length);
    for (let r = 0; r < objects.length; r++) {
      const { line, value } = objects[r]!;
      const values: RawValue[] = [];
      for (let j = 0; j < keys.length; j++) values.push(null);
      for (const key in value) {
        const at = index.get(key);
        if (at === undefined) {
          throw new DatasetInputError('BAD_JSON', newKeyProblem(key), { line });
        }
        values[at] = rawValue(value[key]);
      }
      rows[r] = { line, values };
    }
    return rows;
  };
  return makeFile(columns, pump, toRows(first), toRows);
}

function newKeyProblem(key: string): string {
  const name = JSON.stringify(key);
  return `the key ${name} is new; keys must all appear in the first ${KEY_WINDOW} objects`;
}

function rawValue(value: unknown): RawValue {
  if (value === null || value === undefined) return null;
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean') return value as RawValue;
  return JSON.stringify(value);
}

function parseObject(text: string, line: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The engine's message quotes the input, which may be long or sensitive; say where instead.
    throw new DatasetInputError('BAD_JSON', 'the object starting here is not valid JSON', { line });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DatasetInputError('BAD_JSON', 'expected a JSON object', { line });
  }
  return value as Record<string, unknown>;
}

function isJsonSpace(c: number): boolean {
  return c === 32 || c === LF || c === CR || c === 9;
}

const BEFORE_ARRAY = 0;
const FIRST_ELEMENT = 1;
const NEXT_ELEMENT = 2;
const IN_OBJECT = 3;
const AFTER_ELEMENT = 4;
const AFTER_ARRAY = 5;

/**
 * Splits a top-level JSON array into the texts of its objects by tracking nesting and strings,
 * so each object is handed to `JSON.parse` alone and the file is never held whole.
 */
class JsonArrayScanner implements Scanner<ParsedObject> {
  line = 1;
  readonly loneCrBreaks = false;
  private buf = '';
  private pos = 0;
  private phase = BEFORE_ARRAY;
  private depth = 0;
  private inString = false;
  /** The previous piece ended inside a string right after a backslash. */
  private escapePending = false;
  private objectStart = 0;
  private objectLine = 0;
  private parts: string[] | null = null;
  private partsLength = 0;

  feed(text: string): void {
    this.buf = text;
    this.pos = 0;
  }

  run(out: ParsedObject[], limit: number): boolean {
    const buf = this.buf;
    const n = buf.length;
    let i = this.pos;
    while (i < n) {
      if (this.phase === IN_OBJECT) {
        i = this.scanObject(buf, i, out);
        if (out.length >= limit) {
          this.pos = i;
          return i >= n;
        }
        continue;
      }
      const c = buf.charCodeAt(i);
      if (isJsonSpace(c)) {
        if (c === LF) this.line++;
        i++;
        continue;
      }
      this.structural(c);
      if (this.phase === IN_OBJECT) {
        this.objectStart = i;
        this.objectLine = this.line;
        this.depth = 0;
        continue;
      }
      i++;
    }
    if (this.phase === IN_OBJECT && this.objectStart < n) {
      this.parts ??= [];
      this.parts.push(buf.slice(this.objectStart));
      this.partsLength += n - this.objectStart;
      if (this.partsLength > MAX_SPAN_CHARS) {
        throw new DatasetInputError(
          'TOO_LARGE',
          `the object starting here is longer than ${spanLimit()}`,
          {
            line: this.objectLine,
          },
        );
      }
    }
    this.objectStart = 0;
    this.pos = n;
    return true;
  }

  finish(): void {
    if (this.phase === BEFORE_ARRAY) return;
    if (this.phase !== AFTER_ARRAY) {
      throw new DatasetInputError(
        'BAD_JSON',
        'the file ends before the top-level array is closed',
        { line: this.phase === IN_OBJECT ? this.objectLine : this.line },
      );
    }
  }

  /** Moves between elements of the top-level array on a non-space character outside objects. */
  private structural(c: number): void {
    const phase = this.phase;
    if (phase === BEFORE_ARRAY) {
      if (c === OPEN_BRACKET) {
        this.phase = FIRST_ELEMENT;
        return;
      }
      const hint = c === OPEN_BRACE ? '; for one object per line choose NDJSON' : '';
      throw this.error(`a JSON file must be an array of objects${hint}`);
    }
    if (phase === FIRST_ELEMENT || phase === NEXT_ELEMENT) {
      if (c === OPEN_BRACE) this.phase = IN_OBJECT;
      else if (c === CLOSE_BRACKET && phase === FIRST_ELEMENT) this.phase = AFTER_ARRAY;
      else throw this.error('expected a JSON object');
      return;
    }
    if (phase === AFTER_ELEMENT) {
      if (c === COMMA) this.phase = NEXT_ELEMENT;
      else if (c === CLOSE_BRACKET) this.phase = AFTER_ARRAY;
      else throw this.error("expected ',' or ']' after an object");
      return;
    }
    throw this.error('unexpected text after the top-level array');
  }

  /** Scans inside an object from `i`; returns where it stopped (after the object, or `n`). */
  private scanObject(buf: string, i: number, out: ParsedObject[]): number {
    const n = buf.length;
    let depth = this.depth;
    let inString = this.inString;
    if (this.escapePending) {
      this.escapePending = false;
      i++;
    }
    for (; i < n; i++) {
      const c = buf.charCodeAt(i);
      if (inString) {
        if (c === BACKSLASH) {
          if (++i === n) this.escapePending = true;
        } else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--depth === 0) {
          const piece = buf.slice(this.objectStart, i + 1);
          const text = this.parts === null ? piece : this.parts.join('') + piece;
          this.parts = null;
          this.partsLength = 0;
          out.push({ line: this.objectLine, value: parseObject(text, this.objectLine) });
          this.phase = AFTER_ELEMENT;
          this.depth = 0;
          this.inString = false;
          return i + 1;
        }
      } else if (c === LF) this.line++;
    }
    this.depth = depth;
    this.inString = inString;
    return n;
  }

  private error(problem: string): DatasetInputError {
    return new DatasetInputError('BAD_JSON', problem, { line: this.line });
  }
}

/** One JSON object per line; blank lines are skipped. */
class NdjsonScanner implements Scanner<ParsedObject> {
  line = 1;
  readonly loneCrBreaks = false;
  private buf = '';
  private pos = 0;
  private parts: string[] | null = null;
  private partsLength = 0;

  feed(text: string): void {
    this.buf = text;
    this.pos = 0;
  }

  run(out: ParsedObject[], limit: number): boolean {
    const buf = this.buf;
    let i = this.pos;
    while (out.length < limit) {
      const end = buf.indexOf('\n', i);
      if (end < 0) {
        if (i < buf.length) {
          this.parts ??= [];
          this.parts.push(buf.slice(i));
          this.partsLength += buf.length - i;
          if (this.partsLength > MAX_SPAN_CHARS) {
            throw new DatasetInputError('TOO_LARGE', `this line is longer than ${spanLimit()}`, {
              line: this.line,
            });
          }
        }
        this.pos = buf.length;
        return true;
      }
      const piece = buf.slice(i, end);
      this.take(this.parts === null ? piece : this.parts.join('') + piece, out);
      this.parts = null;
      this.partsLength = 0;
      this.line++;
      i = end + 1;
    }
    this.pos = i;
    return i >= buf.length;
  }

  finish(out: ParsedObject[]): void {
    if (this.parts !== null) this.take(this.parts.join(''), out);
    this.parts = null;
  }

  private take(text: string, out: ParsedObject[]): void {
    let k = 0;
    while (k < text.length && isJsonSpace(text.charCodeAt(k))) k++;
    if (k === text.length) return;
    if (text.charCodeAt(k) !== OPEN_BRACE) {
      throw new DatasetInputError('BAD_JSON', 'expected a JSON object on this line', {
        line: this.line,
      });
    }
    out.push({ line: this.line, value: parseObject(text, this.line) });
  }
}
