import { describe, expect, it } from 'vitest';
import { DatasetInputError, describeValue } from '../../src/datasets/input-error';
import { PesoError } from '../../src/errors';

describe('DatasetInputError', () => {
  it('leads the message with line and column and keeps them as fields', () => {
    const error = new DatasetInputError('BAD_VALUE', `${describeValue('abc')} is not a FLOAT`, {
      line: 17,
      column: 'price',
    });
    expect(error.message).toBe('Line 17, column "price": "abc" is not a FLOAT');
    expect(error).toMatchObject({
      reason: 'BAD_VALUE',
      line: 17,
      column: 'price',
      code: 'BAD_USER_INPUT',
    });
    expect(error).toBeInstanceOf(PesoError);
    expect(error.name).toBe('DatasetInputError');
  });

  it('reads as a sentence without a location, or with only one part of it', () => {
    expect(new DatasetInputError('EMPTY_FILE', 'the file is empty').message).toBe(
      'The file is empty',
    );
    expect(new DatasetInputError('RAGGED_ROW', 'expected 2 fields', { line: 3 }).message).toBe(
      'Line 3: expected 2 fields',
    );
    expect(new DatasetInputError('BAD_VALUE', 'bad', { column: 'a "b"' }).message).toBe(
      'Column "a \\"b\\"": bad',
    );
    const bare = new DatasetInputError('TOO_LARGE', 'too big');
    expect(bare.line).toBeUndefined();
    expect(bare.column).toBeUndefined();
  });
});

describe('describeValue', () => {
  it('quotes values and cuts them to 40 characters', () => {
    expect(describeValue('short')).toBe('"short"');
    expect(describeValue(12.5)).toBe('"12.5"');
    expect(describeValue('y'.repeat(41))).toBe(`"${'y'.repeat(40)}…"`);
    expect(describeValue('line\nbreak')).toBe('"line\\nbreak"');
  });

  it('names nothing of a hidden value', () => {
    expect(describeValue('4111 1111 1111 1111', true)).toBe('the value');
  });
});
