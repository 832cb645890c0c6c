import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let other: Awaited<ReturnType<typeof signUpOwner>>;

const TOPICS = `{ conversations { ... on ConversationList { nodes { externalId topics { topic } } } } }`;
const RUN = `query($id: ID!) { conversationRecategorize(id: $id) { __typename
  ... on ConversationRecategorize { status step totalSteps error } ... on Error { code } } }`;

async function ingest(token: string, records: object[]): Promise<void> {
  const res = await server.upload(
    `mutation($file: File!) { ingestConversations(file: $file, format: NDJSON) { ... on ConversationIngest { id } } }`,
    {},
    { name: 'r.ndjson', content: records.map((r) => JSON.stringify(r)).join('\n') },
    token,
  );
  const id = res.data!.ingestConversations.id;
  for (;;) {
    const run = await server.gql(
      `query($id: ID!) { conversationIngest(id: $id) { ... on ConversationIngest { status } } }`,
      { id },
      token,
    );
    if (run.data!.conversationIngest.status === 'SUCCEEDED') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const record = (externalId: string, text: string) => ({
  externalId,
  channel: 'chat',
  inbox: 'main',
  messages: [{ role: 'USER', text, sentAt: '2026-05-01T08:00:00Z' }],
});

const topicsOf = async (token: string) =>
  Object.fromEntries(
    (await server.gql(TOPICS, {}, token)).data!.conversations.nodes.map((n: any) => [
      n.externalId,
      n.topics.map((t: { topic: string }) => t.topic),
    ]),
  );

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'recategorize');
  other = await signUpOwner(server, 'recategorize-other');
  await ingest(owner.token, [
    record('r-1', 'The invoice shows a wrong amount'),
    record('r-2', 'My parcel is late'),
    record('r-3', 'Hello there'),
  ]);
  await ingest(other.token, [record('o-1', 'The invoice is wrong')]);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('re-categorization after a taxonomy change', () => {
  it('rewrites every conversation of the organization as a job with progress', async () => {
    expect(await topicsOf(owner.token)).toEqual({
      'r-1': ['billing'],
      'r-2': ['shipping'],
      'r-3': [],
    });
    const set = await server.gql(
      `mutation($t: JSONObject!) { setConversationTaxonomy(taxonomy: $t) { __typename } }`,
      { t: { finance: { invoice: 3 }, logistics: { parcel: 3 } } },
      owner.token,
    );
    expect(set.data!.setConversationTaxonomy.__typename).toBe('ConversationTaxonomy');
    // Existing conversations keep their topics until re-categorized.
    expect((await topicsOf(owner.token))['r-1']).toEqual(['billing']);

    const started = await server.gql(
      `mutation { recategorizeConversations { id status } }`,
      {},
      owner.token,
    );
    const id = started.data!.recategorizeConversations.id;
    let run: any;
    for (let i = 0; i < 600; i++) {
      run = (await server.gql(RUN, { id }, owner.token)).data!.conversationRecategorize;
      if (run.status === 'SUCCEEDED' || run.status === 'FAILED') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(run).toMatchObject({ status: 'SUCCEEDED', step: 3, totalSteps: 3, error: null });
    expect(await topicsOf(owner.token)).toEqual({
      'r-1': ['finance'],
      'r-2': ['logistics'],
      'r-3': [],
    });
    // Another organization's conversations keep their own taxonomy's topics, and its owner
    // cannot read this run.
    expect(await topicsOf(other.token)).toEqual({ 'o-1': ['billing'] });
    const foreign = await server.gql(RUN, { id }, other.token);
    expect(foreign.data!.conversationRecategorize.__typename).toBe('NotFoundError');
  });

  it('is for ADMIN and up', async () => {
    const viewer = await inviteMember(server, owner.token, 'ANALYST');
    const res = await server.gql(`mutation { recategorizeConversations { id } }`, {}, viewer.token);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
