import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../db/client';

/** The error a driver raises for `run`, or a failure if it raises none. */
async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('what counts as the database being unavailable', () => {
  it('a statement whose parameters do not match (08P01) is its own fault, not an outage, on PGlite', async () => {
    const db = new PGlite();
    try {
      const error = await errorOf(() => db.query('select 1', [1, 2]));
      expect((error as { code?: string }).code).toBe('08P01');
      expect(isDatabaseUnavailable(error)).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('a refused connection is an outage', async () => {
    // Port 1 on loopback: nothing listens there.
    const nowhere = postgres('postgres://postgres@127.0.0.1:1/test', {
      max: 1,
      connect_timeout: 2,
      onnotice: () => {},
    });
    try {
      const refused = await errorOf(() => nowhere`select 1`);
      expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
      expect(isDatabaseUnavailable(refused)).toBe(true);
    } finally {
      await nowhere.end();
    }
  });
});
