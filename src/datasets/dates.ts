import { isDigit } from './lexical';

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
export const parsed = {
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
export function parseTemporal(s: string): boolean {
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

export function canonicalDate(s: string, dayFirst: boolean): string | undefined {
  if (!parseTemporal(s) || parsed.hasTime || !settleOrder(dayFirst)) return undefined;
  return parsed.isoDate ? s : formatDate(parsed.year, parsed.a, parsed.b);
}

/** ISO 8601 in UTC; texts without a zone are taken as UTC already. */
export function canonicalTimestamp(s: string, dayFirst: boolean): string | undefined {
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
