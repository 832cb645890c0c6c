import type { ColumnType } from '../../db/schema/datasets';
import { canonicalDate, canonicalTimestamp } from './dates';
import { DatasetInputError, describeValue } from './input-error';
import {
  booleanOf,
  INTEGER_TEXT,
  isDigit,
  isNullText,
  isNullToken,
  NOT_NUMBER,
  numberKind,
  trimmed,
} from './lexical';
import type { RawValue } from './parse';

/** Canonical text of a value for a type: null for a null, undefined if it does not fit. */
export type Canonicalizer = (value: string | number | boolean) => string | null | undefined;

/**
 * The value of text that `integerText` would return unchanged, else NaN: an optional '-' and 1
 * to 15 digits (exact in a double) without a leading zero, not '-0'. It rules out null tokens
 * and whitespace too, so the common cell needs this one pass and nothing else.
 */
export function canonicalIntegerValue(s: string): number {
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

export function canonicalizer(type: ColumnType, dayFirst: boolean): Canonicalizer {
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
export function columnCanonicalizer(type: ColumnType, dayFirst: boolean): Canonicalizer {
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
      typeMismatch(describeValue(raw, options.hideValue), type),
      { column: options.column },
    );
  }
  if (text === null) return null;
  if (type === 'INTEGER' || type === 'FLOAT') return Number(text);
  if (type === 'BOOLEAN') return text === 't';
  return text;
}

/** The sentence saying a value, as `describeValue` names it, does not fit a column type. */
export function typeMismatch(value: string, type: ColumnType): string {
  return `${value} is not ${type === 'INTEGER' ? 'an' : 'a'} ${type}`;
}
