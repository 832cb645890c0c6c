import type { ColumnType } from '../../db/schema/datasets';
import {
  canonicalIntegerValue,
  canonicalizer,
  columnCanonicalizer,
  typeMismatch,
} from './canonical';
import { type ColumnCounts, countsPastSample, type InferredColumn, type Inferrer } from './infer';
import { DatasetInputError, describeValue } from './input-error';
import type { RawRow, RawValue } from './parse';

export interface Converter {
  /** PostgreSQL `COPY … (FORMAT csv)` text for the rows, one '\n'-terminated line each. */
  convertBatch(rows: RawRow[]): string;
  /**
   * `inferrer.observe(rows)` then `convertBatch(rows)`, in one pass once the inferrer's sample is
   * full: each value is classified once for both its statistics and its field.
   */
  observeAndConvert(rows: RawRow[], inferrer: Inferrer): string;
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
        : typeMismatch(what, column.type);
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
  const observeAndConvert = (rows: RawRow[], counts: readonly ColumnCounts[]): string => {
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
      const counts = countsPastSample(inferrer);
      if (counts === undefined || counts.length !== width) {
        inferrer.observe(rows);
        return convertBatch(rows);
      }
      return observeAndConvert(rows, counts);
    },
  };
}

/**
 * One typed value — a number, bigint, boolean, string or Date as a query or a model yields it —
 * as the COPY CSV field of a column of `type`, in the form the converter writes. Unlike an
 * uploaded cell, a string for a text column is stored as it is ('' and 'NA' included); null,
 * undefined and NaN are NULL. A value that does not fit the type throws a BAD_VALUE
 * `DatasetInputError`.
 */
export function copyCell(type: ColumnType, value: unknown): string {
  if (value === null || value === undefined) return '';
  // Beyond 2^53 a bigint is still exact, and PostgreSQL checks its range.
  if (typeof value === 'bigint' && type === 'INTEGER') return `${value}`;
  const typed =
    value instanceof Date
      ? type === 'DATE'
        ? value.toISOString().slice(0, 10)
        : value.toISOString()
      : typeof value === 'bigint'
        ? `${value}`
        : value;
  if (typeof typed !== 'string' && typeof typed !== 'number' && typeof typed !== 'boolean') {
    throw new DatasetInputError('BAD_VALUE', typeMismatch(describeValue(typed), type));
  }
  if (type === 'STRING' || type === 'CATEGORY') {
    const text = `${typed}`;
    if (text.includes('\0')) {
      throw new DatasetInputError('BAD_VALUE', `${describeValue(text)} contains a NUL character`);
    }
    // An empty field is COPY's NULL, so an empty string must be quoted.
    return text === '' ? '""' : csvField(text);
  }
  if (typeof typed === 'number' && Number.isNaN(typed)) return '';
  const text = canonicalizer(type, false)(typed);
  if (text === undefined) {
    throw new DatasetInputError('BAD_VALUE', typeMismatch(describeValue(typed), type));
  }
  return text ?? '';
}
