import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect } from 'vitest';
import { DatasetInputError, type DatasetInputReason } from '../../src/datasets/input-error';
import { type ParseOptions, parseFile, type RawRow } from '../../src/datasets/parse';

/** Bytes handed over in chunks of `chunkSize` (the whole buffer at once by default). */
export async function* chunked(bytes: Uint8Array, chunkSize = bytes.byteLength || 1) {
  for (let i = 0; i < bytes.byteLength; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function fromText(text: string, chunkSize?: number): AsyncIterable<Uint8Array> {
  return chunked(bytesOf(text), chunkSize);
}

/** Parses and drains a file (text, bytes or a ready source), returning its columns and rows. */
export async function parseAll(
  input: string | Uint8Array | AsyncIterable<Uint8Array>,
  options: ParseOptions,
  chunkSize?: number,
): Promise<{ columns: string[]; rows: RawRow[]; batches: number; bytes: number }> {
  const source =
    typeof input === 'string'
      ? chunked(bytesOf(input), chunkSize)
      : input instanceof Uint8Array
        ? chunked(input, chunkSize)
        : input;
  const file = await parseFile(source, options);
  const rows: RawRow[] = [];
  let batches = 0;
  for await (const batch of file.rows) {
    batches++;
    rows.push(...batch);
  }
  expect(file.stats().rows).toBe(rows.length);
  return { columns: file.columns, rows, batches, bytes: file.stats().bytes };
}

/** The rows as plain arrays of values, for compact expectations. */
export function valuesOf(rows: RawRow[]): RawRow['values'][] {
  return rows.map((row) => row.values);
}

/** Asserts that `promise` rejects with a DatasetInputError with these facts; returns it. */
export async function expectInputError(
  promise: Promise<unknown>,
  expected: { reason: DatasetInputReason; line?: number; column?: string },
): Promise<DatasetInputError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a ${expected.reason} error, got success`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetInputError);
  const inputError = error as DatasetInputError;
  expect({ reason: inputError.reason, line: inputError.line, column: inputError.column }).toEqual({
    reason: expected.reason,
    line: expected.line,
    column: expected.column,
  });
  return inputError;
}

/** A file of the vega-datasets package, whose exports do not reach its data folder. */
export function vegaFile(name: string): Uint8Array {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return readFileSync(join(entry, '../../data', name));
}
