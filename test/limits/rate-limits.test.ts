/**
 * An attacker's floods against the rate limits: one API key, one user, one address (with bad
 * credentials too), over HTTP, SSE, WebSocket and the plain routes; and password guessing
 * against one account and from one address, which backs off exponentially. Counters live in the
 * database (or Redis), so two API servers share them. Windows are fixed: N requests span at most
 * two windows, so at most 2 × limit of them pass whatever the clock.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../db/client';
import type { Viewer } from '../../src/auth/viewer';
import { RateLimitedError } from '../../src/errors';
import { createRateLimiter } from '../../src/limits/rate-limit';
import { createLogger } from '../../src/log';
import { type PesoServer, startServer } from '../../src/server';
import {
  createApiKey,
  type GraphQLResponse,
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
  usingPostgres,
} from '../helpers/server';

const VIEWER = '{ viewer { id } }';
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) {
  __typename ... on AuthPayload { token } ... on Error { code message } } }`;

function limited(res: GraphQLResponse) {
  return res.errors?.some((e) => e.extensions?.code === 'RATE_LIMITED') ?? false;
}

async function flood(n: number, send: () => Promise<GraphQLResponse>) {
  const results: GraphQLResponse[] = [];
  for (let i = 0; i < n; i++) results.push(await send());
  return results;
}

/** Raw POST, for status and headers. */
async function post(server: TestServer, body: unknown, auth?: string) {
  return fetch(server.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(auth ? { authorization: `Bearer ${auth}` } : {}),
    },
    body: JSON.stringify(body),
  });
}

const PER_CREDENTIAL = {
  PESO_RATE_LIMIT_WINDOW_SECONDS: '60',
  PESO_RATE_LIMIT_PER_KEY: '5',
  PESO_RATE_LIMIT_PER_USER: '5',
  PESO_LOGIN_FREE_FAILURES_PER_ACCOUNT: '3',
  PESO_LOGIN_BACKOFF_BASE_MS: '60000',
};

