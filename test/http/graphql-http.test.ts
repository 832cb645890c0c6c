import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';

/**
 * GraphQL-over-HTTP conformance: every audit of `graphql-http` runs against the real server.
 * Some audits introspect (`__type`), which the default PESO_INTROSPECTION allows only to
 * signed-in callers: the audits send a member's token. Anonymous `{ __typename }` is checked
 * below, since it must work without a credential even though every Query field requires one.
 */
let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = (await signUpOwner(server)).token;
});

afterAll(async () => {
  await server?.close();
});

describe('GraphQL over HTTP audits', () => {
  // The URL is read lazily, when each audit runs: the server does not exist while tests are collected.
  const signedIn = (input: RequestInfo | URL, init?: RequestInit) =>
    fetch(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${token}` },
    });
  for (const audit of serverAudits({ url: () => server.graphqlUrl, fetchFn: signedIn })) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await audit.fn();
      const reason = result.status === 'ok' ? '' : `${result.status}: ${result.reason}`;
      expect(result.status, reason).not.toBe('error');
    });
  }
});

describe('anonymous access', () => {
  it('answers { __typename } without a credential', async () => {
    const res = await server.gql('{ __typename }');
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ __typename: 'Query' });
  });
});
