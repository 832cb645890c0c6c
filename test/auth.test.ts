import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpOwner, startTestServer, type TestServer } from './helpers/server';

const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      __typename
      ... on AuthPayload { token organizationId }
      ... on Error { code message }
    }
  }
`;
const VIEWER = '{ viewer { id kind role user { email } organization { id name } } }';
const CREATE_KEY = /* GraphQL */ `
  mutation CreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename
      ... on CreateApiKeyPayload { secret apiKey { id prefix role active } }
      ... on Error { code message }
    }
  }
`;
const REVOKE_KEY = /* GraphQL */ `
  mutation Revoke($id: ID!) {
    revokeApiKey(id: $id) { __typename ... on ApiKey { id active revokedAt } ... on Error { code } }
  }
`;
const INVITE = /* GraphQL */ `
  mutation Invite($input: InviteMemberInput!) {
    inviteMember(input: $input) {
      __typename
      ... on InviteMemberPayload { temporaryPassword membership { id role user { email } } }
      ... on Error { code message }
    }
  }
`;
const SET_ROLE = /* GraphQL */ `
  mutation SetRole($id: ID!, $role: Role!) {
    setMemberRole(membershipId: $id, role: $role) {
      __typename ... on Membership { id role } ... on Error { code message }
    }
  }
