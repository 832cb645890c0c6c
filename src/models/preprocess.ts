import type { ColumnType } from '../../db/schema/datasets';
import { hashText, TEXT_BUCKETS } from './text';
import {
  type ColumnTransform,
  FeatureError,
  type FeatureSpec,
  type PreprocessingState,
} from './types';

/** Categories kept per one-hot column; rarer ones (and unseen ones) encode as all zeros. */
export const MAX_CATEGORIES = 50;
const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}/;
const MISSING = '<missing>';

/** A dense row-major float matrix, ready for `tf.tensor2d(data, [rows, cols])`. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

const isCategorical = (type: ColumnType) => type === 'STRING' || type === 'CATEGORY';

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * The number a value of a numeric-like feature stands for, or null when missing. INTEGER/FLOAT
 * take numbers and numeric strings; BOOLEAN true/false (also 0/1 and their strings); DATE and
 * TIMESTAMP ISO text (or Date), as days since 1970-01-01 UTC. Blank strings count as missing.
 */
export function numericValue(feature: FeatureSpec, value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && value.trim() === '') return null;
  const wrong = () =>
    new FeatureError(
      feature.name,
      `Feature "${feature.name}" (${feature.type}) has a value of the wrong type: ${describe(value)}.`,
    );
  switch (feature.type) {
    case 'INTEGER':
    case 'FLOAT': {
      const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
      if (!Number.isFinite(n)) throw wrong();
      return n;
    }
    case 'BOOLEAN': {
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (value === 0 || value === 1) return value;
      if (typeof value === 'string') {
        const v = value.trim().toLowerCase();
        if (v === 'true' || v === '1') return 1;
        if (v === 'false' || v === '0') return 0;
      }
      throw wrong();
    }
    case 'DATE':
    case 'TIMESTAMP': {
      const ms =
        value instanceof Date
          ? value.getTime()
          : typeof value === 'string' && ISO_DATE.test(value.trim())
            ? Date.parse(value.trim())
            : NaN;
      if (!Number.isFinite(ms)) throw wrong();
      return ms / DAY_MS;
    }
    default:
      throw new FeatureError(feature.name, `Feature "${feature.name}" is not numeric.`);
  }
}

/** The category a STRING/CATEGORY value stands for, or null when missing (null or blank). */
export function categoryValue(feature: FeatureSpec, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') {
    return String(value);
  }
  throw new FeatureError(
    feature.name,
    `Feature "${feature.name}" (${feature.type}) has a value of the wrong type: ${describe(value)}.`,
  );
}

/** Rows are counted from 1 in messages, as upload errors count lines. */
function cell(feature: FeatureSpec, row: Record<string, unknown>, index: number): unknown {
  if (row === null || typeof row !== 'object' || !(feature.name in row)) {
    throw new FeatureError(feature.name, `Row ${index + 1} has no feature "${feature.name}".`);
  }
  return row[feature.name];
}

/** `read` of row `index`'s value of a feature; an error about the value names the row. */
function valueAt<T>(
  feature: FeatureSpec,
  row: Record<string, unknown>,
  index: number,
  read: (feature: FeatureSpec, value: unknown) => T,
): T {
  const value = cell(feature, row, index);
  try {
    return read(feature, value);
  } catch (error) {
    if (!(error instanceof FeatureError)) throw error;
    throw new FeatureError(error.feature, `Row ${index + 1}: ${error.message}`);
  }
}

/** The text a free-text feature's value stands for ('' when missing). */
export function textValue(feature: FeatureSpec, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  throw new FeatureError(
    feature.name,
    `Feature "${feature.name}" is text and has a value of another type (${typeof value}).`,
  );
}

function fitColumn(feature: FeatureSpec, rows: Array<Record<string, unknown>>): ColumnTransform {
  if (feature.text) {
    if (feature.type !== 'STRING')
      throw new FeatureError(
        feature.name,
        `Feature "${feature.name}" is ${feature.type}; only a STRING feature can be read as text.`,
      );
    rows.forEach((row, i) => {
      valueAt(feature, row, i, textValue);
    });
    return { kind: 'hashed-text', name: feature.name, type: feature.type, buckets: TEXT_BUCKETS };
  }
  if (isCategorical(feature.type)) {
    const counts = new Map<string, number>();
    rows.forEach((row, i) => {
      const v = categoryValue(feature, cell(feature, row, i));
      if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
    });
    const categories = [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, MAX_CATEGORIES)
      .map(([v]) => v);
    return { kind: 'one-hot', name: feature.name, type: feature.type, categories };
  }
  let n = 0;
  let sum = 0;
  const values: number[] = [];
  rows.forEach((row, i) => {
    const v = numericValue(feature, cell(feature, row, i));
    if (v !== null) {
      n++;
      sum += v;
      values.push(v);
    }
  });
  const mean = n ? sum / n : 0;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const std = n ? Math.sqrt(ss / n) : 0;
  return {
    kind: 'numeric',
    name: feature.name,
    type: feature.type,
    mean,
    std: std > 1e-12 ? std : 1,
  };
}

/**
 * The fitted feature pipeline: numeric-like columns mean-imputed then standardized, STRING and
 * CATEGORY columns one-hot encoded over the training categories plus a missing indicator, and
 * free-text features (`FeatureSpec.text`) as hashed word, bigram and character-trigram vectors.
 */
export class Preprocessor {
  private constructor(readonly state: PreprocessingState) {}

  /** Fits on `rows`, which must be training rows only; throws FeatureError on bad values. */
  static fit(features: FeatureSpec[], rows: Array<Record<string, unknown>>): Preprocessor {
    const columns = features.map((f) => fitColumn(f, rows));
    const outputNames = columns.flatMap((c) =>
      c.kind === 'numeric'
        ? [c.name]
        : c.kind === 'hashed-text'
          ? Array.from({ length: c.buckets }, (_, j) => `${c.name}#${j}`)
          : [...c.categories.map((v) => `${c.name}=${v}`), `${c.name}=${MISSING}`],
    );
    return new Preprocessor({ columns, outputNames });
  }

  static fromJSON(state: PreprocessingState): Preprocessor {
    return new Preprocessor(state);
  }

  toJSON(): PreprocessingState {
    return this.state;
  }

  /** Number of model inputs. */
  get width(): number {
    return this.state.outputNames.length;
  }

  /** Throws FeatureError naming the feature for an absent column or a wrongly typed value. */
  transform(rows: Array<Record<string, unknown>>): Matrix {
    const cols = this.width;
    const data = new Float32Array(rows.length * cols);
    let offset = 0;
    for (const column of this.state.columns) {
      const spec = { name: column.name, type: column.type };
      if (column.kind === 'numeric') {
        for (let i = 0; i < rows.length; i++) {
          const v = valueAt(spec, rows[i]!, i, numericValue);
          data[i * cols + offset] = v === null ? 0 : (v - column.mean) / column.std;
        }
        offset += 1;
      } else if (column.kind === 'hashed-text') {
        for (let i = 0; i < rows.length; i++)
          hashText(valueAt(spec, rows[i]!, i, textValue), column.buckets, data, i * cols + offset);
        offset += column.buckets;
      } else {
        const index = new Map(column.categories.map((c, j) => [c, j]));
        const missing = column.categories.length;
        for (let i = 0; i < rows.length; i++) {
          const v = valueAt(spec, rows[i]!, i, categoryValue);
          const j = v === null ? missing : index.get(v);
          if (j !== undefined) data[i * cols + offset + j] = 1;
        }
        offset += missing + 1;
      }
    }
    return { data, rows: rows.length, cols };
  }
}
