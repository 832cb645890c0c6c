import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database, Db } from '../../db/client';
import { type DatasetPolicy, datasetPolicies } from '../../db/schema/access';
import type { ApiKey, Membership } from '../../db/schema/auth';
import {
  type Dataset,
  type DatasetColumn,
  type DatasetVersion,
  datasetColumns,
  datasets,
  datasetVersions,
} from '../../db/schema/datasets';
import type { EventBus } from '../events/bus';

/**
 * Process-local caches of what the access checks read on every request, and how they stay
 * true across API processes.
 *
 * - Columns of a version (name, type, position) never change, but a column's sensitivity can
 *   (`setColumnSensitivity`), so they are dropped on that change; a version's dataset and org
 *   never change. Both live until their dataset is deleted or changed.
 * - The policies of a dataset and an API key's row (looked up by prefix; the secret is still
 *   hashed and compared on every request) live until a change to them commits; so does a
 *   membership (role and attributes) a signed token names.
 * - A dataset's row and its latest version (what `openGate` starts from) live until the dataset
 *   is updated, gains a version or is deleted; its other versions (immutable rows) with it.
 * - Pages of the datasets list live until any access change (creating a dataset is one).
 *
 * Every such change bumps `access_epoch` in the transaction that makes it, then, after commit,
 * drops the entries here and publishes `accessChanges` on the bus so other processes drop theirs
 * at once. The bus alone could be late: on PostgreSQL every request therefore reads the epoch
 * first (one prepared statement, `syncAccessCache`) and drops everything when it has moved past
 * the changes this process has heard of. So no cache serves a revoked key or an old policy to a
 * request that starts after the change commits, on any process. PGlite is one process: changes
 * are dropped here before the mutation returns, and no epoch is read.
 */
export type AccessChange =
  | { kind: 'apiKey'; apiKeyId: string }
  /** A membership's role or attributes changed, or it was removed. */
  | { kind: 'membership'; membershipId: string }
  | { kind: 'policies'; datasetId: string }
  | { kind: 'columns'; datasetId: string }
  /** The dataset's row changed or it gained a version. */
  | { kind: 'versions'; datasetId: string }
  | { kind: 'dataset'; datasetId: string };

/** What travels on the bus: the epoch the change committed as, and what it changed. */
export interface AccessChangeEvent {
  epoch: number;
  changes: AccessChange[];
}

/** The bus topic, on the bus's own publish/subscribe. */
export const ACCESS_CHANGES_TOPIC = 'accessChanges';

/** Above this many entries a map is emptied rather than grown (it refills from the database). */
const MAX_ENTRIES = 10_000;
/** How often API keys' last use is written (one statement for all keys used meanwhile). */
const LAST_USED_FLUSH_MS = 5_000;
/** A key's last use is rewritten only when the stored one is older than this. */
const LAST_USED_RESOLUTION_SECONDS = 60;

interface VersionOwner {
  datasetId: string;
  orgId: string;
}

/** A dataset's row, its latest version, and the versions looked up by id or number since. */
interface DatasetEntry {
  dataset: Dataset;
  latest: DatasetVersion;
  versions: DatasetVersion[];
}

class AccessCache {
  /** Bumped by every drop: a fill that began under another generation is not stored. */
  generation = 0;
  /** The database epoch this process's entries are consistent with (null: not read yet). */
  epoch: number | null = null;
  readonly keys = new Map<string, ApiKey>();
  /** Memberships by `userId:orgId`, as a signed token names them. */
  readonly memberships = new Map<string, Membership>();
  readonly policies = new Map<string, DatasetPolicy[]>();
  readonly columns = new Map<string, DatasetColumn[]>();
  readonly owners = new Map<string, VersionOwner>();
  readonly datasets = new Map<string, DatasetEntry>();
  /**
   * Pages of the datasets list (`listDatasets`) by org, viewer kind and page: every change to
   * what a page shows (a dataset created, updated, deleted or given a version, a policy) is an
   * access change, and any access change drops them all.
   */
  readonly pages = new Map<string, unknown>();
  /** API keys used since the last flush of `last_used_at`. */
  readonly used = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  listening = false;

  constructor(readonly database: Database) {}

