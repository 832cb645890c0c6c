import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { addBuiltInArrays } from './arrays';

/** Where the data lives: embedded PGlite (in memory when `dataDir` is null) or PostgreSQL. */
export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string | null }
  | { kind: 'postgres'; url: string };

/** The drizzle handle both drivers share. */
export type Db = PgDatabase<PgQueryResultHKT, Record<string, never>>;

interface DatabaseBase {
  db: Db;
  /** Statements issued through `db` and `query` since open (for N+1 checks in tests). */
  stats: { statements: number };
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type Database =
  | (DatabaseBase & { kind: 'pglite'; pglite: PGlite })
  | (DatabaseBase & { kind: 'postgres'; sql: postgres.Sql });

/**
 * Runs one parameterized statement and returns its rows, on either driver. Parameters are text
 * (or null) and every placeholder carries its cast, so both drivers bind them the same way.
 */
export async function query<T = Record<string, unknown>>(
  database: Database,
  text: string,
  params: ReadonlyArray<string | null> = [],
): Promise<T[]> {
  database.stats.statements++;
  if (database.kind === 'pglite') return (await database.pglite.query<T>(text, [...params])).rows;
  return (await database.sql.unsafe(text, [...params])) as unknown as T[];
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

/** Opens the database named by the target and applies pending migrations. */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  const database =
    target.kind === 'pglite' ? await openPglite(target.dataDir) : openPostgres(target.url);
  try {
    if (database.kind === 'pglite') await migratePglite(database.db as never, { migrationsFolder });
    else await migratePostgres(database.db as never, { migrationsFolder });
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

async function openPglite(dataDir: string | null): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir ?? 'memory://');
  const stats = { statements: 0 };
  const db = drizzlePglite(pglite, { logger: counter(stats) }) as unknown as Db;
  let closed = false;
  return {
    kind: 'pglite',
    db,
    stats,
    pglite,
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pglite.close();
    },
  };
}

export function openPostgres(url: string): Extract<Database, { kind: 'postgres' }> {
  const client = postgres(url, {
    max: 10,
    onnotice: () => {},
    connection: { application_name: 'peso' },
    // Seconds before reconnecting after the n-th failed attempt. The driver's default grows to
    // 20 s, so after an outage of a few seconds the LISTEN connection (which inherits this)
    // would stay away long after PostgreSQL is back.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    // postgres.js would otherwise query the catalog for array types as each connection starts,
    // and drop that query's promise: a connection lost or cancelled during it (a restart, an
    // outage) became an unhandled rejection, which ends the process. The built-in array types
    // are added below instead (addBuiltInArrays).
    fetch_types: false,
  });
  addBuiltInArrays(client);
  const stats = { statements: 0 };
  const db = drizzlePostgres(preparing(client), { logger: counter(stats) }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    stats,
    sql: client,
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * drizzle runs every statement unprepared, and postgres.js then describes a statement that has
 * parameters in a round trip of its own before running it: two round trips each. The platform's
 * own statements (few shapes) are prepared instead, once per connection, and then take one round
 * trip. Statements on version tables (`dsv_*`, created and dropped with their versions, many
 * shapes) stay unprepared.
 */
function preparing(client: postgres.Sql): postgres.Sql {
  const unsafe = client.unsafe.bind(client);
  const prepared: typeof client.unsafe = (text, params, options) =>
    unsafe(
      text,
      params,
      params?.length && !text.includes('dsv_') ? { ...options, prepare: true } : options,
    );
  return new Proxy(client, {
    get: (target, property, receiver) =>
      property === 'unsafe' ? prepared : Reflect.get(target, property, receiver),
  });
}

function counter(stats: { statements: number }) {
  return {
    logQuery: () => {
      stats.statements++;
    },
  };
}

/** Whether a driver error (or one it wraps) is a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

/** Error codes of a database that cannot be reached, as Node, postgres.js and pg report them. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  // SQLSTATE: the server shutting down or restarting, and class 08 (connection exceptions).
  '57P01',
  '57P02',
  '57P03',
]);

/**
 * Whether a driver error (or one it wraps) says the database cannot be reached right now — an
 * outage or restart, not a fault of the statement — so the caller may try again shortly.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    // 08P01 (protocol violation) is in class 08 but is the statement's fault, e.g. a parameter
    // count that does not match: retrying it would loop for ever.
    if (
      typeof code === 'string' &&
      (UNREACHABLE.has(code) || (/^08[0-9A-Z]{3}$/.test(code) && code !== '08P01'))
    )
      return true;
  }
  return false;
}

/**
 * A plain-JSON copy of a value for a jsonb column. GraphQL builds input objects from query
 * literals with a null prototype, which drizzle cannot inspect; this also drops `undefined`s.
 */
export function asJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
