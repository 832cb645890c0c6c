import { createClient } from 'redis';
import { type Database, isDatabaseUnavailable } from '../../db/client';
import { freshEpoch } from '../access/cache';
import type { Viewer } from '../auth/viewer';
import type { RateLimitConfig } from '../config';
import { RateLimitedError } from '../errors';
import { errorSummary, type Logger } from '../log';

/**
 * Where counters live so that every API process sees the same ones: PostgreSQL by default,
 * Redis when `REDIS_URL` is set (request counters on PGlite: the process's memory, see
 * `memoryHits`). Each operation is one atomic statement or script.
 */
interface LimitStore {
  /**
   * Counts hits on each key in its current window (one each, or `by[i]` on `keys[i]`): its hits
   * so far and ms until it ends.
   */
  hit(
    keys: string[],
    windowMs: number,
    by?: number[],
  ): Promise<Array<{ hits: number; remainingMs: number }>>;
  /**
   * `hit`, also reading the database's access epoch in the same statement (src/access/cache.ts)
   * where the counters live in PostgreSQL: the request then needs no statement of its own for it.
   */
  hitReadingEpoch?(
    keys: string[],
    windowMs: number,
    by?: number[],
  ): Promise<{ counts: Array<{ hits: number; remainingMs: number }>; epoch: number }>;
  /** Milliseconds until every key may try to sign in again (0: now). */
  blockedFor(keys: string[]): Promise<number>;
  /** Counts a failed sign-in on `key`; past `free` failures each one doubles the wait. */
  fail(key: string, free: number, baseMs: number, maxMs: number): Promise<void>;
  clear(key: string): Promise<void>;
  sweep(windowMs: number): Promise<void>;
  close(): Promise<void>;
}

/** How long a credential's hits far below its limit are held back before they are written. */
const BATCH_MS = 100;
/** Credentials whose counts are held here at most (the map is emptied rather than grown). */
const MAX_HELD = 100_000;

/** A failure streak is forgotten after this long without a new failure. */
const FAILURES_FORGOTTEN_MS = 60 * 60 * 1000;

/**
 * Runs a counter statement on the driver itself. Counting is the same fixed cost on every
 * request, not something the request reads, so it stays out of `database.stats`, which the N+1
 * checks use to count what a request reads.
 */
async function run<T>(database: Database, text: string, params: string[] = []): Promise<T[]> {
  if (database.kind === 'pglite') return (await database.pglite.query<T>(text, params)).rows;
  // Prepared once per connection: one round trip per count instead of two.
  return (await database.sql.unsafe(text, params, { prepare: true })) as unknown as T[];
}

/** `{ key: hits to add }` as JSON, for the counting statement. */
function amounts(keys: string[], by?: number[]): string {
  return JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, by?.[i] ?? 1])));
}

function sqlStore(database: Database): LimitStore {
  const now = 'clock_timestamp()';
  const nextFailures = `case when t.last_failure_at < ${now} - ${FAILURES_FORGOTTEN_MS} * interval '1 ms' then 1 else t.failures + 1 end`;
  const waitMs = (failures: string) =>
    `least($4::bigint, case when ${failures} > $2::int then $3::bigint * power(2, least(${failures} - $2::int - 1, 40)) else 0 end)`;
  // The window is aligned on the database clock so that every process agrees on it.
  const hitSql = (returning: string) =>
    `with w as (select (floor(extract(epoch from ${now}) * 1000 / $2::bigint) * $2::bigint)::bigint as start)
     insert into rate_limits as r (key, window_start, hits)
     select k.key, w.start, k.value::int from json_each_text($1::json) as k, w
     on conflict (key) do update set
       hits = case when r.window_start = excluded.window_start then r.hits + excluded.hits else excluded.hits end,
       window_start = excluded.window_start
     returning key, hits, (window_start + $2::bigint - extract(epoch from ${now}) * 1000)::bigint::text as remaining_ms${returning}`;
  const HIT_SQL = hitSql('');
  const HIT_EPOCH_SQL = hitSql(
    ', (select coalesce((select n from access_epoch where id = 1), 0))::int8::text as epoch',
  );
  type Row = { key: string; hits: number; remaining_ms: string; epoch?: string };
  const counted = (keys: string[], rows: Row[]) => {
    const byKey = new Map(rows.map((r) => [r.key, r]));
    return keys.map((k) => ({
      hits: Number(byKey.get(k)?.hits ?? 0),
      remainingMs: Math.max(0, Number(byKey.get(k)?.remaining_ms ?? 0)),
    }));
  };
  return {
    async hit(keys, windowMs, by) {
      const rows = await run<Row>(database, HIT_SQL, [amounts(keys, by), String(windowMs)]);
      return counted(keys, rows);
    },
    async hitReadingEpoch(keys, windowMs, by) {
      const rows = await run<Row>(database, HIT_EPOCH_SQL, [amounts(keys, by), String(windowMs)]);
      return { counts: counted(keys, rows), epoch: Number(rows[0]?.epoch ?? 0) };
    },
    async blockedFor(keys) {
      const [row] = await run<{ ms: string | null }>(
        database,
        `select ceil(extract(epoch from max(blocked_until) - ${now}) * 1000)::bigint::text as ms
         from login_throttles where key in (select json_array_elements_text($1::json))`,
        [JSON.stringify(keys)],
      );
      return Math.max(0, Number(row?.ms ?? 0));
    },
    async fail(key, free, baseMs, maxMs) {
      await run(
        database,
        `insert into login_throttles as t (key, failures, blocked_until, last_failure_at)
         values ($1, 1, ${now} + ${waitMs('1')} * interval '1 ms', ${now})
         on conflict (key) do update set
           failures = ${nextFailures},
           blocked_until = ${now} + ${waitMs(nextFailures)} * interval '1 ms',
           last_failure_at = ${now}`,
        [key, String(free), String(baseMs), String(maxMs)],
      );
    },
    async clear(key) {
      await run(database, 'delete from login_throttles where key = $1', [key]);
    },
    async sweep(windowMs) {
      await run(
        database,
        `delete from rate_limits where window_start < extract(epoch from ${now}) * 1000 - 2 * $1::bigint`,
        [String(windowMs)],
      );
      await run(
        database,
        `delete from login_throttles where blocked_until < ${now}
           and last_failure_at < ${now} - ${FAILURES_FORGOTTEN_MS} * interval '1 ms'`,
      );
    },
    close: async () => {},
  };
}

