import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpOwner, startTestServer, subscribe, type TestServer } from './helpers/server';

/**
 * graphql-ws on the real server: credentials in connection_init, subscriptions and queries
 * executed through yoga's pipeline, and sockets closed with 4403 once their credential stops
 * being valid (revoked key, expired token, removed member).
 */

const HEARTBEAT = /* GraphQL */ `
  subscription { heartbeat(intervalSeconds: 1) { at role } }
`;

const CREATE_API_KEY = /* GraphQL */ `
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename
      ... on CreateApiKeyPayload { secret apiKey { id role } }
      ... on Error { code message }
    }
  }
`;

const REVOKE_API_KEY = /* GraphQL */ `
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      __typename
      ... on ApiKey { id active }
      ... on Error { code message }
    }
  }
`;

const INVITE_MEMBER = /* GraphQL */ `
  mutation InviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) {
      __typename
      ... on InviteMemberPayload { temporaryPassword membership { id role } }
      ... on Error { code message }
    }
  }
`;

const REMOVE_MEMBER = /* GraphQL */ `
  mutation RemoveMember($membershipId: ID!) {
    removeMember(membershipId: $membershipId) {
      __typename
      ... on Membership { id }
      ... on Error { code message }
    }
  }
`;

const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      __typename
      ... on AuthPayload { token }
      ... on Error { code message }
    }
  }