  clear(): void {
    this.generation++;
    this.keys.clear();
    this.memberships.clear();
    this.policies.clear();
    this.columns.clear();
    this.owners.clear();
    this.datasets.clear();
    this.pages.clear();
  }

  /** Drops what the changes touch, and takes note of the epoch they committed as. */
  apply(event: AccessChangeEvent): void {
    this.generation++;
    this.pages.clear();
    for (const change of event.changes) {
      if (change.kind === 'apiKey') {
        for (const [prefix, key] of this.keys)
          if (key.id === change.apiKeyId) this.keys.delete(prefix);
      } else if (change.kind === 'membership') {
        for (const [who, membership] of this.memberships)
          if (membership.id === change.membershipId) this.memberships.delete(who);
      } else if (change.kind === 'policies') {
        this.policies.delete(change.datasetId);
      } else if (change.kind === 'versions') {
        this.datasets.delete(change.datasetId);
      } else {
        // Rare (a sensitivity changed, a dataset deleted): every version's entries go, so that
        // none can outlive the change for want of knowing its dataset.
        this.policies.delete(change.datasetId);
        this.datasets.delete(change.datasetId);
        this.columns.clear();
        this.owners.clear();
      }
    }
    // Only the next epoch in sequence proves nothing in between was missed; otherwise the next
    // `sync` sees the gap and drops everything.
    if (this.epoch !== null && event.epoch === this.epoch + 1) this.epoch = event.epoch;
  }

  /** Stores `value` unless something was dropped since the fill began (it may be stale). */
  store<V>(map: Map<string, V>, generation: number, key: string, value: V): void {
    if (generation !== this.generation) return;
    if (map.size >= MAX_ENTRIES) map.clear();
    map.set(key, value);
  }

  markUsed(apiKeyId: string): void {
    this.used.add(apiKeyId);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      void this.flush().catch(() => {});
    }, LAST_USED_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Writes the last use of every key used since the last flush, in one statement. */
  flush(): Promise<void> {
    const ids = [...this.used];
    this.used.clear();
    if (ids.length === 0) return this.flushing;
    const write = async () => {
      await this.database.db.execute(
        sql`update api_keys set last_used_at = now()
            where id in (select unnest(${`{${ids.join(',')}}`}::uuid[]))
              and (last_used_at is null
                or last_used_at < now() - make_interval(secs => ${LAST_USED_RESOLUTION_SECONDS}))`,
      );
    };
    // A failed write loses those uses (a later use records them again); later flushes go on.
    this.flushing = this.flushing.then(write).catch(() => {});
    return this.flushing;
  }
}

const caches = new WeakMap<Db, AccessCache>();

/** The cache of the database behind `db`; null for a handle no context was built over. */
export function accessCacheOf(db: Db): AccessCache | null {
  return caches.get(db) ?? null;
}

/**
 * Registers the database (once) so its caches exist, and listens to the bus for changes made by
 * other processes. Called for every context; cheap after the first.
 */
export function bindAccessCache(database: Database, events: EventBus): AccessCache {
  let cache = caches.get(database.db);
  if (!cache) {
    cache = new AccessCache(database);
    caches.set(database.db, cache);
  }
  if (!cache.listening) {
    cache.listening = true;
    const own = cache;
    const bus = events as unknown as {
      subscribe(topic: string): AsyncIterable<AccessChangeEvent>;
    };
    void (async () => {
      try {
        for await (const event of bus.subscribe(ACCESS_CHANGES_TOPIC)) own.apply(event);
      } catch {
        // The bus closed: the epoch check still keeps the caches true.
      } finally {
        own.listening = false;
      }
    })();
  }
  return cache;
}

const EPOCH_SQL = 'select coalesce((select n from access_epoch where id = 1), 0)::int8 as n';

/**
 * Brings this process's caches up to the database's epoch: on PostgreSQL one prepared
 * statement; when the epoch moved past what this process heard of, every entry is dropped.
 * Nothing to do on PGlite (one process, dropped synchronously after each change).
 */
export async function syncAccessCache(cache: AccessCache): Promise<void> {
  const { database } = cache;
  if (database.kind !== 'postgres') return;
  const epoch = await readEpoch(database);
  if (epoch === cache.epoch) return;
  cache.clear();
  cache.epoch = epoch;
}