/**
 * Request counters in this process's memory, for PGlite: the database belongs to one process,
 * so memory is as shared as its tables (every server over the same database object counts
 * together), and each request saves a write to the embedded database's one connection. Windows
 * are aligned on the clock as the SQL store aligns them. Sign-in throttles stay in the database.
 */
const memoryCounters = new WeakMap<Database, Map<string, { start: number; hits: number }>>();

function memoryHits(database: Database): LimitStore['hit'] {
  let counters = memoryCounters.get(database);
  if (!counters) {
    counters = new Map();
    memoryCounters.set(database, counters);
  }
  const own = counters;
  return async (keys, windowMs, by) => {
    const now = Date.now();
    const start = Math.floor(now / windowMs) * windowMs;
    if (own.size > 100_000) {
      for (const [key, counter] of own) if (counter.start < start) own.delete(key);
    }
    return keys.map((key, i) => {
      const counter = own.get(key);
      const add = by?.[i] ?? 1;
      const hits = counter && counter.start === start ? counter.hits + add : add;
      own.set(key, { start, hits });
      return { hits, remainingMs: start + windowMs - now };
    });
  };
}

const HIT = `
local out = {}
for i, key in ipairs(KEYS) do
  local by = tonumber(ARGV[i + 1])
  local hits = redis.call('INCRBY', key, by)
  if hits == by then redis.call('PEXPIRE', key, ARGV[1]) end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, ARGV[1]); ttl = tonumber(ARGV[1]) end
  out[i] = { hits, ttl }
end
return out`;

const FAIL = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local free, base, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
if failures > free then wait = math.min(max, base * 2 ^ math.min(failures - free - 1, 40)) end
redis.call('HSET', KEYS[1], 'blocked_until', now + wait)
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[4]), wait))
return failures`;

const BLOCKED = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for _, key in ipairs(KEYS) do
  local until_ms = tonumber(redis.call('HGET', key, 'blocked_until') or '0')
  if until_ms - now > wait then wait = until_ms - now end
end
return wait`;

function redisStore(url: string): LimitStore {
  // While Redis is unreachable a command fails at once (and the database counts instead) rather
  // than waiting in the client's offline queue, which would hold the request until Redis is back.
  const client = createClient({ url, disableOfflineQueue: true });
  // The client reconnects by itself; a failed command is what gets logged (`withFallback`).
  client.on('error', () => {});
  const ready = client.connect().catch(() => {});
  const prefix = 'peso:limit:';
  return {
    async hit(keys, windowMs, by) {
      await ready;
      const result = (await client.eval(HIT, {
        keys: keys.map((k) => prefix + k),
        arguments: [String(windowMs), ...keys.map((_, i) => String(by?.[i] ?? 1))],
      })) as Array<[number, number]>;
      return result.map(([hits, ttl]) => ({ hits: Number(hits), remainingMs: Number(ttl) }));
    },
    async blockedFor(keys) {
      await ready;
      return Number(
        await client.eval(BLOCKED, { keys: keys.map((k) => `${prefix}login:${k}`), arguments: [] }),
      );
    },
    async fail(key, free, baseMs, maxMs) {
      await ready;
      await client.eval(FAIL, {
        keys: [`${prefix}login:${key}`],
        arguments: [String(free), String(baseMs), String(maxMs), String(FAILURES_FORGOTTEN_MS)],
      });
    },
    async clear(key) {
      await ready;
      await client.del(`${prefix}login:${key}`);
    },
    sweep: async () => {},
    async close() {
      await ready;
      // Without Redis there is nothing to say goodbye to: the connection attempts just stop.
      if (client.isOpen) await client.quit().catch(() => client.destroy());
    },
  };
}

