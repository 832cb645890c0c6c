import { InputError } from '../errors';
import { DatasetInputError, describeValue } from './input-error';
import type { RawRow, RawValue } from './parse';

export const COLUMN_TYPES = [
  'INTEGER',
  'FLOAT',
  'BOOLEAN',
  'DATE',
  'TIMESTAMP',
  'STRING',
  'CATEGORY',
] as const;

export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface InferredColumn {
  name: string;
  type: ColumnType;
  /** Whether any observed value was null. */
  nullable: boolean;
  /** Distinct non-null values: exact up to 4096, a HyperLogLog estimate (±2%) above. */
  distinctEstimate: number;
  /** Set when slash dates with the year last read day first (31/12/2024) rather than US-style. */
  dayFirst?: boolean;
}

export interface InferOptions {
  /** Rows whose values decide the types; default 10,000. */
  sampleSize?: number;
  /** Types chosen by the user, by column name; they win over inference. */
  overrides?: Record<string, ColumnType>;
}

export interface Inferrer {
  /** Feeds rows; the first `sampleSize` decide types, every row counts for nulls and distincts. */
  observe(rows: RawRow[]): void;
  /** Rows that went into the type decisions so far. */
  readonly sampled: number;
  /** The columns as seen so far; types stop changing once the sample is full. */
  finish(): InferredColumn[];
}

export interface Converter {
  /** PostgreSQL `COPY … (FORMAT csv)` text for the rows, one '\n'-terminated line each. */
  convertBatch(rows: RawRow[]): string;
  /**
   * `inferrer.observe(rows)` then `convertBatch(rows)`, in one pass once the inferrer's sample is
   * full: each value is classified once for both its statistics and its field.
   */
  observeAndConvert(rows: RawRow[], inferrer: Inferrer): string;
}

const DEFAULT_SAMPLE_SIZE = 10_000;
/** A text column is a CATEGORY when its sample has at most this many distinct values… */
const CATEGORY_MAX_DISTINCT = 50;
/** …each repeated at least this many times on average… */
const CATEGORY_MIN_REPEAT = 4;
/** …and none longer than this, since long texts are prose even when repeated. */
const CATEGORY_MAX_LENGTH = 100;
const EXACT_DISTINCT_CAP = 4096;
/** Integers -2^15 to 2^15-1, counted while exact in a bit set of 8 KiB. */
const SMALL_INTEGERS = 1 << 16;
const HLL_BITS = 12;

const INT = 1;
const FLOAT = 2;
const BOOL = 4;
const DATE = 8;
const STAMP = 16;
const ALL_TYPES = INT | FLOAT | BOOL | DATE | STAMP;

/**
 * Texts that mean "no value", as spreadsheet and pandas exports write it. They are null in
 * every column, text ones included, so what inference counted as null is also stored as NULL.
 * 'NaN' is among them: a float column gets NULL rather than PostgreSQL's NaN, which would poison
 * aggregates. 'None' is not, as it is a common real category ("None" of something).
 */
const NULL_TOKENS = new Set([
  '',
  'NA',
  'N/A',
  'n/a',
  'null',
  'NULL',
  'Null',
  'NaN',
  'nan',
  '#N/A',
  '<NA>',
]);

/** `text` without surrounding whitespace; the common case of none costs two comparisons. */
function trimmed(text: string): string {
  const n = text.length;
  return n > 0 && (text.charCodeAt(0) <= 32 || text.charCodeAt(n - 1) <= 32) ? text.trim() : text;
}

/** Whether trimmed text is a null token; most texts are ruled out by length or first letter
 * before the set lookup, which would otherwise hash every short value. */
function isNullToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return true;
  if (n > 4) return false;
  const c = s.charCodeAt(0);
  return (c === 78 || c === 110 || c === 35 || c === 60) && NULL_TOKENS.has(s);
}

function isNullText(text: string): boolean {
  return isNullToken(trimmed(text));
}

/** Whether a raw value is null: a JSON null, an empty CSV field or a null token. */
export function isNullValue(value: RawValue | undefined): boolean {
  return value === null || value === undefined || (typeof value === 'string' && isNullText(value));
}

const NOT_NUMBER = 0;
const INTEGER_TEXT = 1;
const DECIMAL_TEXT = 2;
/** An integer with leading zeros ('007'): an identifier such as a ZIP code, not a number. */
const PADDED_TEXT = 3;
/** An integer beyond 2^53: an identifier that a double would silently round. */
const HUGE_TEXT = 4;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Classifies decimal number syntax: sign, digits, optional fraction and exponent. */
function numberKind(s: string): number {
  const n = s.length;
  let i = 0;
  if (n === 0) return NOT_NUMBER;
  const first = s.charCodeAt(0);
  if (first === 45 || first === 43) i = 1;
  const intStart = i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  const intDigits = i - intStart;
  let fracDigits = 0;
  let decimal = false;
  if (i < n && s.charCodeAt(i) === 46) {
    decimal = true;
    const fracStart = ++i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    fracDigits = i - fracStart;
  }
  if (intDigits + fracDigits === 0) return NOT_NUMBER;
  if (i < n && (s.charCodeAt(i) | 32) === 101) {
    decimal = true;
    i++;
    if (i < n && (s.charCodeAt(i) === 45 || s.charCodeAt(i) === 43)) i++;
    const expStart = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === expStart) return NOT_NUMBER;
  }
  if (i !== n) return NOT_NUMBER;
  if (intDigits > 1 && s.charCodeAt(intStart) === 48) return PADDED_TEXT;
  if (decimal) return DECIMAL_TEXT;
  if (intDigits <= 15) return INTEGER_TEXT;
  return Number.isSafeInteger(Number(s)) ? INTEGER_TEXT : HUGE_TEXT;
}

