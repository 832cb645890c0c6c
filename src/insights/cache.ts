import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { insightsCache } from '../../db/schema/insights';
import { policyPredicate } from '../access/compile';
import type { Gate } from '../access/gate';
import { Params } from '../access/mask';
import type { AuthedContext } from '../context';

/**
 * What a viewer sees of a version, as one key: the access mode, every column's rule and the row
 * filter as compiled for this viewer (its SQL and bound values, so `$viewer.…` filters of two
 * people differ). Viewers with the same fingerprint read exactly the same values, so they may
 * share computed insights; anything else gets its own entry.
 */
export function visibilityFingerprint(ctx: AuthedContext, gate: Gate): string {
  const params = new Params();
  const predicate = policyPredicate(gate.access, ctx.viewer, params);
  return createHash('sha256')
    .update(
      JSON.stringify({
        version: gate.version.id,
        org: gate.dataset.orgId,
        mode: gate.access.mode,
        privacy: !!gate.access.privacy,
        columns: gate.access.columns.map((c) => [c.name, c.rule]),
        predicate,
        params: params.values,
      }),
    )
    .digest('hex');
}

/** Entries this process read or wrote lately, parsed: an entry never changes once written. */
const recent = new Map<string, unknown>();
const RECENT = 64;

function remember(id: string, payload: unknown) {
  recent.delete(id);
  recent.set(id, payload);
  if (recent.size > RECENT) recent.delete(recent.keys().next().value as string);
}

/** The entry of a version under a key (a fingerprint, or a fingerprint and a part). */
export async function readCache<T>(
  ctx: Pick<AuthedContext, 'db'>,
  versionId: string,
  key: string,
): Promise<T | null> {
  const id = `${versionId}/${key}`;
  if (recent.has(id)) {
    const payload = recent.get(id);
    remember(id, payload);
    return payload as T;
  }
  const [row] = await ctx.db
    .select({ payload: insightsCache.payload })
    .from(insightsCache)
    .where(and(eq(insightsCache.versionId, versionId), eq(insightsCache.fingerprint, key)));
  if (!row) return null;
  remember(id, row.payload);
  return row.payload as T;
}

/** Keeps an entry; a concurrent computation of the same key keeps the first one written. */
export async function writeCache(
  ctx: Pick<AuthedContext, 'db'>,
  versionId: string,
  key: string,
  payload: unknown,
): Promise<void> {
  const [kept] = await ctx.db
    .insert(insightsCache)
    .values({ versionId, fingerprint: key, payload })
    .onConflictDoNothing()
    .returning({ payload: insightsCache.payload });
  // The first entry written wins: a concurrent writer's is read back rather than remembered.
  if (kept) remember(`${versionId}/${key}`, kept.payload);
}