/**
 * Redis, and while Redis cannot be reached the database's counters instead, so that limits stay
 * on through a Redis outage. The two count separately: on switching, a caller may get up to one
 * more window's allowance. Losing and regaining Redis is logged once each way.
 */
function withFallback(primary: LimitStore, fallback: LimitStore, log: Logger): LimitStore {
  let down = false;
  async function either<T>(operation: (store: LimitStore) => Promise<T>): Promise<T> {
    try {
      const result = await operation(primary);
      if (down) {
        down = false;
        log.info('rate limits: Redis is back, counting there again');
      }
      return result;
    } catch (error) {
      if (!down) {
        down = true;
        log.warn(
          { error: errorSummary(error) },
          'rate limits: Redis unavailable, counting in the database meanwhile',
        );
      }
      return operation(fallback);
    }
  }
  return {
    hit: (keys, windowMs, by) => either((store) => store.hit(keys, windowMs, by)),
    blockedFor: (keys) => either((store) => store.blockedFor(keys)),
    fail: (key, free, baseMs, maxMs) => either((store) => store.fail(key, free, baseMs, maxMs)),
    clear: (key) => either((store) => store.clear(key)),
    // Counters left in the database by an outage are swept there.
    sweep: (windowMs) => fallback.sweep(windowMs),
    close: async () => {
      await Promise.all([primary.close(), fallback.close()]);
    },
  };
}

/**
 * Rate limits per API key, per user and per client address, and sign-in throttling per account
 * and per address. Without Redis the database counts (`withFallback`); when no store can be
 * reached the limits are skipped (and logged): losing Redis or the database must not take the
 * API down with it.
 */
export interface RateLimiter {
  /**
   * Counts a request from an address before anything else is done for it. Where the counters
   * live in PostgreSQL, the same statement reads the access epoch, returned for the request's
   * access caches (`adoptEpoch`); null otherwise.
   */
  checkAddress(address: string | null): Promise<number | null>;
  /** Counts an operation of a signed-in caller. */
  checkViewer(viewer: Viewer): Promise<void>;
  /** Refuses a sign-in while the account or the address is backing off. */
  beforeLogin(email: string, address: string | null): Promise<void>;
  loginFailed(email: string, address: string | null): Promise<void>;
  loginSucceeded(email: string): Promise<void>;
  close(): Promise<void>;
}