/** The database's access epoch now (PostgreSQL: one prepared statement). */
async function readEpoch(database: Database): Promise<number> {
  // PGlite is one process: its caches are dropped as changes happen, and it keeps no epoch.
  if (database.kind !== 'postgres') return 0;
  const [row] = await database.sql.unsafe<Array<{ n: string }>>(EPOCH_SQL, [], { prepare: true });
  return Number(row?.n ?? 0);
}

/**
 * A read that serves each caller with a result read after the call: concurrent callers share
 * reads. A read already under way began too early for a new caller, so the caller waits for the
 * next one, which starts when the running one ends and serves everyone who arrived meanwhile —
 * at most one read runs and one waits, whatever the number of callers.
 */
export function freshReads<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  let queued: Promise<T> | null = null;
  const start = (): Promise<T> => {
    const own: Promise<T> = read().finally(() => {
      if (running === own) running = null;
    });
    running = own;
    return own;
  };
  return () => {
    if (!running) return start();
    queued ??= running
      .catch(() => {})
      .then(() => {
        queued = null;
        return start();
      });
    return queued;
  };
}

const epochReads = new WeakMap<Database, () => Promise<number>>();

/**
 * The access epoch as read by a statement that began after this call, so it covers every change
 * committed before it; concurrent requests share such reads (`freshReads`).
 */
export function freshEpoch(database: Database): Promise<number> {
  let reads = epochReads.get(database);
  if (!reads) {
    reads = freshReads(() => readEpoch(database));
    epochReads.set(database, reads);
  }
  return reads();
}

/**
 * Brings the caches up to an epoch the request read at its start in another statement (the
 * address count's, `RateLimiter.checkAddress`), instead of reading it again. An epoch older
 * than the one already held changes nothing: entries true at a later epoch are true for a
 * request that started before it.
 */
export function adoptEpoch(cache: AccessCache, epoch: number): void {
  if (cache.epoch !== null && epoch <= cache.epoch) return;
  cache.clear();
  cache.epoch = epoch;
}

/**
 * On a request's context: its sync of the access caches, done or under way. An own property, so
 * that it travels when the server copies the context's properties into its own object (a set
 * of context objects would lose it there), and one promise, so that parallel first uses share
 * one read.
 */
const SYNC = Symbol('accessCacheSync');
type Syncable = { [SYNC]?: Promise<void> };

/** The request has read the epoch already (with its address count, or its API key). */
export function markSynced(ctx: object): void {
  (ctx as Syncable)[SYNC] = Promise.resolve();
}

/** The context's cache, synced once per context (jobs and signed uploads sync on first use). */
async function cacheFor(ctx: { db: Db }): Promise<AccessCache | null> {
  const cache = accessCacheOf(ctx.db);
  if (!cache) return null;
  const own = ctx as Syncable;
  own[SYNC] ??= syncAccessCache(cache).catch((error: unknown) => {
    delete own[SYNC];
    throw error;
  });
  await own[SYNC];
  return cache;
}

/**
 * The generation of the access caches for this request, after its epoch sync: it changes with
 * every access change this process hears of or finds (null without caches).
 */
export async function accessGeneration(ctx: { db: Db }): Promise<number | null> {
  const cache = await cacheFor(ctx);
  return cache ? cache.generation : null;
}

/** `bumpAccessEpoch` as one statement, for transactions run on the driver itself. */
export const BUMP_EPOCH_SQL =
  'insert into access_epoch (id, n) values (1, 1) on conflict (id) do update set n = access_epoch.n + 1 returning n';

/**
 * Inside the transaction that makes an access change: bumps the epoch (which also orders
 * concurrent changes) and returns it, for `accessChanged` after commit.
 */
export async function bumpAccessEpoch(tx: Pick<Db, 'execute'>): Promise<number> {
  const rows = (await tx.execute(sql.raw(BUMP_EPOCH_SQL))) as unknown as {
    rows?: Array<{ n: unknown }>;
  } & Array<{ n: unknown }>;
  const row = rows.rows?.[0] ?? rows[0];
  return Number(row?.n);
}

/**
 * After the change committed: drops this process's entries at once and tells every other
 * process through the bus.
 */
