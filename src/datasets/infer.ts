import { COLUMN_TYPES, type ColumnType } from '../../db/schema/datasets';
import { InputError } from '../errors';
import { parsed, parseTemporal } from './dates';
import { DistinctCounter } from './distinct';
import { DatasetInputError } from './input-error';
import { booleanOf, DECIMAL_TEXT, INTEGER_TEXT, isNullText, numberKind, trimmed } from './lexical';
import type { RawRow } from './parse';

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

const DEFAULT_SAMPLE_SIZE = 10_000;
/** A text column is a CATEGORY when its sample has at most this many distinct values… */
const CATEGORY_MAX_DISTINCT = 50;
/** …each repeated at least this many times on average… */
const CATEGORY_MIN_REPEAT = 4;
/** …and none longer than this, since long texts are prose even when repeated. */
const CATEGORY_MAX_LENGTH = 100;

const INT = 1;
const FLOAT = 2;
const BOOL = 4;
const DATE = 8;
const STAMP = 16;
const ALL_TYPES = INT | FLOAT | BOOL | DATE | STAMP;

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

/** The stats of each inferrer made here, for `countsPastSample`. */
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

/** What observing a value past the sample still updates: its column's nulls or distincts. */
export type ColumnCounts = Pick<ColumnStats, 'nulls' | 'distinct'>;

/**
 * The per-column counts of an inferrer whose sample is full, for a pass that observes rows
 * while doing something else with them (the converter's fused pass); undefined before that,
 * while observing a row still narrows types.
 */
export function countsPastSample(inferrer: Inferrer): readonly ColumnCounts[] | undefined {
  const state = inferrerStats.get(inferrer);
  return state?.sampleFull() ? state.columns : undefined;
}
