import { PesoError } from '../errors';

/** Why an uploaded file was rejected; stable tags clients can switch on. */
export type DatasetInputReason =
  | 'EMPTY_FILE'
  | 'RAGGED_ROW'
  | 'UNTERMINATED_QUOTE'
  | 'INVALID_UTF8'
  | 'BINARY_DATA'
  | 'DUPLICATE_COLUMN'
  | 'EMPTY_COLUMN_NAME'
  | 'UNKNOWN_COLUMN'
  | 'TOO_LARGE'
  | 'BAD_VALUE'
  | 'BAD_JSON';

export interface DatasetInputLocation {
  /** 1-based physical line in the file, the header line included. */
  line?: number;
  column?: string;
}

/** Longest slice of a raw value that may appear in a message. */
const MAX_VALUE_CHARS = 40;

/**
 * A problem with the contents of an uploaded file, phrased for the person who uploaded it.
 * The message leads with where the problem is (`Line 17, column "price": …`) so it reads well
 * on its own; `line`, `column` and `reason` carry the same facts for machines.
 */
export class DatasetInputError extends PesoError {
  readonly code = 'BAD_USER_INPUT';
  readonly reason: DatasetInputReason;
  readonly line?: number;
  readonly column?: string;

  /** `problem` is the sentence after the location, e.g. `"abc" is not a FLOAT`. */
  constructor(reason: DatasetInputReason, problem: string, location: DatasetInputLocation = {}) {
    super(withLocation(problem, location));
    this.name = 'DatasetInputError';
    this.reason = reason;
    if (location.line !== undefined) this.line = location.line;
    if (location.column !== undefined) this.column = location.column;
  }
}

/**
 * How a raw value is named inside a message: quoted and cut to ~40 characters, or, when
 * `hide` is set because the column is sensitive, just "the value" so nothing of it leaks
 * into logs or error reports.
 */
export function describeValue(value: unknown, hide = false): string {
  if (hide) return 'the value';
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
  return JSON.stringify(cut);
}

function withLocation(problem: string, { line, column }: DatasetInputLocation): string {
  const parts: string[] = [];
  if (line !== undefined) parts.push(`Line ${line}`);
  if (column !== undefined) parts.push(`column ${JSON.stringify(column)}`);
  if (parts.length === 0) return capitalize(problem);
  return `${capitalize(parts.join(', '))}: ${problem}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