export function accessChanged(
  ctx: { db: Db; events: EventBus },
  epoch: number,
  changes: AccessChange[],
): void {
  const event: AccessChangeEvent = { epoch, changes };
  accessCacheOf(ctx.db)?.apply(event);
  (ctx.events as unknown as { publish(topic: string, e: AccessChangeEvent): void }).publish(
    ACCESS_CHANGES_TOPIC,
    event,
  );
}

/**
 * After a change committed by code with no bus at hand (a job's cleanup): drops this process's
 * entries at once; other processes drop theirs at their next request, which reads the epoch.
 */
export function accessChangedHere(db: Db, epoch: number, changes: AccessChange[]): void {
  accessCacheOf(db)?.apply({ epoch, changes });
}

/**
 * A page of the datasets list from the cache (brought up to the database's epoch first) or
 * read by `load` and kept until the next access change.
 */
export async function cachedPage<T>(
  ctx: { db: Db },
  key: string,
  load: () => Promise<T>,
): Promise<T> {
  const cache = await cacheFor(ctx);
  if (!cache) return load();
  const hit = cache.pages.get(key) as T | undefined;
  if (hit !== undefined) return hit;
  const generation = cache.generation;
  const page = await load();
  cache.store(cache.pages, generation, key, page);
  return page;
}

/**
 * The API key with this prefix, from the cache (brought up to the database's epoch first, unless
 * the request has `synced` it already) or the database; an absent key is never cached.
 */
export async function apiKeyByPrefix(
  db: Db,
  prefix: string,
  load: () => Promise<ApiKey | undefined>,
  synced = false,
): Promise<ApiKey | undefined> {
  const cache = accessCacheOf(db);
  if (!cache) return load();
  if (!synced) await syncAccessCache(cache);
  const hit = cache.keys.get(prefix);
  if (hit) return hit;
  const generation = cache.generation;
  const key = await load();
  if (key) cache.store(cache.keys, generation, prefix, key);
  return key;
}

/**
 * The membership of a user in an org, from the cache (brought up to the database's epoch first,
 * unless the request has `synced` it already) or the database; an absent one is never cached.
 */
export async function membershipOf(
  db: Db,
  userId: string,
  orgId: string,
  load: () => Promise<Membership | undefined>,
  synced = false,
): Promise<Membership | undefined> {
  const cache = accessCacheOf(db);
  if (!cache) return load();
  if (!synced) await syncAccessCache(cache);
  const who = `${userId}:${orgId}`;
  const hit = cache.memberships.get(who);
  if (hit) return hit;
  const generation = cache.generation;
  const membership = await load();
  if (membership) cache.store(cache.memberships, generation, who, membership);
  return membership;
}

/** Records that a key was used; written in batches (`LAST_USED_FLUSH_MS`). */
export function recordKeyUse(
  db: Db,
  apiKeyId: string,
  write: () => Promise<unknown>,
): Promise<unknown> {
  const cache = accessCacheOf(db);
  if (!cache) return write();
  cache.markUsed(apiKeyId);
  return Promise.resolve();
}

/** Writes pending last-use records now (before they are listed). */
export async function flushKeyUse(db: Db): Promise<void> {
  await accessCacheOf(db)?.flush();
}

/** Policies of each dataset, cached until a policy of it changes. */
export async function policiesOf(
  ctx: { db: Db },
  datasetIds: readonly string[],
): Promise<Map<string, DatasetPolicy[]>> {
  const out = new Map<string, DatasetPolicy[]>();
  const cache = await cacheFor(ctx);
  const missing = datasetIds.filter((id) => {
    const hit = cache?.policies.get(id);
    if (hit) out.set(id, hit);
    return !hit;
  });
  if (missing.length === 0) return out;
  const generation = cache?.generation ?? 0;
  const rows = await ctx.db
    .select()
    .from(datasetPolicies)
    .where(inArray(datasetPolicies.datasetId, [...new Set(missing)]));
  for (const id of missing) {
    const own = rows.filter((p) => p.datasetId === id);
    out.set(id, own);
    cache?.store(cache.policies, generation, id, own);
  }
  return out;
}

/**
 * The dataset and org of each version, and its stored columns in order; versions that do not
 * exist are absent. Cached until the dataset's columns change or it is deleted.
 */
