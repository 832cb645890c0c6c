import { createHmac } from 'node:crypto';
import type { ColumnType } from '../../db/schema/datasets';
import { InputError } from '../errors';
import type { ColumnRule } from './policy';

/** What MASK shows instead of a value. */
export const MASKED = '***';

/** Collects bound parameters; every value reaches SQL as `$n::type`, never as text in it. */
export class Params {
  readonly values: Array<string | null> = [];
  bind(value: string | null, cast: string): string {
    // PostgreSQL text cannot hold NUL: refuse it here rather than fail inside the driver.
    if (value?.includes('\u0000'))
      throw new InputError('Values cannot contain NUL characters.', 'input');
    this.values.push(value);
    // Typed as text first, then cast: drivers then send the text as it is (postgres.js would
    // otherwise encode a boolean-typed parameter from the JS value, reading "true" as false).
    return cast === 'text'
      ? `$${this.values.length}::text`
      : `$${this.values.length}::text::${cast}`;
  }
}

/** SQL for a stored column's value as text in a stable, client-friendly form. */
export function textOf(expr: string, type: ColumnType): string {
  if (type === 'DATE') return `to_char(${expr}, 'YYYY-MM-DD')`;
  if (type === 'TIMESTAMP')
    return `to_char(${expr} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return `${expr}::text`;
}

/** SQL for a stored column's value as returned in clear: dates and times as ISO text. */
export function clearOf(expr: string, type: ColumnType): string {
  return type === 'DATE' || type === 'TIMESTAMP' ? textOf(expr, type) : expr;
}

/** The per-organization key of HASH, so hashes cannot be compared across organizations. */
export function hashKey(secret: string, orgId: string): Buffer {
  return createHmac('sha256', secret).update(`peso-column-hash:${orgId}`).digest();
}

/** HMAC-SHA256 of a value's text under `key`, hex: what HASH shows (for tests and clients). */
export function hashValue(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

/**
 * Builds the SQL expression that shows a column under a rule. HASH is an HMAC computed in SQL
 * from the key's inner and outer pads, bound once per query.
 */
export function maskedExpression(
  expr: string,
  type: ColumnType,
  rule: Exclude<ColumnRule, 'HIDE' | 'AGGREGATE_ONLY'>,
  params: Params,
  key: () => Buffer,
): string {
  if (rule === 'CLEAR') return clearOf(expr, type);
  const text = textOf(expr, type);
  if (rule === 'MASK') return `(case when ${expr} is null then null else '${MASKED}' end)`;
  if (rule === 'HASH') {
    const pads = hmacPads(key());
    const inner = params.bind(pads.inner, 'text');
    const outer = params.bind(pads.outer, 'text');
    return `(case when ${expr} is null then null else encode(sha256(decode(${outer}, 'hex') || sha256(decode(${inner}, 'hex') || convert_to(${text}, 'UTF8'))), 'hex') end)`;
  }
  // PARTIAL: an email keeps its first character and domain; anything else its last four
  // characters when it has more than four, else nothing.
  return `(case when ${expr} is null then null
    when position('@' in ${text}) > 1 then left(${text}, 1) || '${MASKED}' || substr(${text}, position('@' in ${text}))
    when length(${text}) > 4 then '${MASKED}' || right(${text}, 4)
    else '${MASKED}' end)`;
}

function hmacPads(key: Buffer): { inner: string; outer: string } {
  const block = Buffer.alloc(64);
  key.copy(block);
  const inner = Buffer.alloc(64);
  const outer = Buffer.alloc(64);
  for (let i = 0; i < 64; i++) {
    inner[i] = block[i]! ^ 0x36;
    outer[i] = block[i]! ^ 0x5c;
  }
  return { inner: inner.toString('hex'), outer: outer.toString('hex') };
}
