/**
 * A PostgreSQL connection that fails while it starts up (an outage, a restart, a statement
 * cancelled by `statement_timeout`) must fail only the statements that were on it. postgres.js
 * runs a catalog query of its own on every new connection unless told not to, and drops the
 * promise of that query: if it fails, the process gets an unhandled rejection, which ends a Node
 * process by default. The platform's client runs no such query.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgres } from '../../db/client';

const url = process.env.TEST_DATABASE_URL;

describe.skipIf(!url)('a PostgreSQL connection failing as it starts', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  afterEach(() => {
    process.off('unhandledRejection', record);
  });

  it('leaves no unhandled rejection when every statement is cancelled at once', async () => {
    process.on('unhandledRejection', record);
    const target = new URL(url!);
    // Every statement on these connections is cancelled after 1 ms: pg_sleep always is.
    target.searchParams.set('statement_timeout', '1');
    const database = openPostgres(target.toString());
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => database.sql`select pg_sleep(0.05)`),
      );
      for (const result of results) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason.code).toBe('57014');
      }
      // Unhandled rejections are reported after the microtask queue drains.
      await new Promise((r) => setTimeout(r, 200));
      expect(unhandled.map(String)).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