export async function versionsWithColumns(
  ctx: { db: Db },
  versionIds: readonly string[],
): Promise<Map<string, VersionOwner & { columns: DatasetColumn[] }>> {
  const out = new Map<string, VersionOwner & { columns: DatasetColumn[] }>();
  const cache = await cacheFor(ctx);
  const missing: string[] = [];
  for (const id of new Set(versionIds)) {
    const owner = cache?.owners.get(id);
    const columns = cache?.columns.get(id);
    if (owner && columns) out.set(id, { ...owner, columns });
    else missing.push(id);
  }
  if (missing.length === 0) return out;
  const generation = cache?.generation ?? 0;
  const [owners, columns] = await Promise.all([
    ctx.db
      .select({
        id: datasetVersions.id,
        datasetId: datasetVersions.datasetId,
        orgId: datasets.orgId,
      })
      .from(datasetVersions)
      .innerJoin(datasets, sql`${datasets.id} = ${datasetVersions.datasetId}`)
      .where(inArray(datasetVersions.id, missing)),
    ctx.db
      .select()
      .from(datasetColumns)
      .where(inArray(datasetColumns.versionId, missing))
      .orderBy(datasetColumns.versionId, datasetColumns.position),
  ]);
  for (const o of owners) {
    const own = columns.filter((c) => c.versionId === o.id);
    const owner = { datasetId: o.datasetId, orgId: o.orgId };
    out.set(o.id, { ...owner, columns: own });
    if (cache) {
      cache.store(cache.owners, generation, o.id, owner);
      cache.store(cache.columns, generation, o.id, own);
    }
  }
  return out;
}

/** Which version of a dataset: by id, by number, or the latest when neither is given. */
export interface VersionTarget {
  datasetId: string;
  version?: number | null;
  versionId?: string | null;
}

/**
 * The dataset (whatever its org: the caller checks) and the version the target names, each
 * absent when it does not exist. Served from the cache until the dataset changes, gains a
 * version or is deleted; a dataset without versions is never cached.
 */
export async function datasetAndVersion(
  ctx: { db: Db },
  target: VersionTarget,
): Promise<{ dataset: Dataset | undefined; version: DatasetVersion | undefined }> {
  const cache = await cacheFor(ctx);
  const entry = cache?.datasets.get(target.datasetId);
  const pick = (list: readonly DatasetVersion[]) =>
    list.find(
      (v) =>
        (!target.versionId || v.id === target.versionId) &&
        (target.version == null || v.number === target.version),
    );
  if (entry) {
    if (!target.versionId && target.version == null)
      return { dataset: entry.dataset, version: entry.latest };
    const hit = pick([entry.latest, ...entry.versions]);
    if (hit) return { dataset: entry.dataset, version: hit };
  }
  const generation = cache?.generation ?? 0;
  const conditions = [eq(datasetVersions.datasetId, target.datasetId)];
  if (target.versionId) conditions.push(eq(datasetVersions.id, target.versionId));
  if (target.version != null) conditions.push(eq(datasetVersions.number, target.version));
  const named = Boolean(target.versionId) || target.version != null;
  const [[dataset], [version], [latest]] = await Promise.all([
    ctx.db.select().from(datasets).where(eq(datasets.id, target.datasetId)),
    ctx.db
      .select()
      .from(datasetVersions)
      .where(and(...conditions))
      .orderBy(desc(datasetVersions.number))
      .limit(1),
    // A named version's dataset is cached with its latest only when that one is known.
    entry || !named
      ? Promise.resolve([] as DatasetVersion[])
      : ctx.db
          .select()
          .from(datasetVersions)
          .where(eq(datasetVersions.datasetId, target.datasetId))
          .orderBy(desc(datasetVersions.number))
          .limit(1),
  ]);
  if (cache && dataset && version && generation === cache.generation) {
    const current = cache.datasets.get(target.datasetId);
    if (current) {
      if (!current.versions.some((v) => v.id === version.id) && current.latest.id !== version.id)
        current.versions.push(version);
    } else {
      const newest = named ? latest : version;
      if (newest)
        cache.store(cache.datasets, generation, target.datasetId, {
          dataset,
          latest: newest,
          versions: newest.id === version.id ? [] : [version],
        });
    }
  }
  return { dataset, version };
}