/** Seconds a caller is told to wait: whole seconds, at least one. */
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export function createRateLimiter(deps: {
  database: Database;
  redisUrl: string | undefined;
  config: RateLimitConfig;
  log: Logger;
}): RateLimiter {
  const { config, log } = deps;
  const store = deps.redisUrl
    ? withFallback(redisStore(deps.redisUrl), sqlStore(deps.database), log)
    : deps.database.kind === 'pglite'
      ? { ...sqlStore(deps.database), hit: memoryHits(deps.database) }
      : sqlStore(deps.database);
  const sweeper = setInterval(
    () => store.sweep(config.windowMs).catch(() => {}),
    Math.max(60_000, config.windowMs * 2),
  );
  sweeper.unref();

  /** Runs a store operation; a store that fails lets the request through. */
  async function guarded<T>(operation: () => Promise<T>): Promise<T | null> {
    try {
      return await operation();
    } catch (error) {
      log.warn(
        isDatabaseUnavailable(error) ? { error: errorSummary(error) } : { err: error },
        'rate limit store failed: request not limited',
      );
      return null;
    }
  }

  async function count(key: string, limit: number): Promise<void> {
    const [result] = (await guarded(() => store.hit([key], config.windowMs))) ?? [];
    if (result && result.hits > limit) throw new RateLimitedError(seconds(result.remainingMs));
  }

  /**
   * Credential counters held back in this process: a credential far below its limit (under half
   * of it, as the store last said, with what this process has counted since) is admitted without
   * a statement, and its hits are added to the store in one statement for every credential every
   * `BATCH_MS`. Near its limit, in a new window, or unknown here, a hit is counted in the store
   * at once (with the held-back hits), so refusals are as exact as before: a burst from P
   * processes within one batch can pass at most P / 2 × the limit. Not for PGlite's counters,
   * which live in memory anyway. Addresses are held back the same way where their count would
   * read the access epoch (PostgreSQL without Redis): see `checkAddress`.
   */
  const held = new Map<string, { endsAt: number; known: number; pending: number }>();
  let flushTimer: NodeJS.Timeout | null = null;
  const batched = deps.redisUrl !== undefined || deps.database.kind === 'postgres';

  async function flushHeld(): Promise<void> {
    flushTimer = null;
    const now = Date.now();
    const keys: string[] = [];
    const by: number[] = [];
    for (const [key, entry] of held) {
      if (now >= entry.endsAt) held.delete(key);
      else if (entry.pending > 0) {
        keys.push(key);
        by.push(entry.pending);
        entry.pending = 0;
      }
    }
    if (keys.length === 0) return;
    const results = await guarded(() => store.hit(keys, config.windowMs, by));
    results?.forEach((result, i) => {
      const entry = held.get(keys[i]!);
      if (entry) entry.known = result.hits;
    });
  }

  /** Whether a hit on `key` may be held back now (far below `limit`); if so, it is. */
  function holdBack(key: string, limit: number): boolean {
    const entry = held.get(key);
    if (!entry || Date.now() >= entry.endsAt - BATCH_MS) return false;
    if ((entry.known + entry.pending + 1) * 2 > limit) return false;
    entry.pending++;
    flushTimer ??= setTimeout(() => void flushHeld(), BATCH_MS);
    flushTimer.unref();
    return true;
  }

  /** The hits to add now for `key`: this one and any held back (which are then no longer held). */
  function takeHeld(key: string): number {
    const entry = held.get(key);
    const add = (entry && Date.now() < entry.endsAt ? entry.pending : 0) + 1;
    if (entry) entry.pending = 0;
    return add;
  }

  /** Remembers what the store said of `key`, and refuses when it is over `limit`. */
  function counted(key: string, limit: number, result: { hits: number; remainingMs: number }) {
    const current = held.get(key);
    if (current) {
      current.known = result.hits;
      current.endsAt = Date.now() + result.remainingMs;
    } else {
      if (held.size >= MAX_HELD) held.clear();
      held.set(key, { known: result.hits, endsAt: Date.now() + result.remainingMs, pending: 0 });
    }
    if (result.hits > limit) throw new RateLimitedError(seconds(result.remainingMs));
  }

  async function countHeld(key: string, limit: number): Promise<void> {
    if (holdBack(key, limit)) return;
    const add = takeHeld(key);
    const [result] = (await guarded(() => store.hit([key], config.windowMs, [add]))) ?? [];
    if (result) counted(key, limit, result);
  }

  const countViewer = batched ? countHeld : count;
  const accountKey = (email: string) => `account:${email.trim().toLowerCase()}`;

  const readsEpoch = !deps.redisUrl && deps.database.kind === 'postgres';
  return {
    async checkAddress(address) {
      if (!address) return null;
      const key = `ip:${address}`;
      if (!readsEpoch || !store.hitReadingEpoch) {
        await count(key, config.perAddress);
        return null;
      }
      // Far below its limit, an address is counted like a credential (held back, written in a
      // batch), and the request's epoch comes from a read that began after it arrived, shared
      // with the requests that arrived alongside it (src/access/cache.ts `freshEpoch`).
      if (holdBack(key, config.perAddress)) return guarded(() => freshEpoch(deps.database));
      const read = store.hitReadingEpoch;
      const add = takeHeld(key);
      const result = await guarded(() => read([key], config.windowMs, [add]));
      const hit = result?.counts[0];
      if (hit) counted(key, config.perAddress, hit);
      return result?.epoch ?? null;
    },
    checkViewer: (viewer) =>
      viewer.apiKeyId
        ? countViewer(`key:${viewer.apiKeyId}`, config.perKey)
        : countViewer(`user:${viewer.userId}`, config.perUser),
    async beforeLogin(email, address) {
      const keys = [accountKey(email), ...(address ? [`ip:${address}`] : [])];
      const ms = (await guarded(() => store.blockedFor(keys))) ?? 0;
      if (ms > 0) throw new RateLimitedError(seconds(ms));
    },
    async loginFailed(email, address) {
      const { loginFreeFailuresPerAccount, loginFreeFailuresPerAddress } = config;
      const { loginBackoffBaseMs: base, loginBackoffMaxMs: max } = config;
      await guarded(() =>
        Promise.all([
          store.fail(accountKey(email), loginFreeFailuresPerAccount, base, max),
          address ? store.fail(`ip:${address}`, loginFreeFailuresPerAddress, base, max) : null,
        ]),
      );
    },
    async loginSucceeded(email) {
      await guarded(() => store.clear(accountKey(email)));
    },
    async close() {
      clearInterval(sweeper);
      if (flushTimer) clearTimeout(flushTimer);
      await flushHeld();
      await store.close();
    },
  };
}