/** Compares ASCII letters case-insensitively against a lowercase word. */
function equalsWord(s: string, word: string): boolean {
  if (s.length !== word.length) return false;
  for (let k = 0; k < s.length; k++) {
    if ((s.charCodeAt(k) | 32) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/** true/false/yes/no in any case; not 1/0, which are far likelier to be numbers. */
function booleanOf(s: string): boolean | undefined {
  switch (s.length) {
    case 2:
      return equalsWord(s, 'no') ? false : undefined;
    case 3:
      return equalsWord(s, 'yes') ? true : undefined;
    case 4:
      return equalsWord(s, 'true') ? true : undefined;
    case 5:
      return equalsWord(s, 'false') ? false : undefined;
    default:
      return undefined;
  }
}

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/**
 * The parts of the last text `parseTemporal` accepted. A module-level scratch record rather than
 * a returned object, because this runs for every date cell of every row.
 */
const parsed = {
  year: 0,
  /** Month, or for year-last dates the first number. */
  a: 0,
  /** Day, or for year-last dates the second number. */
  b: 0,
  yearLast: false,
  /** Which readings of a year-last date are real calendar dates. */
  monthFirstOk: false,
  dayFirstOk: false,
  /** Exactly YYYY-MM-DD, so it is its own canonical form. */
  isoDate: false,
  hasTime: false,
  hour: 0,
  minute: 0,
  second: 0,
  fraction: '',
  /** Minutes east of UTC. */
  offset: 0,
};

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function isDate(year: number, month: number, day: number): boolean {
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** Reads up to `max` digits at `i`; returns the value and sets `digitsEnd`, or -1 for none. */
let digitsEnd = 0;
function readDigits(s: string, i: number, min: number, max: number): number {
  let value = 0;
  let k = i;
  while (k < s.length && k - i < max && isDigit(s.charCodeAt(k))) {
    value = value * 10 + s.charCodeAt(k) - 48;
    k++;
  }
  digitsEnd = k;
  return k - i < min ? -1 : value;
}

/** Month number from an English month name or its three-letter abbreviation at `i`. */
function readMonthName(s: string, i: number): number {
  let k = i;
  while (k < s.length && (s.charCodeAt(k) | 32) >= 97 && (s.charCodeAt(k) | 32) <= 122) k++;
  digitsEnd = k;
  const length = k - i;
  if (length < 3) return -1;
  const word = s.slice(i, k).toLowerCase();
  if (word === 'sept') return 9;
  for (let m = 0; m < 12; m++) {
    const name = MONTHS[m]!;
    if (length === 3 ? name.startsWith(word) : name === word) return m + 1;
  }
  return -1;
}

/**
 * Accepts dates as YYYY-MM-DD, YYYY/MM/DD, MM/DD/YYYY or DD/MM/YYYY (also with '-'),
 * 'Jan 5 2024', 'Jan 5, 2024', '5 Jan 2024' and '05-Jan-2024'; optionally followed (after 'T' or
 * a space) by H:MM[:SS[.fraction]], an optional AM/PM and an optional zone (Z, UTC, GMT, ±HH,
 * ±HHMM, ±HH:MM). Fills `parsed`.
 */
function parseTemporal(s: string): boolean {
  const n = s.length;
  if (n < 6 || n > 48) return false;
  parsed.yearLast = false;
  parsed.isoDate = false;
  let i: number;
  if (isDigit(s.charCodeAt(0))) {
    const first = readDigits(s, 0, 1, 4);
    i = digitsEnd;
    const sep = s.charCodeAt(i);
    if (i === 4) {
      if (sep !== 45 && sep !== 47) return false;
      const month = readDigits(s, i + 1, 1, 2);
      if (month < 0 || s.charCodeAt(digitsEnd) !== sep) return false;
      const monthDigits = digitsEnd - i - 1;
      const day = readDigits(s, digitsEnd + 1, 1, 2);
      if (day < 0 || !isDate(first, month, day)) return false;
      parsed.isoDate = sep === 45 && monthDigits === 2 && digitsEnd === 10;
      parsed.year = first;
      parsed.a = month;
      parsed.b = day;
      i = digitsEnd;
    } else if (i <= 2 && (sep === 47 || sep === 45) && isDigit(s.charCodeAt(i + 1))) {
      const second = readDigits(s, i + 1, 1, 2);
      if (second < 0 || s.charCodeAt(digitsEnd) !== sep) return false;
      const year = readDigits(s, digitsEnd + 1, 4, 4);
      if (year < 0) return false;
      parsed.monthFirstOk = isDate(year, first, second);
      parsed.dayFirstOk = isDate(year, second, first);
      if (!parsed.monthFirstOk && !parsed.dayFirstOk) return false;
      parsed.yearLast = true;
      parsed.year = year;
      parsed.a = first;
      parsed.b = second;
      i = digitsEnd;
    } else if (i <= 2 && (sep === 32 || sep === 45)) {
      const month = readMonthName(s, i + 1);
      if (month < 0 || s.charCodeAt(digitsEnd) !== sep) return false;
      const year = readDigits(s, digitsEnd + 1, 4, 4);
      if (year < 0 || !isDate(year, month, first)) return false;
      parsed.year = year;
      parsed.a = month;
      parsed.b = first;
      i = digitsEnd;
    } else return false;
  } else {
    const month = readMonthName(s, 0);
    if (month < 0 || s.charCodeAt(digitsEnd) !== 32) return false;
    const day = readDigits(s, digitsEnd + 1, 1, 2);
    if (day < 0) return false;
    i = digitsEnd;
    if (s.charCodeAt(i) === 44) i++;
    if (s.charCodeAt(i) !== 32) return false;
    const year = readDigits(s, i + 1, 4, 4);
    if (year < 0 || !isDate(year, month, day)) return false;
    parsed.year = year;
    parsed.a = month;
    parsed.b = day;
    i = digitsEnd;
  }
  parsed.hasTime = false;
  parsed.offset = 0;
  if (i === n) return true;
  return parseTime(s, i);
}

function parseTime(s: string, start: number): boolean {
  const n = s.length;
  const sep = s.charCodeAt(start);
  if (sep !== 84 && sep !== 32) return false;
  let hour = readDigits(s, start + 1, 1, 2);
  if (hour < 0 || s.charCodeAt(digitsEnd) !== 58) return false;
  const minute = readDigits(s, digitsEnd + 1, 2, 2);
  if (minute < 0 || minute > 59) return false;
  let second = 0;
  let fraction = '';
  let i = digitsEnd;
  if (s.charCodeAt(i) === 58) {
    second = readDigits(s, i + 1, 2, 2);
    if (second < 0 || second > 59) return false;
    i = digitsEnd;
    const mark = s.charCodeAt(i);
    if (mark === 46 || mark === 44) {
      if (readDigits(s, i + 1, 1, 9) < 0) return false;
      fraction = s.slice(i + 1, Math.min(digitsEnd, i + 7));
      i = digitsEnd;
    }
  }
  let k = s.charCodeAt(i) === 32 ? i + 1 : i;
  if (k + 1 < n && (s.charCodeAt(k + 1) | 32) === 109) {
    const half = s.charCodeAt(k) | 32;
    if (half === 97 || half === 112) {
      if (hour < 1 || hour > 12) return false;
      hour = (hour % 12) + (half === 112 ? 12 : 0);
      i = k + 2;
      k = s.charCodeAt(i) === 32 ? i + 1 : i;
    }
  }
  if (hour > 23) return false;
  if (i < n) {
    const offset = parseZone(s, k);
    if (offset === undefined) return false;
    parsed.offset = offset;
  }
  parsed.hasTime = true;
  parsed.hour = hour;
  parsed.minute = minute;
  parsed.second = second;
  parsed.fraction = fraction;
  return true;
}

/** Minutes east of UTC for a zone running to the end of `s`, or undefined. */
function parseZone(s: string, i: number): number | undefined {
  const rest = s.length - i;
  if (rest === 1 && s.charCodeAt(i) === 90) return 0;
  if (rest === 3 && (s.endsWith('UTC') || s.endsWith('GMT'))) return 0;
  const sign = s.charCodeAt(i);
  if (sign !== 43 && sign !== 45) return undefined;
  const hours = readDigits(s, i + 1, 2, 2);
  if (hours < 0 || hours > 23) return undefined;
  let minutes = 0;
  let k = digitsEnd;
  if (k < s.length) {
    if (s.charCodeAt(k) === 58) k++;
    minutes = readDigits(s, k, 2, 2);
    if (minutes < 0 || minutes > 59 || digitsEnd !== s.length) return undefined;
  }
  const total = hours * 60 + minutes;
  return sign === 45 ? -total : total;
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : `${i}`));

function formatDate(year: number, month: number, day: number): string {
  const y = year >= 1000 ? `${year}` : `${year}`.padStart(4, '0');
  return `${y}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}`;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of `daysFromCivil`, written into `parsed.year/a/b`. */
function civilFromDays(days: number): void {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  parsed.b = doy - Math.floor((153 * mp + 2) / 5) + 1;
  parsed.a = month;
  parsed.year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

/** Picks month and day of a year-last date by the column's reading; false if it isn't one. */
function settleOrder(dayFirst: boolean): boolean {
  if (!parsed.yearLast) return true;
  if (dayFirst ? !parsed.dayFirstOk : !parsed.monthFirstOk) return false;
  if (dayFirst) {
    const day = parsed.a;
    parsed.a = parsed.b;
    parsed.b = day;
  }
  return true;
}

function canonicalDate(s: string, dayFirst: boolean): string | undefined {
  if (!parseTemporal(s) || parsed.hasTime || !settleOrder(dayFirst)) return undefined;
  return parsed.isoDate ? s : formatDate(parsed.year, parsed.a, parsed.b);
}

/** ISO 8601 in UTC; texts without a zone are taken as UTC already. */
function canonicalTimestamp(s: string, dayFirst: boolean): string | undefined {
  if (!parseTemporal(s) || !settleOrder(dayFirst)) return undefined;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let fraction = '';
  if (parsed.hasTime) {
    hour = parsed.hour;
    minute = parsed.minute;
    second = parsed.second;
    fraction = parsed.fraction;
    let end = fraction.length;
    while (end > 0 && fraction.charCodeAt(end - 1) === 48) end--;
    fraction = end === 0 ? '' : `.${fraction.slice(0, end)}`;
    if (parsed.offset !== 0) {
      const total = daysFromCivil(parsed.year, parsed.a, parsed.b) * 1440 + hour * 60 + minute;
      const utc = total - parsed.offset;
      const days = Math.floor(utc / 1440);
      const minuteOfDay = utc - days * 1440;
      civilFromDays(days);
      if (parsed.year < 1 || parsed.year > 9999) return undefined;
      hour = Math.floor(minuteOfDay / 60);
      minute = minuteOfDay % 60;
    }
  }
  const date = formatDate(parsed.year, parsed.a, parsed.b);
  return `${date}T${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second]}${fraction}Z`;
}

/** Canonical text of a value for a type: null for a null, undefined if it does not fit. */
type Canonicalizer = (value: string | number | boolean) => string | null | undefined;

/**
 * The value of text that `integerText` would return unchanged, else NaN: an optional '-' and 1
 * to 15 digits (exact in a double) without a leading zero, not '-0'. It rules out null tokens
 * and whitespace too, so the common cell needs this one pass and nothing else.
 */
function canonicalIntegerValue(s: string): number {
  const n = s.length;
  const start = n > 0 && s.charCodeAt(0) === 45 ? 1 : 0;
  const digits = n - start;
  if (digits < 1 || digits > 15) return Number.NaN;
  const first = s.charCodeAt(start) - 48;
  if (first === 0) return digits === 1 && start === 0 ? 0 : Number.NaN;
  if (first < 0 || first > 9) return Number.NaN;
  let value = first;
  for (let i = start + 1; i < n; i++) {
    const digit = s.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return start === 0 ? value : -value;
}

function integerText(value: string | number | boolean): string | null | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? `${value}` : undefined;
  if (typeof value !== 'string') return undefined;
  if (!Number.isNaN(canonicalIntegerValue(value))) return value;
  const s = trimmed(value);
  if (isNullToken(s)) return null;
  const kind = numberKind(s);
  if (kind === NOT_NUMBER) return undefined;
  const first = s.charCodeAt(0);
  if (kind === INTEGER_TEXT && first !== 43 && s !== '-0') return s;
  const number = Number(s);
  return Number.isSafeInteger(number) ? `${number}` : undefined;
}

/**
 * Whether number text is already what `String(Number(text))` would print, so conversion can
 * skip the round trip: plain notation, no '+', no redundant zeros, at most 15 significant
 * digits (which always survive a double unchanged) and not so small that JS switches to
 * exponent notation.
 */
function isCanonicalNumber(s: string): boolean {
  const n = s.length;
  let i = n > 0 && s.charCodeAt(0) === 45 ? 1 : 0;
  const intStart = i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  const intDigits = i - intStart;
  if (intDigits === 0 || (intDigits > 1 && s.charCodeAt(intStart) === 48)) return false;
  const isZero = intDigits === 1 && s.charCodeAt(intStart) === 48;
  if (i === n) return !(isZero && intStart === 1) && intDigits <= 15;
  if (s.charCodeAt(i) !== 46 || s.charCodeAt(n - 1) === 48) return false;
  const fracStart = ++i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  if (i !== n || i === fracStart) return false;
  if (!isZero) return intDigits + (n - fracStart) <= 15;
  let zeros = 0;
  while (s.charCodeAt(fracStart + zeros) === 48) zeros++;
  return zeros <= 5 && n - fracStart - zeros <= 15;
}

function floatText(value: string | number | boolean): string | null | undefined {
  if (typeof value === 'number') return `${value}`;
  if (typeof value !== 'string') return undefined;
  // Canonical text has no whitespace and is no null token, so it can skip straight to itself.
  if (isCanonicalNumber(value)) return value;
  const s = trimmed(value);
  if (isNullToken(s)) return null;
  if (numberKind(s) === NOT_NUMBER) return undefined;
  if (isCanonicalNumber(s)) return s;
  const number = Number(s);
  return Number.isFinite(number) ? `${number}` : undefined;
}

function booleanText(value: string | number | boolean): string | null | undefined {
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value !== 'string') return undefined;
  const s = trimmed(value);
  if (isNullToken(s)) return null;
  const flag = booleanOf(s);
  return flag === undefined ? undefined : flag ? 't' : 'f';
}

function temporalText(
  canonical: (s: string, dayFirst: boolean) => string | undefined,
  dayFirst: boolean,
): Canonicalizer {
  return (value) => {
    if (typeof value !== 'string') return undefined;
    const s = trimmed(value);
    if (isNullToken(s)) return null;
    return canonical(s, dayFirst);
  };
}

function stringText(value: string | number | boolean): string | null | undefined {
  if (typeof value !== 'string') return `${value}`;
  if (isNullText(value)) return null;
  return value.includes('\0') ? undefined : value;
}

function canonicalizer(type: ColumnType, dayFirst: boolean): Canonicalizer {
  switch (type) {
    case 'INTEGER':
      return integerText;
    case 'FLOAT':
      return floatText;
    case 'BOOLEAN':
      return booleanText;
    case 'DATE':
      return temporalText(canonicalDate, dayFirst);
    case 'TIMESTAMP':
      return temporalText(canonicalTimestamp, dayFirst);
    default:
      return stringText;
  }
}

/** Texts (and their canonical forms) remembered per column by `memoized`. */
const MEMO_ENTRIES = 4096;

/** A fresh copy of `s`: the parser's values may be slices that pin a large decoded piece. */
function unshared(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}

/**
 * `canonicalize` remembering what it made of up to 4096 texts. Float, date and time columns
 * repeat the same values over and over, and each text that is not its own canonical form
 * otherwise costs a full parse and print, which dominated loads. `isOwnForm` answers the cheap
 * cases before the lookup. The memo is dropped when it fills up on mostly unseen values, so a
 * column that never repeats does not keep paying for lookups.
 */
function memoized(
  canonicalize: Canonicalizer,
  isOwnForm: (s: string) => boolean = () => false,
): Canonicalizer {
  let memo: Map<string, string | null> | null = new Map();
  let hits = 0;
  return (value) => {
    if (typeof value !== 'string') return canonicalize(value);
    if (isOwnForm(value)) return value;
    if (memo === null) return canonicalize(value);
    const known = memo.get(value);
    if (known !== undefined) {
      hits++;
      return known;
    }
    const text = canonicalize(value);
    if (text === undefined) return text;
    if (memo.size < MEMO_ENTRIES) {
      const key = unshared(value);
      memo.set(key, text === null ? null : text === value ? key : unshared(text));
    } else if (hits < MEMO_ENTRIES) memo = null;
    return text;
  };
}

/** `canonicalizer` for the many values of one column. */
function columnCanonicalizer(type: ColumnType, dayFirst: boolean): Canonicalizer {
  switch (type) {
    case 'FLOAT':
      return memoized(floatText, isCanonicalNumber);
    case 'DATE':
    case 'TIMESTAMP':
      return memoized(canonicalizer(type, dayFirst));
    default:
      return canonicalizer(type, dayFirst);
  }
}

function article(type: ColumnType): string {
  return type === 'INTEGER' ? 'an' : 'a';
}

/**
 * Converts one value as the converter would, to a JS value: a number for INTEGER/FLOAT, a
 * boolean, 'YYYY-MM-DD' for a DATE, an ISO 8601 UTC string for a TIMESTAMP, the text for
 * STRING/CATEGORY, or null for a null token. Throws a BAD_VALUE `DatasetInputError` if the
 * value does not fit the type.
 */
export function parseValue(
  type: ColumnType,
  raw: RawValue,
  options: { column?: string; dayFirst?: boolean; hideValue?: boolean } = {},
): number | boolean | string | null {
  if (raw === null) return null;
  const text = canonicalizer(type, options.dayFirst ?? false)(raw);
  if (text === undefined) {
    throw new DatasetInputError(
      'BAD_VALUE',
      `${describeValue(raw, options.hideValue)} is not ${article(type)} ${type}`,
      { column: options.column },
    );
  }
  if (text === null) return null;
  if (type === 'INTEGER' || type === 'FLOAT') return Number(text);
  if (type === 'BOOLEAN') return text === 't';
  return text;
}

/** The PostgreSQL column type that stores a column type. */
export function pgTypeFor(type: ColumnType): string {
  switch (type) {
    case 'INTEGER':
      return 'bigint';
    case 'FLOAT':
      return 'double precision';
    case 'BOOLEAN':
      return 'boolean';
    case 'DATE':
      return 'date';
    case 'TIMESTAMP':
      return 'timestamptz';
    default:
      return 'text';
  }
}

/**
 * Counts distinct values exactly while few, then as a HyperLogLog sketch of 4 KiB, so a column
 * of millions of unique ids costs no more memory than one of a handful of labels.
 */
class DistinctCounter {
  private exact: Set<string | number | boolean> | null = new Set();
  /** Canonical integer texts ('42', not '042' or '+42') as their values: a number hashes and
   * compares much faster than a string, and each such text has its own number. */
  private integers = new Set<number>();
  /** Those within ±2^15 as bits instead, which cost less to test than a Set lookup. */
  private small: Uint32Array | null = null;
  private smallCount = 0;
  private registers: Uint8Array | null = null;

  add(value: string | number | boolean): void {
    const integer = typeof value === 'string' ? canonicalIntegerValue(value) : Number.NaN;
    if (Number.isNaN(integer)) this.addOther(value);
    else this.addInteger(integer, value as string);
  }

  /** Adds canonical integer text already read as `integer` (`canonicalIntegerValue(text)`). */
  addInteger(integer: number, text: string): void {
    const exact = this.exact;
    if (exact === null) {
      this.addHash(hashOf(text));
      return;
    }
    const bit = integer + SMALL_INTEGERS / 2;
    if (bit >= 0 && bit < SMALL_INTEGERS) {
      this.small ??= new Uint32Array(SMALL_INTEGERS / 32);
      const small = this.small;
      const word = small[bit >>> 5]!;
      const mask = 1 << (bit & 31);
      if ((word & mask) !== 0) return;
      small[bit >>> 5] = word | mask;
      this.smallCount++;
    } else this.integers.add(integer);
    if (this.exactSize > EXACT_DISTINCT_CAP) this.toSketch(exact);
  }

  /** Adds a value known not to be canonical integer text. */
  addOther(value: string | number | boolean): void {
    const exact = this.exact;
    if (exact === null) {
      this.addHash(hashOf(value));
      return;
    }
    exact.add(value);
    if (this.exactSize > EXACT_DISTINCT_CAP) this.toSketch(exact);
  }

  private get exactSize(): number {
    return this.exact!.size + this.integers.size + this.smallCount;
  }

  get count(): number {
    if (this.exact !== null) return this.exactSize;
    const registers = this.registers!;
    const m = registers.length;
    let sum = 0;
    let zeros = 0;
    for (let j = 0; j < m; j++) {
      const r = registers[j]!;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const raw = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
    // Linear counting is the more accurate estimate while many registers are still empty.
    return Math.round(raw <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : raw);
  }

  private toSketch(values: Set<string | number | boolean>): void {
    this.exact = null;
    this.registers = new Uint8Array(1 << HLL_BITS);
    for (const value of values) this.addHash(hashOf(value));
    for (const integer of this.integers) this.addHash(hashOf(`${integer}`));
    this.integers.clear();
    const small = this.small;
    if (small !== null) {
      for (let bit = 0; bit < SMALL_INTEGERS; bit++) {
        if ((small[bit >>> 5]! & (1 << (bit & 31))) !== 0) {
          this.addHash(hashOf(`${bit - SMALL_INTEGERS / 2}`));
        }
      }
      this.small = null;
      this.smallCount = 0;
    }
  }

  private addHash(hash: number): void {
    const index = hash >>> (32 - HLL_BITS);
    const rest = (hash << HLL_BITS) | (1 << (HLL_BITS - 1));
    const rank = Math.clz32(rest) + 1;
    const registers = this.registers!;
    if (rank > registers[index]!) registers[index] = rank;
  }
}

const numberBits = new Float64Array(1);
const numberWords = new Uint32Array(numberBits.buffer);

/** 32-bit FNV-1a, finished with murmur3's avalanche so every bit of the result is usable. */
function hashOf(value: string | number | boolean): number {
  let h = 0x811c9dc5;
  if (typeof value === 'string') {
    for (let k = 0; k < value.length; k++) h = Math.imul(h ^ value.charCodeAt(k), 0x01000193);
  } else if (typeof value === 'number') {
    numberBits[0] = value;
    h = Math.imul(h ^ numberWords[0]!, 0x01000193);
    h = Math.imul(h ^ numberWords[1]!, 0x01000193);
  } else {
    h = value ? 0x9e3779b9 : 0x85ebca6b;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

interface ColumnStats {
  name: string;
  candidates: number;
  /** Year-last dates are still consistent with month-first / day-first reading. */
  monthFirst: boolean;
  dayFirst: boolean;
  maxLength: number;
  sampleNonNull: number;
  sampleDistinct: number;
  nulls: number;
  distinct: DistinctCounter;
  /** The previous row's value when it was not null: a repeat of it is already counted. */
  previous: string | number | boolean | undefined;
}

/** Narrows a column's candidate types by one sampled, non-null value. */
function narrow(stats: ColumnStats, value: string | number | boolean): void {
  const candidates = stats.candidates;
  if (typeof value === 'number') {
    stats.candidates = candidates & (Number.isSafeInteger(value) ? INT | FLOAT : FLOAT);
    return;
  }
  if (typeof value === 'boolean') {
    stats.candidates = candidates & BOOL;
    return;
  }
  if (value.length > stats.maxLength) stats.maxLength = value.length;
  if (candidates === 0) return;
  const s = trimmed(value);
  let fits = 0;
  if (candidates & FLOAT) {
    const kind = numberKind(s);
    if (kind === INTEGER_TEXT) fits |= INT | FLOAT;
    else if (kind === DECIMAL_TEXT) fits |= FLOAT;
  }
  if (candidates & BOOL && booleanOf(s) !== undefined) fits |= BOOL;
  if (candidates & STAMP && parseTemporal(s)) {
    fits |= parsed.hasTime ? STAMP : DATE | STAMP;
    if (parsed.yearLast) {
      stats.monthFirst &&= parsed.monthFirstOk;
      stats.dayFirst &&= parsed.dayFirstOk;
      if (!stats.monthFirst && !stats.dayFirst) fits &= ~(DATE | STAMP);
    }
  }
  stats.candidates = candidates & fits;
}

function decideType(stats: ColumnStats): ColumnType {
  const candidates = stats.candidates;
  if (stats.sampleNonNull === 0) return 'STRING';
  if (candidates & BOOL) return 'BOOLEAN';
  if (candidates & INT) return 'INTEGER';
  if (candidates & FLOAT) return 'FLOAT';
  if (candidates & DATE) return 'DATE';
  if (candidates & STAMP) return 'TIMESTAMP';
  const distinct = stats.sampleDistinct;
  const isCategory =
    distinct <= CATEGORY_MAX_DISTINCT &&
    distinct * CATEGORY_MIN_REPEAT <= stats.sampleNonNull &&
    stats.maxLength <= CATEGORY_MAX_LENGTH;
  return isCategory ? 'CATEGORY' : 'STRING';
}

/** What a converter's fused pass needs of the inferrers made here: past the sample, observing
 * a value only counts it as null or adds it to its column's distinct counter. */
const inferrerStats = new WeakMap<
  Inferrer,
  { columns: readonly ColumnStats[]; sampleFull: () => boolean }
>();

/**
 * Infers column types from the first `sampleSize` rows fed to `observe`. Rules, over non-null
 * sampled values (null tokens such as '', 'NA' and 'null' are null):
 * - BOOLEAN: all true/false/yes/no, any case (JSON booleans too; 0/1 stay numbers).
 * - INTEGER: all integers within ±2^53 without leading zeros ('007' is an identifier: STRING).
 * - FLOAT: all numbers, some with a fraction or exponent.
 * - DATE: all dates (see `parseTemporal`); slash dates read month-first unless only day-first
 *   fits, which sets `dayFirst`. TIMESTAMP: dates and date-times, at least one with a time.
 * - CATEGORY: other text with at most 50 distinct values, each repeated 4 times on average,
 *   none longer than 100 characters; otherwise STRING. An all-null column is STRING.
 * Overrides replace the inferred type. Nullability and the distinct estimate keep counting over
 * every observed row, so `finish()` may be called after the sample to pick types for conversion
 * and again at the end for the final counts.
 */
export function createInferrer(columns: string[], options: InferOptions = {}): Inferrer {
  const sampleSize = options.sampleSize ?? DEFAULT_SAMPLE_SIZE;
  const overrides = new Map<string, ColumnType>();
  for (const [name, type] of Object.entries(options.overrides ?? {})) {
    if (!columns.includes(name)) {
      throw new DatasetInputError('UNKNOWN_COLUMN', 'there is no column of that name to override', {
        column: name,
      });
    }
    if (!COLUMN_TYPES.includes(type)) {
      throw new InputError(`"${type}" is not a column type.`, 'overrides');
    }
    overrides.set(name, type);
  }
  const stats: ColumnStats[] = columns.map((name) => ({
    name,
    candidates: ALL_TYPES,
    monthFirst: true,
    dayFirst: true,
    maxLength: 0,
    sampleNonNull: 0,
    sampleDistinct: 0,
    nulls: 0,
    distinct: new DistinctCounter(),
    previous: undefined,
  }));
  let sampled = 0;

  const snapshotSample = (): void => {
    for (const column of stats) column.sampleDistinct = column.distinct.count;
  };

  const inferrer: Inferrer = {
    observe(rows) {
      const width = stats.length;
      for (const row of rows) {
        const values = row.values;
        const inSample = sampled < sampleSize;
        for (let j = 0; j < width; j++) {
          const value = values[j];
          const column = stats[j]!;
          if (value === null || value === undefined) {
            column.nulls++;
            column.previous = undefined;
            continue;
          }
          // Sorted, grouped and constant columns repeat the value above them, which needs
          // neither the null test nor the distinct counter again.
          if (value !== column.previous) {
            if (typeof value === 'string' && isNullText(value)) {
              column.nulls++;
              column.previous = undefined;
              continue;
            }
            column.distinct.add(value);
            column.previous = value;
          }
          if (inSample) {
            column.sampleNonNull++;
            narrow(column, value);
          }
        }
        if (inSample && ++sampled === sampleSize) snapshotSample();
      }
    },
    get sampled() {
      return sampled;
    },
    finish() {
      if (sampled < sampleSize) snapshotSample();
      return stats.map((column) => {
        const type = overrides.get(column.name) ?? decideType(column);
        const inferred: InferredColumn = {
          name: column.name,
          type,
          nullable: column.nulls > 0,
          distinctEstimate: column.distinct.count,
        };
        const temporal = type === 'DATE' || type === 'TIMESTAMP';
        if (temporal && !column.monthFirst && column.dayFirst) inferred.dayFirst = true;
        return inferred;
      });
    },
  };
  inferrerStats.set(inferrer, { columns: stats, sampleFull: () => sampled >= sampleSize });
  return inferrer;
}

/** The text as a COPY CSV field: quoted when it holds a comma, quote or line break, or is the
 * end-of-data marker `\.`, which COPY would otherwise stop at. */
function csvField(text: string): string {
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === 44 || c === 34 || c === 10 || c === 13) return `"${text.replaceAll('"', '""')}"`;
  }
  return text === '\\.' ? '"\\."' : text;
}

/**
 * Builds a converter from parsed rows to PostgreSQL `COPY … (FORMAT csv)` text, validating every
 * value against its column: INTEGER as decimal digits, FLOAT as JS number text, BOOLEAN as t/f,
 * DATE as YYYY-MM-DD, TIMESTAMP as ISO 8601 UTC with 'Z' (zone-less texts are taken as UTC), and
 * text quoted only where needed. Nulls and null tokens become an unquoted empty field (COPY's
 * NULL); an empty text can only come from a null token, so no field is ever `""`. A value that
 * does not fit throws a BAD_VALUE `DatasetInputError` naming line and column, without the value
 * for columns in `hideValuesFor`.
 */
export function createConverter(
  columns: InferredColumn[],
  options: { hideValuesFor?: Set<string> } = {},
): Converter {
  const width = columns.length;
  const convert = columns.map((c) => columnCanonicalizer(c.type, c.dayFirst ?? false));
  const quoted = columns.map((c) => c.type === 'STRING' || c.type === 'CATEGORY');
  const hidden = options.hideValuesFor ?? new Set<string>();
  // The previous row's value and field per column, as a repeat converts to the same field. Only
  // the previous row's, so no value pins an old piece of the decoded file.
  const previous: Array<RawValue | undefined> = new Array(width).fill(undefined);
  const previousField: string[] = new Array(width).fill('');

  const badValue = (line: number, j: number, value: RawValue): DatasetInputError => {
    const column = columns[j]!;
    const what = describeValue(value, hidden.has(column.name));
    const problem =
      typeof value === 'string' && value.includes('\0') && quoted[j]
        ? `${what} contains a NUL character, which text columns cannot hold`
        : `${what} is not ${article(column.type)} ${column.type}`;
    return new DatasetInputError('BAD_VALUE', problem, { line, column: column.name });
  };

  const convertBatch = (rows: RawRow[]): string => {
    // Joining per-row strings beats one long chain of `+=`, which V8 must flatten afterwards.
    // One more, empty, line so the join ends in '\n' without another copy of the batch.
    const lines: string[] = new Array(rows.length + 1);
    lines[rows.length] = '';
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const values = row.values;
      let line = '';
      for (let j = 0; j < width; j++) {
        if (j > 0) line += ',';
        const value = values[j];
        if (value === null || value === undefined) {
          previous[j] = undefined;
          continue;
        }
        if (value !== previous[j]) {
          const text = convert[j]!(value);
          if (text === undefined) throw badValue(row.line, j, value);
          previous[j] = value;
          previousField[j] = text === null ? '' : quoted[j] ? csvField(text) : text;
        }
        line += previousField[j]!;
      }
      lines[r] = line;
    }
    return rows.length === 0 ? '' : lines.join('\n');
  };

  // Columns whose converter gives canonical integer text back unchanged, as `integerText`,
  // `floatText` and `stringText` (with `csvField`) do; booleans and dates reject it.
  const keepsIntegers = columns.map(
    (c) =>
      c.type === 'INTEGER' || c.type === 'FLOAT' || c.type === 'STRING' || c.type === 'CATEGORY',
  );

  /** `observe` and `convertBatch` of the same rows as one loop, for an inferrer past its sample. */
  const observeAndConvert = (rows: RawRow[], counts: readonly ColumnStats[]): string => {
    // A repeat skips the distinct counter, so it must repeat a value counted in this pass.
    previous.fill(undefined);
    const lines: string[] = new Array(rows.length + 1);
    lines[rows.length] = '';
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const values = row.values;
      let line = '';
      for (let j = 0; j < width; j++) {
        if (j > 0) line += ',';
        const value = values[j];
        const column = counts[j]!;
        if (value === null || value === undefined) {
          column.nulls++;
          previous[j] = undefined;
          continue;
        }
        if (value === previous[j]) {
          // A repeat is already counted as distinct; only a null token converts to ''.
          const field = previousField[j]!;
          if (field === '') column.nulls++;
          else line += field;
          continue;
        }
        let integerChecked = false;
        if (keepsIntegers[j] && typeof value === 'string') {
          const integer = canonicalIntegerValue(value);
          if (!Number.isNaN(integer)) {
            column.distinct.addInteger(integer, value);
            previous[j] = value;
            previousField[j] = value;
            line += value;
            continue;
          }
          integerChecked = true;
        }
        const text = convert[j]!(value);
        if (text === undefined) throw badValue(row.line, j, value);
        previous[j] = value;
        if (text === null) {
          column.nulls++;
          previousField[j] = '';
          continue;
        }
        if (integerChecked) column.distinct.addOther(value);
        else column.distinct.add(value);
        const field = quoted[j] ? csvField(text) : text;
        previousField[j] = field;
        line += field;
      }
      lines[r] = line;
    }
    return rows.length === 0 ? '' : lines.join('\n');
  };

  return {
    convertBatch,
    observeAndConvert(rows, inferrer) {
      const state = inferrerStats.get(inferrer);
      if (state === undefined || !state.sampleFull() || state.columns.length !== width) {
        inferrer.observe(rows);
        return convertBatch(rows);
      }
      return observeAndConvert(rows, state.columns);
    },
  };
}
