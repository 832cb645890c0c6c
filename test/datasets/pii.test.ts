import { describe, expect, it } from 'vitest';
import { createInferrer } from '../../src/datasets/infer';
import type { RawRow, RawValue } from '../../src/datasets/parse';
import { createPiiDetector, type PiiKind } from '../../src/datasets/pii';

/** Runs inference and detection over one column, as ingestion would. */
function detect(name: string, values: RawValue[]): PiiKind | null {
  const rows: RawRow[] = values.map((v, i) => ({ line: i + 2, values: [v] }));
  const inferrer = createInferrer([name]);
  const detector = createPiiDetector([name]);
  inferrer.observe(rows);
  detector.observe(rows);
  return detector.finish(inferrer.finish())[0]!.kind;
}

const FIRST = [
  'Mary',
  'James',
  'Linda',
  'Robert',
  'Susan',
  'David',
  'Karen',
  'Thomas',
  'Nancy',
  'Daniel',
  'Lisa',
  'Paul',
];
const LAST = ['Smith', 'Johnson', 'Garcia', 'Miller', "O'Brien", 'Davis', 'Martínez', 'Lee'];

describe('createPiiDetector', () => {
  it('flags email columns, tolerating a few bad values', () => {
    const emails = FIRST.map((f, i) => `${f.toLowerCase()}.${i}@example.co.uk`);
    expect(detect('contact', [...emails, 'n/a', 'unknown'])).toBe('EMAIL');
    expect(detect('contact', ['a@b', 'user@localhost', 'plain text', 'x@y.z'])).toBeNull();
  });

  it('flags phone numbers in E.164 and national formats', () => {
    const phones = [
      '+14155552671',
      '(415) 555-2671',
      '415-555-2671',
      '+44 20 7946 0958',
      '020 7946 0958',
      '+33 1 23 45 67 89',
      '555.123.4567',
      '+49 (0)30 1234567',
    ];
    expect(detect('phone', phones)).toBe('PHONE');
  });

  it('does not take bare digit runs, prices, years or dates for phones', () => {
    expect(detect('code', ['0412345678', '0498765432', '0455555555', '0411111111'])).toBeNull();
    expect(detect('price', ['12.50', '3.99', '1,299.00', '0.5'])).toBeNull();
    expect(detect('year', ['1999', '2004', '2010', '2023'])).toBeNull();
    expect(detect('when', ['2024-01-02', '2023-12-31', '2022-06-15'])).toBeNull();
    expect(detect('version', ['1.2.3', '10.4.1', '2.0.11'])).toBeNull();
  });

  it('flags IPv4 and IPv6 addresses', () => {
    expect(detect('client', ['192.168.0.1', '10.0.0.254', '8.8.8.8', '2001:db8::1', '::1'])).toBe(
      'IP_ADDRESS',
    );
    expect(detect('client', ['999.1.1.1', '1.2.3', 'localhost'])).toBeNull();
  });

  it('flags card numbers that pass the Luhn check, as text or as integers', () => {
    const cards = [
      '4111 1111 1111 1111',
      '5500-0000-0000-0004',
      '340000000000009',
      '6011000000000004',
    ];
    expect(detect('card', cards)).toBe('PAYMENT_CARD');
    expect(detect('pan', [340000000000009, 378282246310005, 371449635398431])).toBe('PAYMENT_CARD');
    expect(
      detect('card', ['4111 1111 1111 1112', '5500-0000-0000-0005', '1234567890123']),
    ).toBeNull();
    expect(detect('card', ['0000000000000000', '0000 0000 0000 0000'])).toBeNull();
  });

  it('does not flag plain integer or numeric columns', () => {
    expect(
      detect(
        'n',
        Array.from({ length: 50 }, (_, i) => 1000 + i * 37),
      ),
    ).toBeNull();
    expect(
      detect(
        'id',
        Array.from({ length: 50 }, (_, i) => `${4_000_000_000_000 + i}`),
      ),
    ).toBeNull();
  });

  it('flags full names and first names starting with a known first name', () => {
    const full = FIRST.map((f, i) => `${f} ${LAST[i % LAST.length]}`);
    expect(detect('col_7', full)).toBe('PERSON_NAME');
    expect(
      detect(
        'col_8',
        FIRST.map((f, i) => `${LAST[i % LAST.length]}, ${f}`),
      ),
    ).toBe('PERSON_NAME');
    expect(detect('col_9', ['Dr. Mary Smith', 'Mr James Lee', ...full])).toBe('PERSON_NAME');
    expect(
      detect(
        'col_10',
        FIRST.map((f) => f.toUpperCase()),
      ),
    ).toBe('PERSON_NAME');
  });

  it('needs more evidence for names without a people-like column name', () => {
    const few = ['Mary Smith', 'James Lee', 'Linda Davis', 'Mary Smith'];
    expect(detect('col_1', few)).toBeNull();
    expect(detect('customer', few)).toBe('PERSON_NAME');
  });

  it('does not flag a people-like column name whose values are not names', () => {
    expect(
      detect('name', ['chevrolet chevelle malibu', 'ford torino', 'buick skylark 320']),
    ).toBeNull();
    expect(detect('username', ['xq_42', 'zz-top', 'blob77', 'qwerty'])).toBeNull();
    expect(detect('name', ['Widget', 'Gadget', 'Sprocket', 'Flange'])).toBeNull();
  });

  it('does not flag label columns that happen to contain a few name-like words', () => {
    const labels = ['Rose', 'Grant', 'Hope', 'Dream', 'Summit', 'Harbor'];
    expect(
      detect(
        'project',
        Array.from({ length: 60 }, (_, i) => labels[i % labels.length]!),
      ),
    ).toBeNull();
  });

  it('flags free text that embeds identifiers in a few percent of values', () => {
    const notes = Array.from({ length: 100 }, (_, i) =>
      i % 20 === 0
        ? `Customer asked to be called back on +1 415 555 ${String(1000 + i).slice(-4)} tomorrow`
        : i % 20 === 7
          ? `Sent the invoice copy to jane.doe${i}@example.com as requested`
          : `Routine follow-up number ${i}, nothing unusual to report here`,
    );
    expect(detect('notes', notes)).toBe('FREE_TEXT_PII');
    const withIp = notes.map((n, i) =>
      i % 20 === 0 ? `Login failed from 203.0.113.${i} twice` : n,
    );
    expect(detect('notes', withIp)).toBe('FREE_TEXT_PII');
  });

  it('does not flag free text without identifiers, or short texts', () => {
    const notes = Array.from(
      { length: 100 },
      (_, i) => `Routine follow-up number ${i}, nothing to report`,
    );
    expect(detect('notes', notes)).toBeNull();
    expect(detect('code', ['ok', 'ok a@b.co', 'no'])).toBeNull();
  });

  it('never flags dates, booleans or floats', () => {
    expect(detect('email', ['true', 'false'])).toBeNull();
    expect(detect('phone', ['1.5', '2.25'])).toBeNull();
    expect(detect('ip', ['2024-01-01 10:00', '2024-01-02 11:00'])).toBeNull();
  });

  it('aligns verdicts with columns and ignores nulls', () => {
    const columns = ['email', 'n', 'empty'];
    const rows: RawRow[] = Array.from({ length: 20 }, (_, i) => ({
      line: i + 2,
      values: [i % 2 ? null : `user${i}@example.org`, i, null],
    }));
    const inferrer = createInferrer(columns);
    const detector = createPiiDetector(columns);
    inferrer.observe(rows);
    detector.observe(rows);
    expect(detector.finish(inferrer.finish())).toEqual([
      { kind: 'EMAIL' },
      { kind: null },
      { kind: null },
    ]);
  });

  it('stops looking after 2000 values per column', () => {
    const detector = createPiiDetector(['v']);
    const emails: RawRow[] = Array.from({ length: 2000 }, (_, i) => ({
      line: i + 2,
      values: [`u${i}@example.com`],
    }));
    const junk: RawRow[] = Array.from({ length: 5000 }, (_, i) => ({
      line: i + 2002,
      values: ['junk'],
    }));
    detector.observe(emails);
    detector.observe(junk);
    const types = [{ name: 'v', type: 'STRING' as const, nullable: false, distinctEstimate: 2001 }];
    expect(detector.finish(types)).toEqual([{ kind: 'EMAIL' }]);
  });
});