function suite(label: string, env: Record<string, string>) {
  describe(`per credential (${label})`, () => {
    let server: TestServer;
    let owner: Awaited<ReturnType<typeof signUpOwner>>;
    beforeAll(async () => {
      server = await startTestServer({ ...PER_CREDENTIAL, ...env });
      owner = await signUpOwner(server, 'flooder');
    });
    afterAll(async () => {
      await server?.close();
    });

    it('limits one API key over HTTP with 429, Retry-After and retryAfter, not its neighbour', async () => {
      const key = await createApiKey(server, owner.token, 'ANALYST');
      const other = await createApiKey(server, owner.token, 'ANALYST');
      const results = await flood(20, () => server.gql(VIEWER, {}, key.secret));
      const refused = results.filter(limited);
      expect(refused.length).toBeGreaterThanOrEqual(10);
      expect(refused[0]!.status).toBe(429);
      expect(refused[0]!.errors![0]!.extensions!.retryAfter).toBeGreaterThanOrEqual(1);
      const raw = await post(server, { query: VIEWER }, key.secret);
      expect(raw.status).toBe(429);
      expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const neighbour = await server.gql(VIEWER, {}, other.secret);
      expect(neighbour.errors, JSON.stringify(neighbour)).toBeUndefined();
    });

    it('limits one user over WebSocket and SSE the same way', async () => {
      const member = await inviteMember(server, owner.token, 'ANALYST');
      const client = server.ws(member.token);
      const results: unknown[] = [];
      for (let i = 0; i < 20; i++) {
        const op = subscribe(client, VIEWER);
        await op.done;
        results.push([...op.events, ...op.errors]);
      }
      const refused = results.filter((r) => JSON.stringify(r).includes('RATE_LIMITED'));
      expect(refused.length).toBeGreaterThanOrEqual(10);

      const sse = await fetch(server.graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${member.token}`,
        },
        body: JSON.stringify({ query: 'subscription { heartbeat(intervalSeconds: 1) { at } }' }),
      });
      const body = await sse.text();
      expect(body).toContain('RATE_LIMITED');
      expect(body).not.toContain('"at"');
    });

    it('throttles password guessing on one account, even with the right password', async () => {
      const victim = await signUpOwner(server, 'victim');
      const wrong = { input: { email: victim.email, password: 'wrong password!' } };
      const codes: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await server.gql(LOGIN, wrong);
        codes.push(res.data?.login?.code ?? res.errors?.[0]?.extensions?.code);
      }
      expect(codes).toEqual([
        'UNAUTHENTICATED',
        'UNAUTHENTICATED',
        'UNAUTHENTICATED',
        'UNAUTHENTICATED',
      ]);
      const right = await server.gql(LOGIN, {
        input: { email: victim.email.toUpperCase(), password: victim.password },
      });
      expect(right.errors?.[0]?.extensions?.code, JSON.stringify(right)).toBe('RATE_LIMITED');
      expect(right.errors![0]!.extensions!.retryAfter).toBeGreaterThan(30);
    });

    it('throttles unknown emails exactly like known ones', async () => {
      // Random: a Redis store keeps failures across runs for an hour.
      const email = `nobody-${randomBytes(4).toString('hex')}@example.com`;
      const wrong = { input: { email, password: 'whatever pass' } };
      const results = await flood(5, () => server.gql(LOGIN, wrong));
      expect(limited(results[3]!)).toBe(false);
      expect(limited(results[4]!)).toBe(true);
    });

    it('forgets the failures of an account on a successful sign-in', async () => {
      const person = await signUpOwner(server, 'forgetful');
      const wrong = { input: { email: person.email, password: 'wrong password!' } };
      await flood(2, () => server.gql(LOGIN, wrong));
      const ok = await server.gql(LOGIN, {
        input: { email: person.email, password: person.password },
      });
      expect(ok.data?.login?.__typename, JSON.stringify(ok)).toBe('AuthPayload');
      const again = await flood(4, () => server.gql(LOGIN, wrong));
      expect(again.filter(limited)).toEqual([]);
    });
  });
}

suite('database store', {});
if (process.env.TEST_REDIS_URL) suite('Redis store', { REDIS_URL: process.env.TEST_REDIS_URL });

describe('backoff doubles with each failure past the free ones (database store)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(PER_CREDENTIAL);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('waits base, then 2 × base, then 4 × base', async () => {
    const email = 'doubling@example.com';
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      // The test lifts the current block so that the next failure is counted at once.
      await query(server.database, 'update login_throttles set blocked_until = now()');
      await flood(i === 0 ? 4 : 1, () =>
        server.gql(LOGIN, { input: { email, password: 'wrong password!' } }),
      );
      const [row] = await query<{ ms: string }>(
        server.database,
        `select round(extract(epoch from blocked_until - last_failure_at) * 1000)::text as ms
         from login_throttles where key = $1`,
        [`account:${email}`],
      );
      waits.push(Number(row!.ms));
    }
    expect(waits).toEqual([60_000, 120_000, 240_000]);
  });
});

describe('per address', () => {
  let server: TestServer;
  let second: PesoServer | null = null;
  beforeAll(async () => {
    server = await startTestServer({
      PESO_RATE_LIMIT_WINDOW_SECONDS: '60',
      PESO_RATE_LIMIT_PER_ADDRESS: '10',
      PESO_LOGIN_FREE_FAILURES_PER_ADDRESS: '4',
      PESO_LOGIN_BACKOFF_BASE_MS: '60000',
    });
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
  });

  it('throttles password guessing across accounts from one address', async () => {
    const results: GraphQLResponse[] = [];
    for (let i = 0; i < 6; i++)
      results.push(
        await server.gql(LOGIN, {
          input: { email: `spray-${i}@example.com`, password: 'wrong password!' },
        }),
      );
    expect(results.slice(0, 5).filter(limited)).toEqual([]);
    expect(limited(results[5]!)).toBe(true);
  });

  it('limits one address before credentials are checked, on GraphQL, WebSocket and plain routes', async () => {
    const results = await flood(25, () => server.gql(VIEWER, {}, 'peso_not-a-real-key'));
    const refused = results.filter(limited);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(refused.every((r) => r.status === 429)).toBe(true);
    // Still refused without any credential, and on the plain routes.
    expect(limited(await server.gql(VIEWER))).toBe(true);
    const download = await fetch(`${server.url}/exports/bogus`);
    expect(download.status).toBe(429);
    expect(Number(download.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // A WebSocket connection from the same address is refused with 4429.
    const closed = await new Promise<number>((resolve) => {
      const client = server.ws(undefined, resolve);
      const op = subscribe(client, VIEWER);
      void op.done;
    });
    expect(closed).toBe(4429);
  });

  it('shares the counters with another API server on the same database', async () => {
    second = await startServer({
      config: server.config,
      database: server.database,
      log: createLogger('silent'),
      port: 0,
      host: '127.0.0.1',
    });
    const res = await fetch(`${second.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: VIEWER }),
    });
    expect(res.status).toBe(429);
  });
});

