import type { RawValue } from './parse';

/*
 * What a raw text is before any column type is chosen: null or not, number syntax, boolean
 * words. Inference and canonicalization both read values through these, so a text counts as the
 * same thing in both.
 */

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
export function trimmed(text: string): string {
  const n = text.length;
  return n > 0 && (text.charCodeAt(0) <= 32 || text.charCodeAt(n - 1) <= 32) ? text.trim() : text;
}

/** Whether trimmed text is a null token; most texts are ruled out by length or first letter
 * before the set lookup, which would otherwise hash every short value. */
export function isNullToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return true;
  if (n > 4) return false;
  const c = s.charCodeAt(0);
  return (c === 78 || c === 110 || c === 35 || c === 60) && NULL_TOKENS.has(s);
}

export function isNullText(text: string): boolean {
  return isNullToken(trimmed(text));
}

/** Whether a raw value is null: a JSON null, an empty CSV field or a null token. */
export function isNullValue(value: RawValue | undefined): boolean {
  return value === null || value === undefined || (typeof value === 'string' && isNullText(value));
}

export const NOT_NUMBER = 0;
export const INTEGER_TEXT = 1;
export const DECIMAL_TEXT = 2;
/** An integer with leading zeros ('007'): an identifier such as a ZIP code, not a number. */
const PADDED_TEXT = 3;
/** An integer beyond 2^53: an identifier that a double would silently round. */
const HUGE_TEXT = 4;

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Classifies decimal number syntax: sign, digits, optional fraction and exponent. */
export function numberKind(s: string): number {
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
export function booleanOf(s: string): boolean | undefined {
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