`;

/** Polls `check` until it returns something truthy; fails after `timeoutMs`. */
async function waitFor<T>(
  check: () => T | null | undefined | false,
  what: string,
  timeoutMs = 5000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Opens a graphql-ws client and records the close codes it sees. */
function connect(server: TestServer, credential?: string) {
  const closes: number[] = [];
  const client = server.ws(credential, (code) => closes.push(code));
  return { client, closes };
}

/** Runs one query or mutation over WS; resolves with its single result or the errors it failed with. */
async function wsExecute(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const sub = subscribe(client, query, variables);
  await sub.done;
  return {
    result: sub.events[0] as { data?: any; errors?: any[] } | undefined,
    errors: sub.errors,
  };
}

function codesOf(errors: Array<{ extensions?: Record<string, unknown> }> | undefined) {
  return (errors ?? []).map((e) => e.extensions?.code);
}

async function createApiKey(server: TestServer, ownerToken: string, role = 'VIEWER') {
  const res = await server.gql(CREATE_API_KEY, { input: { name: 'partner', role } }, ownerToken);
  const payload = res.data?.createApiKey;
  if (payload?.__typename !== 'CreateApiKeyPayload')
    throw new Error(`createApiKey: ${JSON.stringify(res)}`);
  return { secret: payload.secret as string, id: payload.apiKey.id as string };
}

let server: TestServer;
let shortTtl: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;

beforeAll(async () => {
  [server, shortTtl] = await Promise.all([
    startTestServer({ PESO_AUTH_RECHECK_MS: '200' }),
    startTestServer({ PESO_AUTH_RECHECK_MS: '200', PESO_JWT_TTL_SECONDS: '2' }),
  ]);
  owner = await signUpOwner(server, 'ws-owner');
});

afterAll(async () => {
  await Promise.all([server?.close(), shortTtl?.close()]);
});

describe('connection_init credentials', () => {
  it.each([
    ['a garbage token', () => 'not-a-jwt'],
    ['a token signed with another secret', () => `${owner.token.slice(0, -4)}AAAA`],
    ['a malformed API key', () => 'peso_tooshort_x'],
    ['a well-formed but unknown API key', () => `peso_${'A'.repeat(12)}_${'b'.repeat(43)}`],
  ])('closes the socket with 4403 for %s', async (_label, credential) => {
    const { closes } = connect(server, credential());
    await waitFor(() => closes.length > 0, 'the socket to close');
    expect(closes).toEqual([4403]);
  });

  it('closes the socket with 4403 for a revoked API key', async () => {
    const key = await createApiKey(server, owner.token);
    const revoked = await server.gql(REVOKE_API_KEY, { id: key.id }, owner.token);
    expect(revoked.data?.revokeApiKey).toMatchObject({ __typename: 'ApiKey', active: false });

    const { closes } = connect(server, key.secret);
    await waitFor(() => closes.length > 0, 'the socket to close');
    expect(closes).toEqual([4403]);
  });

  it('accepts a connection without a credential, but refuses the heartbeat with UNAUTHENTICATED', async () => {
    const { client, closes } = connect(server);
    const sub = subscribe(client, HEARTBEAT);
    await sub.done;
    // The operation was answered, so the connection was acknowledged and stays open.
    expect(closes).toEqual([]);
    const results = sub.events as Array<{ data?: unknown; errors?: any[] }>;
    const errors = [...results.flatMap((r) => r.errors ?? []), ...(sub.errors.flat() as any[])];
    expect(codesOf(errors)).toContain('UNAUTHENTICATED');
    expect(results.filter((r) => r.data)).toEqual([]);

    // The same socket can still run anonymous operations.
    const { result } = await wsExecute(client, '{ __typename }');
    expect(result).toEqual({ data: { __typename: 'Query' } });
    expect(closes).toEqual([]);
  });
});

describe('with a valid token', () => {
  it('delivers heartbeats with the owner role', async () => {
    const { client, closes } = connect(server, owner.token);
    const sub = subscribe(client, HEARTBEAT);
    await waitFor(() => sub.events.length >= 2, 'two heartbeats', 5000);
    sub.dispose();
    for (const event of sub.events) {
      expect(event.errors).toBeUndefined();
      expect(event.data.heartbeat.role).toBe('OWNER');
      expect(Number.isNaN(Date.parse(event.data.heartbeat.at))).toBe(false);
    }
    expect(closes).toEqual([]);
  });

  it('runs queries over the same socket as over HTTP', async () => {
    const { client } = connect(server, owner.token);
    const query = '{ viewer { id kind role organization { id } } }';
    const ws = await wsExecute(client, query);
    const http = await server.gql(query, {}, owner.token);
    expect(ws.result).toEqual({ data: http.data });
    expect(ws.result?.data.viewer).toMatchObject({
      id: owner.userId,
      kind: 'USER',
      role: 'OWNER',
      organization: { id: owner.organizationId },
    });
  });

  it('returns the same validation errors over WS as over HTTP', async () => {
    const { client, closes } = connect(server, owner.token);
    const query = '{ viewer { id doesNotExist } }';
    const http = await server.gql(query, {}, owner.token);
    expect(http.status).toBe(400);
    expect(http.errors?.length).toBeGreaterThan(0);

    const ws = await wsExecute(client, query);
    expect(ws.result).toBeUndefined();
    const wsErrors = ws.errors.flat() as Array<{ message: string }>;
    expect(wsErrors.map((e) => e.message)).toEqual(http.errors!.map((e) => e.message));
    expect(closes).toEqual([]);
  });

  it('returns the same syntax errors over WS as over HTTP', async () => {
    const { client } = connect(server, owner.token);
    const query = '{ viewer { id ';
    const http = await server.gql(query, {}, owner.token);
    expect(http.errors?.length).toBeGreaterThan(0);
    const ws = await wsExecute(client, query);
    const wsErrors = ws.errors.flat() as Array<{ message: string }>;
    expect(wsErrors.map((e) => e.message)).toEqual(http.errors!.map((e) => e.message));
  });

  it('applies the same complexity limits over WS as over HTTP', async () => {
    // Far beyond the breadth limit (200) without any depth: rejected before any resolver runs.
    const fields = Array.from({ length: 300 }, (_, i) => `f${i}: id`).join(' ');
    const query = `{ viewer { ${fields} } }`;
    const http = await server.gql(query, {}, owner.token);
    expect(http.data ?? null).toBeNull();
    expect(http.errors?.length).toBeGreaterThan(0);

    const { client } = connect(server, owner.token);
    const ws = await wsExecute(client, query);
    const wsErrors = [...(ws.result?.errors ?? []), ...(ws.errors.flat() as any[])] as Array<{
      message: string;
    }>;
    expect(ws.result?.data ?? null).toBeNull();
    expect(wsErrors.map((e) => e.message)).toEqual(http.errors!.map((e) => e.message));
  });

  it('reports field argument validation the same way over WS as over HTTP', async () => {
    const query = 'subscription { heartbeat(intervalSeconds: 0) { at } }';
    const { client } = connect(server, owner.token);
    const ws = await wsExecute(client, query);
    const wsErrors = [...(ws.result?.errors ?? []), ...(ws.errors.flat() as any[])];
    expect(codesOf(wsErrors)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('another organization', () => {
  it('sees only its own role and organization', async () => {
    const other = await signUpOwner(server, 'ws-other');
    // The other person also joins the first organization, as a viewer.
    const invited = await server.gql(
      INVITE_MEMBER,
      { input: { email: other.email, name: 'other', role: 'VIEWER' } },
      owner.token,
    );
    expect(invited.data?.inviteMember).toMatchObject({
      __typename: 'InviteMemberPayload',
      temporaryPassword: null,
    });

    // With the token for their own organization they are its OWNER and see nothing of the first one.
    const { client } = connect(server, other.token);
    const sub = subscribe(client, HEARTBEAT);
    await waitFor(() => sub.events.length >= 1, 'a heartbeat');
    sub.dispose();
    expect(sub.events.map((e) => e.data?.heartbeat.role)).toEqual(['OWNER']);
    const { result } = await wsExecute(
      client,
      'query ($id: ID!) { viewer { organization { id } } node(id: $id) { id } }',
      { id: owner.organizationId },
    );
    expect(result).toEqual({
      data: { viewer: { organization: { id: other.organizationId } }, node: null },
    });

    // Acting in the first organization, their heartbeat carries their role there: VIEWER.
    const login = await server.gql(LOGIN, {
      input: { email: other.email, password: other.password, organizationId: owner.organizationId },
    });
    expect(login.data?.login.__typename).toBe('AuthPayload');
    const inFirst = connect(server, login.data!.login.token);
    const sub2 = subscribe(inFirst.client, HEARTBEAT);
    await waitFor(() => sub2.events.length >= 1, 'a heartbeat');
    sub2.dispose();
    expect(sub2.events.map((e) => e.data?.heartbeat.role)).toEqual(['VIEWER']);
  });
});

describe('credentials that stop being valid while the socket is open', () => {
  it('closes the socket with 4403 when its API key is revoked', async () => {
    const key = await createApiKey(server, owner.token, 'VIEWER');
    const { client, closes } = connect(server, key.secret);
    const sub = subscribe(client, HEARTBEAT);
    await waitFor(() => sub.events.length >= 1, 'a heartbeat');
    expect(sub.events[0].data.heartbeat.role).toBe('VIEWER');
    expect(closes).toEqual([]);

    const revoked = await server.gql(REVOKE_API_KEY, { id: key.id }, owner.token);
    expect(revoked.data?.revokeApiKey).toMatchObject({ __typename: 'ApiKey', active: false });

    await waitFor(() => closes.length > 0, 'the socket to close', 3000);
    expect(closes).toEqual([4403]);
    await sub.done;
  });

  it('closes the socket with 4403 once its token expires', async () => {
    const person = await signUpOwner(shortTtl, 'ws-ttl');
    const { client, closes } = connect(shortTtl, person.token);
    const sub = subscribe(client, HEARTBEAT);
    await waitFor(() => sub.events.length >= 1, 'a heartbeat');
    expect(sub.events[0].data.heartbeat.role).toBe('OWNER');

    // The token lives 2 s; the server re-checks every 200 ms.
    await waitFor(() => closes.length > 0, 'the socket to close', 5000);
    expect(closes).toEqual([4403]);
    await sub.done;

    // The expired token is refused over HTTP too.
    const res = await shortTtl.gql('{ viewer { id } }', {}, person.token);
    expect(codesOf(res.errors)).toEqual(['UNAUTHENTICATED']);
  });

  it('closes the socket with 4403 when the member is removed', async () => {
    const email = `ws-member-${Date.now()}@example.com`;
    const invited = await server.gql(
      INVITE_MEMBER,
      { input: { email, name: 'member', role: 'ANALYST' } },
      owner.token,
    );
    const payload = invited.data?.inviteMember;
    expect(payload?.__typename).toBe('InviteMemberPayload');
    const password = payload.temporaryPassword as string;
    expect(password).toEqual(expect.any(String));

    const login = await server.gql(LOGIN, { input: { email, password } });
    expect(login.data?.login.__typename).toBe('AuthPayload');
    const { client, closes } = connect(server, login.data!.login.token);
    const sub = subscribe(client, HEARTBEAT);
    await waitFor(() => sub.events.length >= 1, 'a heartbeat');
    expect(sub.events[0].data.heartbeat.role).toBe('ANALYST');

    // The owner's own socket must survive the removal of someone else.
    const ownerSocket = connect(server, owner.token);
    const ownerSub = subscribe(ownerSocket.client, HEARTBEAT);
    await waitFor(() => ownerSub.events.length >= 1, "the owner's heartbeat");

    const removed = await server.gql(
      REMOVE_MEMBER,
      { membershipId: payload.membership.id },
      owner.token,
    );
    expect(removed.data?.removeMember).toEqual({
      __typename: 'Membership',
      id: payload.membership.id,
    });

    await waitFor(() => closes.length > 0, 'the socket to close', 3000);
    expect(closes).toEqual([4403]);
    await sub.done;
    expect(ownerSocket.closes).toEqual([]);
    ownerSub.dispose();
  });
  it("closes the socket with 4403 when the member's role changes", async () => {
    const email = `ws-demoted-${Date.now()}@example.com`;
    const invited = await server.gql(
      INVITE_MEMBER,
      { input: { email, name: 'demoted', role: 'ANALYST' } },
      owner.token,
    );
    const payload = invited.data?.inviteMember;
    const login = await server.gql(LOGIN, {
      input: { email, password: payload.temporaryPassword },
    });
    const { client, closes } = connect(server, login.data!.login.token);
    const sub = subscribe(client, HEARTBEAT);
    await waitFor(() => sub.events.length >= 1, 'a heartbeat');
    expect(sub.events[0].data.heartbeat.role).toBe('ANALYST');
    const demoted = await server.gql(
      'mutation($id: ID!) { setMemberRole(membershipId: $id, role: VIEWER) { __typename } }',
      { id: payload.membership.id },
      owner.token,
    );
    expect(demoted.data?.setMemberRole.__typename).toBe('Membership');
    await waitFor(() => closes.length > 0, 'the socket to close', 3000);
    expect(closes).toEqual([4403]);
    expect(sub.events.every((e) => e.data.heartbeat.role === 'ANALYST')).toBe(true);
  });
});
