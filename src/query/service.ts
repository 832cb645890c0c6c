import { and, desc, eq, lt } from 'drizzle-orm';
import { type QueryHistoryEntry, queryHistory } from '../../db/schema/queries';
import type { AuthedContext } from '../context';

/** The caller's own runs, newest first; `before` pages on by time. */
export async function listHistory(
  ctx: AuthedContext,
  page: { first: number; before: Date | null },
): Promise<QueryHistoryEntry[]> {
  const who = ctx.viewer.userId
    ? eq(queryHistory.userId, ctx.viewer.userId)
    : eq(queryHistory.apiKeyId, ctx.viewer.apiKeyId!);
  const conditions = [eq(queryHistory.orgId, ctx.viewer.orgId), who];
  if (page.before) conditions.push(lt(queryHistory.at, page.before));
  return ctx.db
    .select()
    .from(queryHistory)
    .where(and(...conditions))
    .orderBy(desc(queryHistory.at), desc(queryHistory.id))
    .limit(page.first);
}