describe.skipIf(!usingPostgres)('limits survive a store outage', () => {
  it('lets requests through (and logs) when the counters cannot be written', async () => {
    const server = await startTestServer({ PESO_RATE_LIMIT_PER_ADDRESS: '1' });
    try {
      await query(server.database, 'alter table rate_limits rename to rate_limits_away');
      const results = await flood(3, () => server.gql(VIEWER));
      expect(results.filter(limited)).toEqual([]);
    } finally {
      await query(server.database, 'alter table rate_limits_away rename to rate_limits');
      await server.close();
    }
  });
});

describe.skipIf(!usingPostgres)(
  'credential counts far below the limit are written in batches',
  () => {
    it('admits and refuses exactly as counting every hit would, and the counts reach the store', async () => {
      const server = await startTestServer({ PESO_RATE_LIMIT_WINDOW_SECONDS: '60' });
      const config = { ...server.config.rateLimits, perKey: 40 };
      const deps = {
        database: server.database,
        redisUrl: server.config.redisUrl,
        config,
        log: createLogger('silent'),
      };
      const apiKeyId = randomUUID();
      const viewer = { apiKeyId, userId: null } as unknown as Viewer;
      const first = createRateLimiter(deps);
      const second = createRateLimiter(deps);
      try {
        let refused = 0;
        for (let i = 0; i < 45; i++)
          await first.checkViewer(viewer).catch((error: unknown) => {
            expect(error).toBeInstanceOf(RateLimitedError);
            refused++;
          });
        expect(refused).toBe(5);
        // Another process sharing the store refuses the key at once.
        await expect(second.checkViewer(viewer)).rejects.toBeInstanceOf(RateLimitedError);
        if (!server.config.redisUrl) {
          const [row] = await query<{ hits: number }>(
            server.database,
            'select hits from rate_limits where key = $1',
            [`key:${apiKeyId}`],
          );
          expect(Number(row?.hits)).toBe(46);
        }
      } finally {
        await first.close();
        await second.close();
        await server.close();
      }
    });

    it('writes a burst far below the limit in a statement or two, not one per request', async () => {
      // An hour's window: the burst (milliseconds) all but never meets a window's last BATCH_MS,
      // where every hit is counted in the store at once.
      const server = await startTestServer({ PESO_RATE_LIMIT_WINDOW_SECONDS: '3600' });
      const database = server.database;
      if (database.kind !== 'postgres') throw new Error('PostgreSQL only');
      // The real database, with its counting statements tallied on their way to it.
      let writes = 0;
      const sql = {
        unsafe: (text: string, ...rest: unknown[]) => {
          if (/insert into rate_limits/.test(text)) writes++;
          return (database.sql.unsafe as (...args: unknown[]) => unknown)(text, ...rest);
        },
      };
      const limiter = createRateLimiter({
        database: { ...database, sql } as unknown as typeof database,
        redisUrl: undefined,
        config: { ...server.config.rateLimits, perKey: 1000 },
        log: createLogger('silent'),
      });
      const apiKeyId = randomUUID();
      const viewer = { apiKeyId, userId: null } as unknown as Viewer;
      const requests = 50;
      try {
        for (let i = 0; i < requests; i++) await limiter.checkViewer(viewer);
        // The first request learns the key's count from the store; the rest are held back and
        // written together by the next flush (here: on close).
        expect(writes).toBeGreaterThanOrEqual(1);
        expect(writes).toBeLessThanOrEqual(2);
        await limiter.close();
        expect(writes).toBeLessThanOrEqual(3);
        const [row] = await query<{ hits: number }>(
          database,
          'select hits from rate_limits where key = $1',
          [`key:${apiKeyId}`],
        );
        expect(Number(row?.hits)).toBe(requests);
      } finally {
        await limiter.close();
        await server.close();
      }
    });
  },
);
