/**
 * Attacker's view of long-lived streams: a credential that loses its rights (a revoked key, a
 * removed member, a demoted member) must not keep a stream open on any transport, even when no
 * event comes. Over SSE there is no socket to close: the stream helper's own re-check ends each
 * stream within PESO_AUTH_RECHECK_MS (short here); over WebSocket the socket is closed as well.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiKey,
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let datasetId: string;

const HEARTBEAT = 'subscription { heartbeat(intervalSeconds: 300) { role } }';
const INGESTION = `subscription($id: ID!) { datasetIngestion(datasetId: $id) { status } }`;
const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`;
const REMOVE_MEMBER = `mutation($id: ID!) { removeMember(membershipId: $id) { __typename } }`;
const SET_ROLE = `mutation($id: ID!, $role: Role!) { setMemberRole(membershipId: $id, role: $role) { __typename } }`;

/** An ADMIN key with a policy naming it on the dataset (a key sees only such datasets). */
async function key() {
  const created = await createApiKey(server, owner.token, 'ADMIN');
  const policy = await server.gql(
    `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) { __typename } }`,
    { input: { datasetId, apiKeyId: created.id } },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
  return created;
}

/** Resolves when every stream has ended; fails the test if one is still open after `ms`. */
async function ended(streams: Array<Promise<void>>, ms = 10_000) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('a stream stayed open')), ms);
  });
  try {
    await Promise.race([Promise.all(streams), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens a heartbeat and an ingestion stream over SSE, waiting until the heartbeat has ticked. */
async function openStreams(credential: string) {
  const heartbeat = sseSubscribe(server.graphqlUrl, HEARTBEAT, {}, credential);
  const ingestion = sseSubscribe(server.graphqlUrl, INGESTION, { id: datasetId }, credential);
  const deadline = Date.now() + 10_000;
  while (heartbeat.events.length === 0) {
    if (Date.now() > deadline) throw new Error('no heartbeat');
    await new Promise((r) => setTimeout(r, 20));
  }
  return [heartbeat, ingestion];
}

beforeAll(async () => {
  server = await startTestServer({ PESO_AUTH_RECHECK_MS: '200' });
  owner = await signUpOwner(server, 'revocation');
  const created = await server.gql(
    `mutation { createDataset(input: { name: "streams" }) { ... on Dataset { id } } }`,
    {},
    owner.token,
  );
  datasetId = created.data!.createDataset.id as string;
}, 60_000);
afterAll(() => server?.close());

describe('streams end when their credential loses its rights, with no event to carry it', () => {
  it('a revoked API key: SSE streams end, the WebSocket closes', async () => {
    const { id, secret } = await key();
    const streams = await openStreams(secret);
    let closedWith: number | null = null;
    const ws = subscribe(
      server.ws(secret, (code) => (closedWith = code)),
      HEARTBEAT,
    );
    await server.gql(REVOKE_KEY, { id }, owner.token);
    await ended([...streams.map((s) => s.done), ws.done]);
    for (const s of streams) expect(s.events.every((e) => !e.errors)).toBe(true);
    // The stream ends at the first re-check; the socket itself is closed by the WebSocket's own.
    const deadline = Date.now() + 10_000;
    while (closedWith === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(closedWith).toBe(4403);
  });

  it('a removed member: SSE streams end', async () => {
    const member = await inviteMember(server, owner.token, 'ANALYST');
    const streams = await openStreams(member.token);
    const removed = await server.gql(REMOVE_MEMBER, { id: member.membershipId }, owner.token);
    expect(removed.data?.removeMember.__typename, JSON.stringify(removed)).toBe('Membership');
    await ended(streams.map((s) => s.done));
  });

  it('a demoted member: SSE streams end (the caller resubscribes with its new rights)', async () => {
    const member = await inviteMember(server, owner.token, 'ADMIN');
    const streams = await openStreams(member.token);
    expect(streams[0]!.events[0].data.heartbeat).toEqual({ role: 'ADMIN' });
    const demoted = await server.gql(
      SET_ROLE,
      { id: member.membershipId, role: 'VIEWER' },
      owner.token,
    );
    expect(demoted.data?.setMemberRole.__typename, JSON.stringify(demoted)).toBe('Membership');
    await ended(streams.map((s) => s.done));
    // Resubscribing shows the new role.
    const again = await openStreams(member.token);
    expect(again[0]!.events[0].data.heartbeat).toEqual({ role: 'VIEWER' });
    for (const s of again) s.close();
  });

  it('a caller who keeps its rights keeps its streams', async () => {
    const { secret } = await key();
    const streams = await openStreams(secret);
    // Several re-check periods pass; the streams are still open.
    await new Promise((r) => setTimeout(r, 1_000));
    const finished = await Promise.race([
      Promise.any(streams.map((s) => s.done.then(() => true))),
      new Promise<false>((r) => setTimeout(() => r(false), 100)),
    ]);
    expect(finished).toBe(false);
    for (const s of streams) s.close();
  });
});
