/**
 * Signed tokens under more than one secret. The HMAC key is imported once per secret and kept
 * (src/auth/tokens.ts), so what is checked here is that the kept key always belongs to the
 * secret a call names: a token signed under one secret never verifies under another, whichever
 * was used last, and an API process started with a rotated `PESO_SECRET` refuses the old
 * tokens and accepts its own — while a process still on the old secret, in the same Node
 * process, keeps doing the opposite.
 *
 * Verified tokens are also kept (by secret and whole token) until their `exp`: what is checked
 * for that is that a kept token stops at its expiry exactly, never passes under another secret,
 * is no help to a token differing from it in its signature, and that a member removed or
 * demoted is refused or demoted at once however often their token was used before.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { signToken, verifyToken } from '../src/auth/tokens';
import { UnauthenticatedError } from '../src/errors';
import { createLogger } from '../src/log';
import { type PesoServer, startServer } from '../src/server';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from './helpers/server';

const secretA = randomBytes(32).toString('base64url');
const secretB = randomBytes(32).toString('base64url');
const claims = { userId: 'user-1', orgId: 'org-1' };

async function refused(secret: string, token: string, message?: string) {
  const outcome = verifyToken(secret, token);
  await expect(outcome).rejects.toBeInstanceOf(UnauthenticatedError);
  if (message) await expect(outcome).rejects.toThrow(message);
}

/** The token with one character in the middle of its signature changed. */
function tampered(token: string): string {
  const at = token.lastIndexOf('.') + 10;
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

/** The `exp` of a token, in milliseconds. */
function expiryOf(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
  return payload.exp * 1000;
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

describe('verified tokens kept until their expiry', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a kept token passes up to the millisecond before its exp and is refused at it', async () => {
    const { token } = await signToken(secretA, claims, 60);
    const { expiresAt } = await verifyToken(secretA, token);
    expect(expiresAt.getTime()).toBe(expiryOf(token));
    // Only Date is faked: WebCrypto and the rest run as usual.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(expiresAt.getTime() - 1);
    expect(await verifyToken(secretA, token)).toMatchObject(claims);
    vi.setSystemTime(expiresAt.getTime());
    await refused(secretA, token, 'Token expired.');
    vi.setSystemTime(expiresAt.getTime() + 60_000);
    await refused(secretA, token, 'Token expired.');
    // Back before its expiry it passes again: it is verified anew, not remembered as refused.
    vi.setSystemTime(expiresAt.getTime() - 1_000);
    expect(await verifyToken(secretA, token)).toMatchObject(claims);
  });

  it('a kept token never passes under another secret, in either order', async () => {
    const { token: a } = await signToken(secretA, claims, 60);
    const { token: b } = await signToken(secretB, claims, 60);
    for (let round = 0; round < 3; round++) {
      expect(await verifyToken(secretA, a)).toMatchObject(claims);
      await refused(secretB, a, 'Invalid token.');
      expect(await verifyToken(secretB, b)).toMatchObject(claims);
      await refused(secretA, b, 'Invalid token.');
    }
    // A third secret never used before gets nothing from either.
    const secretC = randomBytes(32).toString('base64url');
    await refused(secretC, a);
    await refused(secretC, b);
  });

  it('a token with one character of its signature changed is refused after the genuine one is kept', async () => {
    const { token } = await signToken(secretA, claims, 60);
    expect(await verifyToken(secretA, token)).toMatchObject(claims);
    expect(await verifyToken(secretA, token)).toMatchObject(claims);
    const forged = tampered(token);
    expect(forged).not.toBe(token);
    expect(forged.length).toBe(token.length);
    await refused(secretA, forged, 'Invalid token.');
    await refused(secretA, forged, 'Invalid token.');
    expect(await verifyToken(secretA, token)).toMatchObject(claims);
  });
});

describe('a signed token over HTTP, used again and again', () => {
  const VIEWER = '{ viewer { id role } }';
  const REMOVE_MEMBER = 'mutation($id: ID!) { removeMember(membershipId: $id) { __typename } }';
  const SET_ROLE =
    'mutation($id: ID!, $role: Role!) { setMemberRole(membershipId: $id, role: $role) { __typename } }';
  let server: TestServer;
  /** Another API process on the same database and secret. */
  let second: PesoServer;
  let owner: Awaited<ReturnType<typeof signUpOwner>>;

  async function viewer(url: string, token: string) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: VIEWER }),
    });
    return { status: res.status, ...((await res.json()) as { data?: any; errors?: any[] }) };
  }

  async function unauthenticated(url: string, token: string, message: string) {
    const res = await viewer(url, token);
    expect(res.status, JSON.stringify(res)).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.errors?.[0]?.message).toBe(message);
  }

  beforeAll(async () => {
    server = await startTestServer();
    second = await startServer({
      config: server.config,
      database: server.database,
      log: createLogger('silent'),
      port: 0,
      host: '127.0.0.1',
    });
    owner = await signUpOwner(server, 'kept');
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
  });

  it('stops working at its exp', async () => {
    // exp is whole seconds: three seconds ahead is at least two, time enough for the first uses.
    const ids = await verifyToken(server.config.secret, owner.token);
    const { token } = await signToken(server.config.secret, ids, 3);
    for (let i = 0; i < 3; i++) {
      const res = await viewer(server.url, token);
      expect(res.data?.viewer.id, JSON.stringify(res)).toBe(owner.userId);
    }
    const wait = expiryOf(token) - Date.now();
    expect(wait).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, wait + 50));
    await unauthenticated(server.url, token, 'Token expired.');
    await unauthenticated(second.url, token, 'Token expired.');
  });

  it('a tampered token is refused after the genuine one was used', async () => {
    const res = await viewer(server.url, owner.token);
    expect(res.data?.viewer.id, JSON.stringify(res)).toBe(owner.userId);
    await unauthenticated(server.url, tampered(owner.token), 'Invalid token.');
  });

  it('a member demoted or removed is demoted or refused at once, on every process', async () => {
    const member = await inviteMember(server, owner.token, 'ANALYST');
    for (const url of [server.url, second.url, server.url, second.url]) {
      const res = await viewer(url, member.token);
      expect(res.data?.viewer.role, JSON.stringify(res)).toBe('ANALYST');
    }
    const demoted = await server.gql(
      SET_ROLE,
      { id: member.membershipId, role: 'VIEWER' },
      owner.token,
    );
    expect(demoted.data?.setMemberRole.__typename, JSON.stringify(demoted)).toBe('Membership');
    for (const url of [second.url, server.url]) {
      const res = await viewer(url, member.token);
      expect(res.data?.viewer.role, JSON.stringify(res)).toBe('VIEWER');
    }
    const removed = await server.gql(REMOVE_MEMBER, { id: member.membershipId }, owner.token);
    expect(removed.data?.removeMember.__typename, JSON.stringify(removed)).toBe('Membership');
    await unauthenticated(second.url, member.token, 'Membership no longer exists.');
    await unauthenticated(server.url, member.token, 'Membership no longer exists.');
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
