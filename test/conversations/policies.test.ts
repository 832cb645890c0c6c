import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';

/**
 * Row policies over conversation fields with `$viewer` references, from the attacker's side:
 * another organization, members of the same one whose policy filters rows out, masked text in
 * search, and every read path (list, one conversation, search, analytics, stream events).
 */
let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let chatViewer: Awaited<ReturnType<typeof inviteMember>>;
let euAnalyst: Awaited<ReturnType<typeof inviteMember>>;
let noAttribute: Awaited<ReturnType<typeof inviteMember>>;
const ids: Record<string, string> = {};

const LIST = `query($search: String) { conversations(search: $search) { ... on ConversationList {
  totalCount nodes { id externalId channel customerRef personalDataMasked messages { text } } } } }`;
const ONE = `query($id: ID!) { conversation(id: $id) { externalId } }`;
const ANALYTICS = `{ conversationAnalytics(from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z",
  granularity: MONTH, groupBy: CHANNEL) { ... on ConversationAnalytics {
  series { group volume } summary { volume } } } }`;
const POLICY = `mutation($input: ConversationPolicyInput!) { setConversationPolicy(input: $input) {
  __typename ... on ConversationPolicy { id rowFilter } ... on Error { code message } } }`;

const conversation = (
  externalId: string,
  channel: string,
  region: string,
  text: string,
  inbox = 'support',
) => ({
  externalId,
  channel,
  inbox,
  customerRef: `${externalId}@example.com`,
  customerAttributes: { region },
  messages: [
    { role: 'USER', text, sentAt: '2026-03-02T10:00:00Z' },
    { role: 'AGENT', text: 'On it.', sentAt: '2026-03-02T10:20:00Z' },
  ],
});

