import { type Database, query } from '../../db/client';
import type { Role } from '../../db/schema/auth';
import type { Viewer } from '../auth/viewer';

/** A credential recorded when a stream or socket opened: a membership or an API key. */
export interface Principal {
  membershipId: string | null;
  apiKeyId: string | null;
}

/** What a credential is now: its viewer, or why it no longer stands. */
export type Standing = { viewer: Viewer } | { denied: string };

export function principalKey(p: Principal): string {
  return p.apiKeyId ? `key:${p.apiKeyId}` : `member:${p.membershipId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Row {
  kind: 'API_KEY' | 'USER';
  id: string;
  org_id: string;
  role: Role;
  user_id: string | null;
  attributes: string;
  expires_ms: string | null;
  revoked: string;
}

/**
 * The credentials as they are now, all in one statement (API keys and memberships together):
 * what the periodic re-check of open streams and sockets reads, however many there are. Every
 * value comes back as text so both drivers decode it alike. A key that is gone, revoked or past
 * its expiry, and a membership that is gone, are denied.
 */
export async function currentStanding(
  database: Database,
  principals: Iterable<Principal>,
): Promise<Map<string, Standing>> {
  const keys = new Set<string>();
  const members = new Set<string>();
  for (const p of principals) {
    if (p.apiKeyId && UUID.test(p.apiKeyId)) keys.add(p.apiKeyId);
    else if (!p.apiKeyId && p.membershipId && UUID.test(p.membershipId))
      members.add(p.membershipId);
  }
  const out = new Map<string, Standing>();
  for (const id of keys) out.set(`key:${id}`, { denied: 'API key no longer exists.' });
  for (const id of members) out.set(`member:${id}`, { denied: 'Membership no longer exists.' });
  if (out.size === 0) return out;
  const rows = await query<Row>(
    database,
    `select 'API_KEY' as kind, id::text as id, org_id::text as org_id, role::text as role,
            null::text as user_id, '{}' as attributes,
            (extract(epoch from expires_at) * 1000)::bigint::text as expires_ms,
            (revoked_at is not null)::text as revoked
       from api_keys where id = any($1::uuid[])
     union all
     select 'USER', id::text, org_id::text, role::text, user_id::text, attributes::text,
            null::text, 'false'
       from memberships where id = any($2::uuid[])`,
    [`{${[...keys].join(',')}}`, `{${[...members].join(',')}}`],
  );
  const now = Date.now();
  for (const row of rows) {
    const expiresAt = row.expires_ms === null ? null : new Date(Number(row.expires_ms));
    if (row.kind === 'API_KEY') {
      const key = `key:${row.id}`;
      if (row.revoked === 'true') out.set(key, { denied: 'API key revoked.' });
      else if (expiresAt && expiresAt.getTime() <= now)
        out.set(key, { denied: 'API key expired.' });
      else
        out.set(key, {
          viewer: {
            kind: 'API_KEY',
            orgId: row.org_id,
            role: row.role,
            userId: null,
            apiKeyId: row.id,
            membershipId: null,
            attributes: {},
            expiresAt,
          },
        });
    } else {
      out.set(`member:${row.id}`, {
        viewer: {
          kind: 'USER',
          orgId: row.org_id,
          role: row.role,
          userId: row.user_id,
          apiKeyId: null,
          membershipId: row.id,
          attributes: JSON.parse(row.attributes) as Record<string, string>,
          expiresAt: null,
        },
      });
    }
  }
  return out;
}

/** Lookups asked for in the same turn of the event loop, by database. */
const batches = new Map<
  Database,
  Map<string, { principal: Principal; waiters: Array<(s: Standing | Error) => void> }>
>();

/**
 * One credential's standing, looked up together with every other asked for in the same turn of
 * the event loop: the checks an event triggers for many viewers become one statement.
 */
export function standingOf(database: Database, principal: Principal): Promise<Standing> {
  let batch = batches.get(database);
  if (!batch) {
    const pending = new Map<
      string,
      { principal: Principal; waiters: Array<(s: Standing | Error) => void> }
    >();
    batch = pending;
    batches.set(database, pending);
    setImmediate(() => {
      batches.delete(database);
      currentStanding(
        database,
        [...pending.values()].map((p) => p.principal),
      ).then(
        (found) => {
          for (const [key, { waiters }] of pending)
            for (const w of waiters) w(found.get(key) ?? { denied: 'Unknown credential.' });
        },
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          for (const { waiters } of pending.values()) for (const w of waiters) w(failure);
        },
      );
    });
  }
  const key = principalKey(principal);
  let entry = batch.get(key);
  if (!entry) {
    entry = { principal, waiters: [] };
    batch.set(key, entry);
  }
  const { waiters } = entry;
  return new Promise<Standing>((resolve, reject) => {
    waiters.push((s) => (s instanceof Error ? reject(s) : resolve(s)));
  });
}
