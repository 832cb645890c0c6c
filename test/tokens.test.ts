/**
 * Signed tokens under more than one secret. The HMAC key is imported once per secret and kept
 * (src/auth/tokens.ts), so what is checked here is that the kept key always belongs to the
 * secret a call names: a token signed under one secret never verifies under another, whichever
 * was used last, and an API process started with a rotated `PESO_SECRET` refuses the old
 * tokens and accepts its own — while a process still on the old secret, in the same Node
 * process, keeps doing the opposite.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken, verifyToken } from '../src/auth/tokens';
import { UnauthenticatedError } from '../src/errors';
import { createLogger } from '../src/log';
import { type PesoServer, startServer } from '../src/server';
import { signUpOwner, startTestServer, type TestServer } from './helpers/server';

const secretA = randomBytes(32).toString('base64url');
const secretB = randomBytes(32).toString('base64url');
const claims = { userId: 'user-1', orgId: 'org-1' };

async function refused(secret: string, token: string) {
  await expect(verifyToken(secret, token)).rejects.toBeInstanceOf(UnauthenticatedError);
}

describe('tokens under two secrets', () => {
  it('a token verifies only under the secret it was signed with, whichever key was used last', async () => {
    const { token: a } = await signToken(secretA, claims, 60);
    // A's key is the one kept now.
    expect(await verifyToken(secretA, a)).toMatchObject(claims);
    await refused(secretB, a);
    const { token: b } = await signToken(secretB, claims, 60);
    // B's key is the one kept now.
    expect(await verifyToken(secretB, b)).toMatchObject(claims);
    await refused(secretA, b);
    // And back: A's key again, then B's, each call under its own secret.
    expect(await verifyToken(secretA, a)).toMatchObject(claims);
    await refused(secretB, a);
    await refused(secretA, b);
    expect(await verifyToken(secretB, b)).toMatchObject(claims);
    // Signing under one secret right after the other was used signs with the right key.
    const { token: a2 } = await signToken(secretA, claims, 60);
    await refused(secretB, a2);
    expect(await verifyToken(secretA, a2)).toMatchObject(claims);
  });

  it('calls under both secrets at once each get their own key', async () => {
    const [{ token: a }, { token: b }] = await Promise.all([
      signToken(secretA, claims, 60),
      signToken(secretB, claims, 60),
    ]);
    const outcomes = await Promise.allSettled([
      verifyToken(secretA, a),
      verifyToken(secretB, a),
      verifyToken(secretB, b),
      verifyToken(secretA, b),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
    ]);
  });
});

describe('a rotated PESO_SECRET', () => {
  const VIEWER = '{ viewer { id } }';
  const LOGIN = `mutation($input: LoginInput!) { login(input: $input) {
    __typename ... on AuthPayload { token } ... on Error { code message } } }`;
  let server: TestServer;
  /** An API process on the same database, started with a new secret. */
  let rotated: PesoServer;

  async function gql(
    url: string,
    query: string,
    variables: Record<string, unknown>,
    auth?: string,
  ) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, ...((await res.json()) as { data?: any; errors?: any[] }) };
  }

  beforeAll(async () => {
    server = await startTestServer();
    rotated = await startServer({
      config: { ...server.config, secret: randomBytes(32).toString('base64url') },
      database: server.database,
      log: createLogger('silent'),
      port: 0,
      host: '127.0.0.1',
    });
  });
  afterAll(async () => {
    await rotated?.close();
    await server?.close();
  });

  it('refuses tokens signed under the old secret and accepts its own; the old process the opposite', async () => {
    const owner = await signUpOwner(server, 'rotate');
    const login = await gql(rotated.url, LOGIN, {
      input: { email: owner.email, password: owner.password },
    });
    expect(login.data?.login.__typename, JSON.stringify(login)).toBe('AuthPayload');
    const fresh = login.data!.login.token as string;
    // Alternate between the two processes so the kept key changes hands on every request.
    for (let round = 0; round < 2; round++) {
      const oldHere = await gql(server.url, VIEWER, {}, owner.token);
      expect(oldHere.data?.viewer.id, JSON.stringify(oldHere)).toBe(owner.userId);
      const oldThere = await gql(rotated.url, VIEWER, {}, owner.token);
      expect(oldThere.status).toBe(401);
      expect(oldThere.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const freshThere = await gql(rotated.url, VIEWER, {}, fresh);
      expect(freshThere.data?.viewer.id, JSON.stringify(freshThere)).toBe(owner.userId);
      const freshHere = await gql(server.url, VIEWER, {}, fresh);
      expect(freshHere.status).toBe(401);
      expect(freshHere.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});
