import { query } from '../../db/client';
import type { AuthedContext } from '../context';
import { QueryTimeoutError } from '../errors';

/** SQLSTATE of a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';

/** The statement timeout of the caller's role, in milliseconds (0: none). */
export function statementTimeoutMs(ctx: AuthedContext): number {
  const { queryTimeoutMs, queryTimeoutMsByRole } = ctx.config.limits;
  return queryTimeoutMsByRole[ctx.viewer.role] ?? queryTimeoutMs;
}

/**
 * Runs one statement of a dataset read under the caller's statement timeout: on PostgreSQL a
 * `SET LOCAL statement_timeout` in a transaction around it, so the timeout ends with the
 * statement and never leaks to the next user of the pooled connection. PGlite runs statements
 * on the API's own thread with no timer to cancel them: there the cost budget is the bound.
 */
export async function readRows<T = Record<string, unknown>>(
  ctx: AuthedContext,
  text: string,
  params: ReadonlyArray<string | null>,
): Promise<T[]> {
  const ms = statementTimeoutMs(ctx);
  const database = ctx.database;
  if (database.kind !== 'postgres' || ms === 0) return query<T>(database, text, params);
  database.stats.statements++;
  try {
    const [, rows] = await database.sql.begin((tx) => [
      tx.unsafe(`set local statement_timeout = ${Math.floor(ms)}`),
      tx.unsafe(text, [...params] as never[]),
    ]);
    return rows as unknown as T[];
  } catch (error) {
    if ((error as { code?: unknown }).code === QUERY_CANCELED)
      throw new QueryTimeoutError(
        `The query ran longer than ${ms} ms (the statement timeout for ${ctx.viewer.role}): filter it or aggregate fewer rows.`,
      );
    throw error;
  }
}