async function ingest(token: string, records: object[]): Promise<void> {
  const res = await server.upload(
    `mutation($file: File!) { ingestConversations(file: $file, format: NDJSON) { ... on ConversationIngest { id } } }`,
    {},
    { name: 'p.ndjson', content: records.map((r) => JSON.stringify(r)).join('\n') },
    token,
  );
  const id = res.data!.ingestConversations.id;
  for (;;) {
    const run = await server.gql(
      `query($id: ID!) { conversationIngest(id: $id) { ... on ConversationIngest { status error } } }`,
      { id },
      token,
    );
    const { status, error } = run.data!.conversationIngest;
    if (status === 'SUCCEEDED') return;
    if (status === 'FAILED') throw new Error(error);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const externalIds = (res: any): string[] =>
  res.data!.conversations.nodes.map((n: { externalId: string }) => n.externalId).sort();

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'row-policies');
  await ingest(owner.token, [
    conversation(
      'chat-eu',
      'chat',
      'eu',
      'The parcel never arrived, mail me at ana.lopez@example.com',
    ),
    conversation('chat-us', 'chat', 'us', 'I want a refund for the parcel'),
    conversation(
      'email-eu',
      'email',
      'eu',
      'The invoice is wrong, parcel fine, ring +44 20 7946 0958',
    ),
    conversation('email-us', 'email', 'us', 'Secret merger invoice question about the parcel'),
  ]);
  const all = await server.gql(LIST, {}, owner.token);
  for (const n of all.data!.conversations.nodes) ids[n.externalId] = n.id;

  chatViewer = await inviteMember(server, owner.token, 'VIEWER');
  euAnalyst = await inviteMember(server, owner.token, 'ANALYST');
  noAttribute = await inviteMember(server, owner.token, 'VIEWER');
  const attrs = await server.gql(
    `mutation($m: ID!, $a: JSONObject!) { setMemberAttributes(membershipId: $m, attributes: $a) { __typename } }`,
    { m: chatViewer.membershipId, a: { channel: 'chat' } },
    owner.token,
  );
  expect(attrs.errors).toBeUndefined();
  // One user: channel = $viewer.attributes.channel. The ANALYST role: customer.region = "eu".
  for (const input of [
    {
      principalKind: 'USER',
      userId: chatViewer.userId,
      rowFilter: { column: 'channel', eq: '$viewer.attributes.channel' },
    },
    {
      principalKind: 'USER',
      userId: noAttribute.userId,
      rowFilter: { column: 'channel', eq: '$viewer.attributes.channel' },
    },
    { principalKind: 'ROLE', role: 'ANALYST', rowFilter: { column: 'customer.region', eq: 'eu' } },
  ]) {
    const res = await server.gql(POLICY, { input }, owner.token);
    expect(res.data!.setConversationPolicy.__typename).toBe('ConversationPolicy');
  }
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('row policies over conversation fields', () => {
  it('the owner, with no policy, reads every conversation', async () => {
    const res = await server.gql(LIST, {}, owner.token);
    expect(externalIds(res)).toEqual(['chat-eu', 'chat-us', 'email-eu', 'email-us']);
  });

  it('limits a viewer to channel = $viewer.attributes.channel in lists, single reads and counts', async () => {
    const res = await server.gql(LIST, {}, chatViewer.token);
    expect(externalIds(res)).toEqual(['chat-eu', 'chat-us']);
    expect(res.data!.conversations.totalCount).toBe(2);
    for (const id of [ids['email-eu'], ids['email-us']]) {
      const one = await server.gql(ONE, { id }, chatViewer.token);
      expect(one.data!.conversation).toBeNull();
    }
    const mine = await server.gql(ONE, { id: ids['chat-eu'] }, chatViewer.token);
    expect(mine.data!.conversation).toEqual({ externalId: 'chat-eu' });
  });

  it('search finds only the viewer’s rows, on the masked text', async () => {
    const words = await server.gql(LIST, { search: 'parcel' }, chatViewer.token);
    expect(externalIds(words)).toEqual(['chat-eu', 'chat-us']);
    // A word only a filtered-out conversation holds finds nothing, not even a count.
    const hidden = await server.gql(LIST, { search: 'merger' }, chatViewer.token);
    expect(hidden.data!.conversations).toMatchObject({ totalCount: 0, nodes: [] });
    // Personal data stays masked in the viewer's own rows and cannot be found by guessing.
    const guess = await server.gql(LIST, { search: 'ana.lopez@example.com' }, chatViewer.token);
    expect(guess.data!.conversations.totalCount).toBe(0);
    const eu = (await server.gql(LIST, {}, chatViewer.token)).data!.conversations.nodes.find(
      (n: { externalId: string }) => n.externalId === 'chat-eu',
    );
    expect(eu.personalDataMasked).toBe(true);
    expect(eu.messages[0].text).toBe('The parcel never arrived, mail me at ***');
    expect(eu.customerRef).toBe('***');
  });

  it('analytics count only the viewer’s rows', async () => {
    const all = await server.gql(ANALYTICS, {}, owner.token);
    expect(all.data!.conversationAnalytics.summary.volume).toBe(4);
    const res = await server.gql(ANALYTICS, {}, chatViewer.token);
    expect(res.data!.conversationAnalytics.summary.volume).toBe(2);
    expect(res.data!.conversationAnalytics.series).toEqual([{ group: 'chat', volume: 2 }]);
  });

  it('a customer attribute filter on a role: customer.region = "eu"', async () => {
    const res = await server.gql(LIST, { search: 'invoice' }, euAnalyst.token);
    expect(externalIds(res)).toEqual(['email-eu']);
    const every = await server.gql(LIST, {}, euAnalyst.token);
    expect(externalIds(every)).toEqual(['chat-eu', 'email-eu']);
    const analytics = await server.gql(ANALYTICS, {}, euAnalyst.token);
    expect(analytics.data!.conversationAnalytics.summary.volume).toBe(2);
  });

  it('a $viewer attribute the viewer lacks matches nothing', async () => {
    const res = await server.gql(LIST, {}, noAttribute.token);
    expect(res.data!.conversations).toMatchObject({ totalCount: 0, nodes: [] });
    const analytics = await server.gql(ANALYTICS, {}, noAttribute.token);
    expect(analytics.data!.conversationAnalytics.summary.volume).toBe(0);
  });

  it('stream events reach a subscriber only for conversations the policy lets through', async () => {
    const query = `subscription($inbox: String!) { conversationEvents(inbox: $inbox) {
      kind conversationId message { text } } }`;
    const ws = subscribe(server.ws(chatViewer.token), query, { inbox: 'support' });
    const add = (id: string, text: string) =>
      server.gql(
        `mutation($input: AddMessageInput!) { addMessage(input: $input) { __typename } }`,
        { input: { conversationId: id, role: 'USER', text } },
        owner.token,
      );
    // Live once a first event of an allowed conversation reaches it.
    for (let i = 0; ws.events.length === 0 && i < 50; i++) {
      await add(ids['chat-us']!, 'still waiting');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seen = ws.events.length;
    expect(seen).toBeGreaterThan(0);
    await add(ids['email-eu']!, 'hidden merger details');
    await add(ids['chat-eu']!, 'any news? call 020 7946 0958');
    for (let i = 0; ws.events.length < seen + 1 && i < 50; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = ws.events.map((e: any) => e.data.conversationEvents);
    expect(events.map((e: any) => e.conversationId)).not.toContain(ids['email-eu']);
    expect(events.at(-1)).toMatchObject({ conversationId: ids['chat-eu'] });
    expect(JSON.stringify(events)).not.toContain('merger');
    ws.dispose();
  });

  it('another organization sees none of it and cannot name these members', async () => {
    const other = await signUpOwner(server, 'row-policies-other');
    const res = await server.gql(LIST, { search: 'parcel' }, other.token);
    expect(res.data!.conversations).toMatchObject({ totalCount: 0, nodes: [] });
    const one = await server.gql(ONE, { id: ids['chat-eu'] }, other.token);
    expect(one.data!.conversation).toBeNull();
    const policy = await server.gql(
      POLICY,
      {
        input: {
          principalKind: 'USER',
          userId: chatViewer.userId,
          rowFilter: { column: 'channel', eq: 'chat' },
        },
      },
      other.token,
    );
    expect(policy.data!.setConversationPolicy.__typename).toBe('NotFoundError');
  });

  it('refuses a row filter naming an unknown field or viewer reference', async () => {
    for (const [rowFilter, message] of [
      [{ column: 'text', contains: 'x' }, /No conversation field named "text"/],
      [{ column: 'channel', eq: '$viewer.password' }, /not a viewer reference/],
      [{ column: 'channel' }, /exactly one operator/],
    ] as const) {
      const res = await server.gql(
        POLICY,
        { input: { principalKind: 'ROLE', role: 'VIEWER', rowFilter } },
        owner.token,
      );
      expect(res.data!.setConversationPolicy).toMatchObject({ __typename: 'InputError' });
      expect(res.data!.setConversationPolicy.message).toMatch(message);
    }
  });
});