`;

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let other: Awaited<ReturnType<typeof signUpOwner>>;

async function invite(role: string, token = owner.token) {
  const email = `${role.toLowerCase()}-${Math.random().toString(36).slice(2)}@example.com`;
  const res = await server.gql(INVITE, { input: { email, name: role, role } }, token);
  const payload = res.data?.inviteMember;
  expect(payload?.__typename, JSON.stringify(res)).toBe('InviteMemberPayload');
  const login = await server.gql(LOGIN, { input: { email, password: payload.temporaryPassword } });
  expect(login.data?.login.__typename).toBe('AuthPayload');
  return { email, token: login.data!.login.token as string, membershipId: payload.membership.id };
}

async function createKey(role: string, extra: Record<string, unknown> = {}, token = owner.token) {
  const res = await server.gql(
    CREATE_KEY,
    { input: { name: `${role} key`, role, ...extra } },
    token,
  );
  return res.data?.createApiKey;
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'owner');
  other = await signUpOwner(server, 'other');
});
afterAll(() => server?.close());

describe('sign-up and login', () => {
  it('signs up and the token answers viewer', async () => {
    const res = await server.gql(VIEWER, {}, owner.token);
    expect(res.errors).toBeUndefined();
    expect(res.data?.viewer).toMatchObject({
      id: owner.userId,
      kind: 'USER',
      role: 'OWNER',
      user: { email: owner.email },
      organization: { id: owner.organizationId, name: 'owner org' },
    });
  });

  it('refuses a second account with the same email, in any case', async () => {
    const res = await server.gql(
      /* GraphQL */ `mutation($input: SignUpInput!) { signUp(input: $input) { __typename ... on Error { code message } } }`,
      {
        input: {
          email: owner.email.toUpperCase(),
          password: 'another long pw',
          name: 'x',
          organizationName: 'y',
        },
      },
    );
    expect(res.data?.signUp).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });

  it('validates sign-up input with BAD_USER_INPUT naming the field', async () => {
    const res = await server.gql(
      /* GraphQL */ `mutation($input: SignUpInput!) { signUp(input: $input) { __typename } }`,
      { input: { email: 'new@example.com', password: 'short', name: 'x', organizationName: 'y' } },
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain('password');
  });

  it('logs in with the right password and refuses a wrong one or unknown email alike', async () => {
    const ok = await server.gql(LOGIN, { input: { email: owner.email, password: owner.password } });
    expect(ok.data?.login).toMatchObject({
      __typename: 'AuthPayload',
      organizationId: owner.organizationId,
    });
    const wrong = await server.gql(LOGIN, {
      input: { email: owner.email, password: 'not the password' },
    });
    const unknown = await server.gql(LOGIN, {
      input: { email: 'nobody@example.com', password: 'whatever12' },
    });
    for (const res of [wrong, unknown]) {
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.errors?.[0]?.message).toBe('Invalid email or password.');
    }
  });

  it('never exposes the password hash in the schema', async () => {
    // Introspection is for signed-in callers (PESO_INTROSPECTION).
    const res = await server.gql('{ __type(name: "User") { fields { name } } }', {}, owner.token);
    const names = res.data?.__type.fields.map((f: { name: string }) => f.name);
    expect(names).toContain('email');
    expect(names.join(',')).not.toMatch(/password/i);
  });
});

describe('credentials', () => {
  it('answers an anonymous viewer query with UNAUTHENTICATED', async () => {
    const res = await server.gql('{ viewer { id } }');
    expect(res.data).toBeNull();
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('rejects malformed, forged and wrongly-signed tokens with 401 UNAUTHENTICATED', async () => {
    const [header, payload] = owner.token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    for (const credential of ['garbage', forged, 'peso_short', `${owner.token}x`]) {
      const res = await server.gql('{ viewer { id } }', {}, credential);
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const raw = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic abc' },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(raw.status).toBe(401);
  });

  it('rejects an expired token', async () => {
    const short = await startTestServer({ PESO_JWT_TTL_SECONDS: '1' });
    try {
      const session = await signUpOwner(short, 'ttl');
      expect((await short.gql('{ viewer { id } }', {}, session.token)).data?.viewer.id).toBe(
        session.userId,
      );
      await new Promise((r) => setTimeout(r, 2100));
      const res = await short.gql('{ viewer { id } }', {}, session.token);
      expect(res.errors?.[0]).toMatchObject({
        message: 'Token expired.',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    } finally {
      await short.close();
    }
  });
});

describe('API keys', () => {
  it('creates a key whose secret answers viewer, records last use, and lists it without the secret', async () => {
    const created = await createKey('ANALYST');
    expect(created.__typename).toBe('CreateApiKeyPayload');
    expect(created.secret).toMatch(/^peso_[A-Za-z0-9]{12}_/);
    const res = await server.gql(VIEWER, {}, created.secret);
    expect(res.data?.viewer).toMatchObject({
      id: created.apiKey.id,
      kind: 'API_KEY',
      role: 'ANALYST',
      user: null,
    });
    const list = await server.gql(
      '{ apiKeys(first: 50) { edges { node { id prefix lastUsedAt } } } }',
      {},
      owner.token,
    );
    const listed = list.data?.apiKeys.edges.find((e: any) => e.node.id === created.apiKey.id);
    expect(listed.node.prefix).toBe(created.apiKey.prefix);
    expect(listed.node.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(created.secret.slice('peso_'.length + 13));
  });

  it('revokes a key: it stops working at once', async () => {
    const created = await createKey('VIEWER');
    expect((await server.gql('{ viewer { id } }', {}, created.secret)).data?.viewer.id).toBe(
      created.apiKey.id,
    );
    const revoked = await server.gql(REVOKE_KEY, { id: created.apiKey.id }, owner.token);
    expect(revoked.data?.revokeApiKey).toMatchObject({ __typename: 'ApiKey', active: false });
    const res = await server.gql('{ viewer { id } }', {}, created.secret);
    expect(res.errors?.[0]).toMatchObject({
      message: 'API key revoked.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('refuses a key with a wrong secret for a real prefix', async () => {
    const created = await createKey('VIEWER');
    const tampered = `${created.secret.slice(0, -4)}AAAA`;
    const res = await server.gql('{ viewer { id } }', {}, tampered);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('expires keys and refuses expiry dates in the past', async () => {
    const past = await createKey('VIEWER', {
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    expect(past).toMatchObject({ __typename: 'InputError', code: 'BAD_USER_INPUT' });
    const soon = await createKey('VIEWER', {
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    });
    expect((await server.gql('{ viewer { id } }', {}, soon.secret)).data?.viewer.id).toBe(
      soon.apiKey.id,
    );
    await new Promise((r) => setTimeout(r, 1700));
    const res = await server.gql('{ viewer { id } }', {}, soon.secret);
    expect(res.errors?.[0]).toMatchObject({
      message: 'API key expired.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('an API key cannot mint further keys or grant more than its creator has', async () => {
    const admin = await createKey('ADMIN');
    const viaKey = await server.gql(
      CREATE_KEY,
      { input: { name: 'x', role: 'VIEWER' } },
      admin.secret,
    );
    expect(viaKey.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const adminMember = await invite('ADMIN');
    const ownerKey = await server.gql(
      CREATE_KEY,
      { input: { name: 'x', role: 'OWNER' } },
      adminMember.token,
    );
    expect(ownerKey.errors?.[0]).toMatchObject({
      message: 'An ADMIN cannot grant the OWNER role.',
      extensions: { code: 'FORBIDDEN' },
    });
  });
});

describe('role boundaries', () => {
  it('VIEWER and ANALYST cannot list keys, invite, or change roles; ADMIN can', async () => {
    const viewer = await invite('VIEWER');
    const analyst = await invite('ANALYST');
    const admin = await invite('ADMIN');
    for (const member of [viewer, analyst]) {
      const keys = await server.gql('{ apiKeys { edges { node { id } } } }', {}, member.token);
      expect(keys.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const inv = await server.gql(
        INVITE,
        { input: { email: 'z@example.com', name: 'z', role: 'VIEWER' } },
        member.token,
      );
      expect(inv.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const key = await server.gql(
        CREATE_KEY,
        { input: { name: 'x', role: 'VIEWER' } },
        member.token,
      );
      expect(key.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const role = await server.gql(
        SET_ROLE,
        { id: viewer.membershipId, role: 'ANALYST' },
        member.token,
      );
      expect(role.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const keys = await server.gql('{ apiKeys { edges { node { id } } } }', {}, admin.token);
    expect(keys.errors).toBeUndefined();
    const promoted = await server.gql(
      SET_ROLE,
      { id: viewer.membershipId, role: 'ANALYST' },
      admin.token,
    );
    expect(promoted.data?.setMemberRole).toMatchObject({
      __typename: 'Membership',
      role: 'ANALYST',
    });
    const me = await server.gql('{ viewer { role } }', {}, viewer.token);
    expect(me.data?.viewer.role).toBe('ANALYST');
  });

  it('an ADMIN cannot make owners or touch an owner; the last owner stays', async () => {
    const admin = await invite('ADMIN');
    const me = await server.gql('{ viewer { membership { id } } }', {}, owner.token);
    const ownerMembership = me.data?.viewer.membership.id;
    const makeOwner = await server.gql(
      SET_ROLE,
      { id: admin.membershipId, role: 'OWNER' },
      admin.token,
    );
    expect(makeOwner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const demote = await server.gql(SET_ROLE, { id: ownerMembership, role: 'VIEWER' }, admin.token);
    expect(demote.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const self = await server.gql(SET_ROLE, { id: ownerMembership, role: 'ADMIN' }, owner.token);
    expect(self.data?.setMemberRole).toMatchObject({
      __typename: 'ConflictError',
      code: 'CONFLICT',
    });
  });

  it('attributes are admin-only', async () => {
    const viewer = await invite('VIEWER');
    const set = await server.gql(
      'mutation($id: ID!) { setMemberAttributes(membershipId: $id, attributes: { region: "EU" }) { __typename ... on Membership { attributes } } }',
      { id: viewer.membershipId },
      owner.token,
    );
    expect(set.data?.setMemberAttributes.attributes).toEqual({ region: 'EU' });
    const read = await server.gql('{ viewer { membership { attributes } } }', {}, viewer.token);
    expect(read.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a removed member loses access at once', async () => {
    const viewer = await invite('VIEWER');
    const removed = await server.gql(
      'mutation($id: ID!) { removeMember(membershipId: $id) { __typename } }',
      { id: viewer.membershipId },
      owner.token,
    );
    expect(removed.data?.removeMember.__typename).toBe('Membership');
    const res = await server.gql('{ viewer { id } }', {}, viewer.token);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('cross-organization access', () => {
  it("resolves another org's node IDs as not found, never as forbidden", async () => {
    const key = await createKey('VIEWER');
    const ids = [owner.organizationId, owner.userId, key.apiKey.id];
    const res = await server.gql(
      'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      { ids },
      other.token,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.nodes).toEqual([null, null, null]);
    const one = await server.gql(
      'query($id: ID!) { node(id: $id) { id } }',
      { id: owner.organizationId },
      other.token,
    );
    expect(one.data?.node).toBeNull();
    const own = await server.gql(
      'query($id: ID!) { node(id: $id) { id } }',
      { id: other.organizationId },
      other.token,
    );
    expect(own.data?.node.id).toBe(other.organizationId);
  });

  it("cannot revoke or modify another org's key or member", async () => {
    const key = await createKey('VIEWER');
    const revoke = await server.gql(REVOKE_KEY, { id: key.apiKey.id }, other.token);
    expect(revoke.data?.revokeApiKey).toMatchObject({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
    });
    expect((await server.gql('{ viewer { id } }', {}, key.secret)).data?.viewer.id).toBe(
      key.apiKey.id,
    );
    const viewer = await invite('VIEWER');
    const role = await server.gql(
      SET_ROLE,
      { id: viewer.membershipId, role: 'ADMIN' },
      other.token,
    );
    expect(role.data?.setMemberRole).toMatchObject({ __typename: 'NotFoundError' });
  });

  it('refuses a global ID of the wrong type or a malformed one with BAD_USER_INPUT', async () => {
    const wrongType = await server.gql(REVOKE_KEY, { id: owner.userId }, owner.token);
    const malformed = await server.gql(REVOKE_KEY, { id: 'not-an-id' }, owner.token);
    for (const res of [wrongType, malformed]) {
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    const unknown = await server.gql(
      REVOKE_KEY,
      { id: encodeGlobalID('ApiKey', '00000000-0000-0000-0000-000000000000') },
      owner.token,
    );
    expect(unknown.data?.revokeApiKey.__typename).toBe('NotFoundError');
  });

  it('lists only its own members', async () => {
    const res = await server.gql(
      '{ members(first: 100) { edges { node { user { email } } } } }',
      {},
      other.token,
    );
    const emails = res.data?.members.edges.map((e: any) => e.node.user.email);
    expect(emails).toEqual([other.email]);
  });
});
