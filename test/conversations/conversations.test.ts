import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../db/client';
import {
  countOf,
  createApiKey,
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;

const INGEST = /* GraphQL */ `
  mutation($file: File!, $format: ConversationFileFormat!, $skipInvalid: Boolean) {
    ingestConversations(file: $file, format: $format, skipInvalid: $skipInvalid) {
      __typename
      ... on ConversationIngest { id status }
      ... on ConversationIngestError { code message problems { line message } }
      ... on Error { code message }
    }
  }
`;

const RUN = /* GraphQL */ `
  query($id: ID!) { conversationIngest(id: $id) {
    __typename ... on ConversationIngest { status step totalSteps created updated error skipped { line message } }
  } }
`;

const LIST = /* GraphQL */ `
  query($filter: ConversationFilter, $search: String) {
    conversations(filter: $filter, search: $search) {
      __typename
      ... on ConversationList {
        totalCount
        nodes { id externalId inbox customerRef language intent sentimentLabel firstResponseSeconds
          resolutionSeconds personalDataMasked topics { topic score }
          messages { role text language sentimentLabel personalDataMasked } }
      }
      ... on Error { code message }
    }
  }
`;

function conversation(id: string, overrides: Record<string, unknown> = {}) {
  return {
    externalId: id,
    channel: 'chat',
    inbox: 'support',
    customerRef: 'maria.lopez@example.com',
    status: 'RESOLVED',
    messages: [
      {
        role: 'USER',
        text: 'Hi, I was charged twice on my invoice. Email me at maria.lopez@example.com or call +1 415-555-0132.',
        sentAt: '2026-03-01T10:00:00Z',
      },
      {
        role: 'AGENT',
        text: 'Sorry about that, I have issued a refund.',
        sentAt: '2026-03-01T10:05:00Z',
      },
      {
        role: 'USER',
        text: 'Thanks, the agent was helpful but the app is terrible.',
        sentAt: '2026-03-01T10:30:00Z',
      },
    ],
    ...overrides,
  };
}

const ndjson = (items: unknown[]) => items.map((i) => JSON.stringify(i)).join('\n');

async function ingest(
  token: string,
  content: string,
  format = 'NDJSON',
  skipInvalid = false,
): Promise<any> {
  const res = await server.upload(
    INGEST,
    { format, skipInvalid },
    { name: `conversations.${format.toLowerCase()}`, content },
    token,
  );
  expect(res.errors).toBeUndefined();
  const payload = res.data!.ingestConversations;
  if (payload.__typename !== 'ConversationIngest') return payload;
  for (;;) {
    const run = (await server.gql(RUN, { id: payload.id }, token)).data!.conversationIngest;
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'conv');
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe('ingestion', () => {
  it('ingests NDJSON and categorizes each conversation', async () => {
    const run = await ingest(owner.token, ndjson([conversation('c-1'), conversation('c-2')]));
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      step: 2,
      totalSteps: 2,
      created: 2,
      updated: 0,
    });
    const res = await server.gql(LIST, { filter: { inbox: 'support' } }, owner.token);
    const list = res.data!.conversations;
    expect(list.totalCount).toBe(2);
    const c = list.nodes.find((n: any) => n.externalId === 'c-1');
    expect(c).toMatchObject({
      language: 'en',
      firstResponseSeconds: 300,
      resolutionSeconds: 1800,
      personalDataMasked: false,
      customerRef: 'maria.lopez@example.com',
    });
    expect(c.topics[0].topic).toBe('billing');
    expect(c.messages[2].sentimentLabel).toMatch(/NEGATIVE|MIXED/);
    expect(c.messages[0].text).toContain('maria.lopez@example.com');
  });

  it('re-ingesting updates by external id and never duplicates', async () => {
    const changed = conversation('c-1', { inbox: 'billing' });
    const run = await ingest(owner.token, ndjson([changed, conversation('c-3')]));
    expect(run).toMatchObject({ status: 'SUCCEEDED', created: 1, updated: 1 });
    const again = await ingest(owner.token, ndjson([changed, conversation('c-3')]));
    expect(again).toMatchObject({ status: 'SUCCEEDED', created: 0, updated: 2 });
    expect(
      await countOf(
        server,
        "select count(*)::int as n from conversations where external_id = 'c-1'",
      ),
    ).toBe(1);
    expect(
      await countOf(
        server,
        "select count(*)::int as n from conversation_messages m join conversations c on c.id = m.conversation_id where c.external_id = 'c-1'",
      ),
    ).toBe(3);
    const res = await server.gql(LIST, {}, owner.token);
    expect(res.data!.conversations.totalCount).toBe(3);
  });

  it('writes a batch as record after record: a repeated external id, new and known ones mixed', async () => {
    const other = await signUpOwner(server, 'conv-batch');
    const known = await ingest(other.token, ndjson([conversation('b-0', { inbox: 'first' })]));
    expect(known).toMatchObject({ status: 'SUCCEEDED', created: 1, updated: 0 });
    const later = [
      { role: 'AGENT', text: 'Done, it is cancelled.', sentAt: '2026-03-02T10:10:00Z' },
      { role: 'USER', text: 'Please cancel my subscription.', sentAt: '2026-03-02T10:00:00Z' },
    ];
    const run = await ingest(
      other.token,
      ndjson([
        conversation('b-1', { inbox: 'draft' }),
        conversation('b-0', { inbox: 'second' }),
        conversation('b-1', { inbox: 'final', status: 'OPEN', messages: later }),
        conversation('b-2'),
      ]),
    );
    // Every record counts once: b-1 is created by its first line and updated by its second.
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      step: 4,
      totalSteps: 4,
      created: 2,
      updated: 2,
    });
    const res = await server.gql(LIST, {}, other.token);
    const nodes = res.data!.conversations.nodes as any[];
    expect(nodes.map((n) => n.externalId).sort()).toEqual(['b-0', 'b-1', 'b-2']);
    const b1 = nodes.find((n) => n.externalId === 'b-1');
    // The later line won, its messages ordered by time whatever their order in the file.
    expect(b1).toMatchObject({ inbox: 'final', intent: 'CANCEL', resolutionSeconds: null });
    expect(b1.messages.map((m: any) => m.role)).toEqual(['USER', 'AGENT']);
    expect(nodes.find((n) => n.externalId === 'b-0')).toMatchObject({ inbox: 'second' });
    expect(nodes.find((n) => n.externalId === 'b-0').messages).toHaveLength(3);
    expect(
      await countOf(
        server,
        "select count(*)::int as n from conversation_messages m join conversations c on c.id = m.conversation_id where c.external_id in ('b-0', 'b-1', 'b-2')",
      ),
    ).toBe(8);
  });

  it('stores a file of several batches in chunks as it reads it, and none when it refuses it', async () => {
    const other = await signUpOwner(server, 'conv-chunks');
    const records: unknown[] = Array.from({ length: 450 }, (_, i) =>
      conversation(`k-${i}`, { inbox: 'chunks' }),
    );
    records[299] = { externalId: 'k-bad', channel: 'chat' };
    const chunks = () =>
      countOf(server, 'select count(*)::int as n from conversation_ingest_chunks');
    const before = await chunks();
    const refused = await ingest(other.token, ndjson(records));
    expect(refused).toMatchObject({ code: 'INVALID_RECORDS', problems: [{ line: 300 }] });
    expect(await chunks()).toBe(before);
    const run = await ingest(other.token, ndjson(records), 'NDJSON', true);
    expect(run).toMatchObject({ status: 'SUCCEEDED', step: 449, totalSteps: 449, created: 449 });
    const [{ sizes }] = (await query<{ sizes: number[] }>(
      server.database,
      `select array_agg(jsonb_array_length(records) order by seq) as sizes
         from conversation_ingest_chunks k join conversation_ingest_runs r on r.id = k.run_id
        where r.status = 'SUCCEEDED' and r.total_steps = 449`,
    )) as [{ sizes: number[] }];
    expect(sizes.map(Number)).toEqual([200, 200, 49]);
    expect(
      await countOf(server, "select count(*)::int as n from conversations where inbox = 'chunks'"),
    ).toBe(449);
  });

  it('resumes a failed ingest after its last committed batch, writing nothing twice', async () => {
    const records = [
      conversation('r-1', { inbox: 'resume' }),
      conversation('r-2', { inbox: 'resume' }),
      conversation('r-3', { inbox: 'resume' }),
    ];
    const done = await ingest(owner.token, ndjson(records));
    expect(done.status).toBe('SUCCEEDED');
    const [latest] = await query<{ id: string }>(
      server.database,
      'select id from conversation_ingest_runs order by created_at desc limit 1',
    );
    const runId = latest!.id;
    // What a worker killed after its first committed batch leaves, once the reaper has failed
    // the run: one record counted and written, the rest neither.
    await query(server.database, `delete from conversations where external_id in ('r-2', 'r-3')`);
    await query(
      server.database,
      `update conversation_ingest_runs set status = 'FAILED', created = 1, updated = 0, step = 1,
         error = 'The worker stopped responding.' where id = '${runId}'`,
    );
    const [before] = await query<{ updated_at: unknown }>(
      server.database,
      `select updated_at from conversations where external_id = 'r-1'`,
    );
    const ok = await server.gql(
      `mutation($id: ID!) { resumeConversationIngest(id: $id) { __typename ... on ConversationIngest { id } } }`,
      { id: runId },
      owner.token,
    );
    expect(ok.data!.resumeConversationIngest.__typename).toBe('ConversationIngest');
    let run: any;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      run = (await server.gql(RUN, { id: runId }, owner.token)).data!.conversationIngest;
    } while (!['SUCCEEDED', 'FAILED'].includes(run.status));
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      created: 3,
      updated: 0,
      step: 3,
      error: null,
    });
    expect(
      await countOf(server, "select count(*)::int as n from conversations where inbox = 'resume'"),
    ).toBe(3);
    const [after] = await query<{ updated_at: unknown }>(
      server.database,
      `select updated_at from conversations where external_id = 'r-1'`,
    );
    expect(String(after!.updated_at)).toBe(String(before!.updated_at));
    const again = await server.gql(
      `mutation($id: ID!) { resumeConversationIngest(id: $id) { __typename ... on Error { code } } }`,
      { id: runId },
      owner.token,
    );
    expect(again.data!.resumeConversationIngest).toEqual({
      __typename: 'ConflictError',
      code: 'CONFLICT',
    });
  });

  it('writes nothing when a record is bad, and reports every bad one by line', async () => {
    const before = await countOf(server, 'select count(*)::int as n from conversations');
    const runsBefore = await countOf(
      server,
      'select count(*)::int as n from conversation_ingest_runs',
    );
    const content = [
      JSON.stringify(conversation('bad-ok-1')),
      JSON.stringify({ ...conversation('bad-1'), messages: [] }),
      '{not json',
      JSON.stringify(conversation('bad-ok-2', { channel: '' })),
    ].join('\n');
    const error = await ingest(owner.token, content);
    expect(error.__typename).toBe('ConversationIngestError');
    expect(error.code).toBe('INVALID_RECORDS');
    expect(error.problems.map((p: any) => p.line)).toEqual([2, 3, 4]);
    expect(error.problems[0].message).toContain('messages');
    expect(await countOf(server, 'select count(*)::int as n from conversations')).toBe(before);
    expect(await countOf(server, 'select count(*)::int as n from conversation_ingest_runs')).toBe(
      runsBefore,
    );

    const run = await ingest(owner.token, content, 'NDJSON', true);
    expect(run).toMatchObject({ status: 'SUCCEEDED', created: 1 });
    expect(run.skipped.map((p: any) => p.line)).toEqual([2, 3, 4]);
    expect(await countOf(server, 'select count(*)::int as n from conversations')).toBe(before + 1);
  });

  it('ingests CSV (one message per row) and JSON', async () => {
    const csv = [
      'external_id,channel,inbox,customer_ref,status,role,author,text,sent_at',
      'csv-1,email,sales,,OPEN,USER,,"Hola, necesito ayuda con mi factura",2026-03-02T09:00:00Z',
      'csv-1,email,sales,,OPEN,AGENT,Ana,Claro que sí,2026-03-02T09:10:00Z',
      'csv-2,email,sales,,OPEN,SOMEONE,,hello,2026-03-02T09:00:00Z',
    ].join('\n');
    const bad = await ingest(owner.token, csv, 'CSV');
    expect(bad.problems).toEqual([{ line: 4, message: expect.stringContaining('role') }]);
    const run = await ingest(owner.token, csv, 'CSV', true);
    expect(run).toMatchObject({ status: 'SUCCEEDED', created: 1 });
    const res = await server.gql(LIST, { filter: { inbox: 'sales' } }, owner.token);
    expect(res.data!.conversations.nodes[0]).toMatchObject({
      externalId: 'csv-1',
      language: 'es',
      firstResponseSeconds: 600,
    });
    const json = await ingest(
      owner.token,
      JSON.stringify([conversation('json-1', { inbox: 'json' })]),
      'JSON',
    );
    expect(json).toMatchObject({ status: 'SUCCEEDED', created: 1 });
  });
});

describe('access', () => {
  it('another organization sees none of them', async () => {
    const other = await signUpOwner(server, 'intruder');
    const res = await server.gql(LIST, { search: 'invoice' }, other.token);
    expect(res.data!.conversations).toMatchObject({ totalCount: 0, nodes: [] });
    const [{ id }] = (await server.gql(LIST, { filter: { inbox: 'support' } }, owner.token)).data!
      .conversations.nodes;
    const one = await server.gql(
      `query($id: ID!) { conversation(id: $id) { id } }`,
      { id },
      other.token,
    );
    expect(one.data!.conversation).toBeNull();
    const add = await server.gql(
      `mutation($input: AddMessageInput!) { addMessage(input: $input) { __typename ... on Error { code } } }`,
      { input: { conversationId: id, role: 'USER', text: 'injected' } },
      other.token,
    );
    expect(add.data!.addMessage).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });

  it('an API key reads nothing until a policy names it, then only its inboxes', async () => {
    const key = await createApiKey(server, owner.token, 'ANALYST');
    const none = await server.gql(LIST, {}, key.secret);
    expect(none.data!.conversations.totalCount).toBe(0);
    const ingestByKey = await server.upload(
      INGEST,
      { format: 'NDJSON' },
      { name: 'c.ndjson', content: ndjson([conversation('key-1')]) },
      key.secret,
    );
    expect(ingestByKey.data!.ingestConversations.code).toBe('NOT_FOUND');
    const policy = await server.gql(
      `mutation($input: ConversationPolicyInput!) { setConversationPolicy(input: $input) {
        __typename ... on ConversationPolicy { inboxes personalData } ... on Error { code message } } }`,
      { input: { principalKind: 'API_KEY', apiKeyId: key.id, inboxes: ['support'] } },
      owner.token,
    );
    expect(policy.data!.setConversationPolicy).toMatchObject({ inboxes: ['support'] });
    const some = await server.gql(LIST, {}, key.secret);
    const nodes = some.data!.conversations.nodes;
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((n: any) => n.inbox === 'support' && n.personalDataMasked)).toBe(true);
    expect(nodes[0].customerRef).toBe('***');
  });

  it('a VIEWER reads personal data redacted and cannot find it by searching', async () => {
    const viewer = await inviteMember(server, owner.token, 'VIEWER');
    const res = await server.gql(LIST, { filter: { inbox: 'support' } }, viewer.token);
    const [c] = res.data!.conversations.nodes;
    expect(c.personalDataMasked).toBe(true);
    expect(c.customerRef).toBe('***');
    const text = c.messages[0].text as string;
    expect(text).not.toContain('maria.lopez@example.com');
    expect(text).not.toContain('415-555-0132');
    expect(text).toContain('charged twice on my invoice');
    const found = await server.gql(LIST, { search: 'maria.lopez@example.com' }, viewer.token);
    expect(found.data!.conversations.totalCount).toBe(0);
    const byWord = await server.gql(LIST, { search: 'invoice' }, viewer.token);
    expect(byWord.data!.conversations.totalCount).toBeGreaterThan(0);
    const admin = await server.gql(LIST, { search: 'maria.lopez@example.com' }, owner.token);
    expect(admin.data!.conversations.totalCount).toBeGreaterThan(0);
    const audited = await countOf(
      server,
      `select count(*)::int as n from audit_events where action like 'conversations.%' and user_id = '${Buffer.from(viewer.userId, 'base64').toString().split(':')[1]}'`,
    );
    expect(audited).toBe(3);
  });
});

describe('translation', () => {
  it('says LLM_NOT_CONFIGURED without a key', async () => {
    const [c] = (await server.gql(LIST, {}, owner.token)).data!.conversations.nodes;
    const res = await server.gql(
      `mutation($id: ID!) { translateConversation(id: $id, targetLanguage: "fr") { __typename } }`,
      { id: c.id },
      owner.token,
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('LLM_NOT_CONFIGURED');
  });
});

describe('taxonomy', () => {
  it('only an admin sets it, a bad one is refused, and new messages use it', async () => {
    const SET = `mutation($t: JSONObject!) { setConversationTaxonomy(taxonomy: $t) {
      __typename ... on InputError { code field } ... on ConversationTaxonomy { topics } } }`;
    const analyst = await inviteMember(server, owner.token, 'ANALYST');
    const denied = await server.gql(SET, { t: { x: { y: 1 } } }, analyst.token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await server.gql(SET, { t: { x: { y: 'heavy' } } }, owner.token);
    expect(bad.data!.setConversationTaxonomy).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'taxonomy',
    });
    const ok = await server.gql(SET, { t: { onboarding: { tutorial: 2 } } }, owner.token);
    expect(ok.data!.setConversationTaxonomy.topics).toEqual({ onboarding: { tutorial: 2 } });
    const [c] = (await server.gql(LIST, { filter: { inbox: 'billing' } }, owner.token)).data!
      .conversations.nodes;
    const added = await server.gql(
      `mutation($input: AddMessageInput!) { addMessage(input: $input) { __typename
        ... on AddMessagePayload { conversation { topics { topic } } } } }`,
      { input: { conversationId: c.id, role: 'USER', text: 'Is there a tutorial?' } },
      analyst.token,
    );
    expect(added.data!.addMessage.conversation.topics).toEqual([{ topic: 'onboarding' }]);
  });
});

describe('live messages', () => {
  it('addMessage updates analytics and streams the message as each subscriber may read it', async () => {
    const viewer = await inviteMember(server, owner.token, 'VIEWER');
    const [c] = (await server.gql(LIST, { filter: { inbox: 'support' } }, owner.token)).data!
      .conversations.nodes;
    const query = `subscription($inbox: String!) { conversationEvents(inbox: $inbox) {
      kind conversationId message { text role personalDataMasked } } }`;
    const wsViewer = subscribe(server.ws(viewer.token), query, { inbox: 'support' });
    const wsOther = subscribe(server.ws(viewer.token), query, { inbox: 'billing' });
    // The subscription is live once a first event reaches it; send until one does.
    const text = 'I want to cancel, write to bob.smith@example.org';
    let added: any;
    for (let i = 0; wsViewer.events.length === 0 && i < 50; i++) {
      added = await server.gql(
        `mutation($input: AddMessageInput!) { addMessage(input: $input) { __typename
          ... on AddMessagePayload { message { text sentimentLabel } conversation { intent } } } }`,
        { input: { conversationId: c.id, role: 'USER', text } },
        owner.token,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(added.data!.addMessage.message.text).toBe(text);
    const event = wsViewer.events[0].data.conversationEvents;
    expect(event).toMatchObject({ kind: 'MESSAGE_ADDED', conversationId: c.id });
    expect(event.message.personalDataMasked).toBe(true);
    expect(event.message.text).toBe('I want to cancel, write to ***');
    expect(wsOther.events).toEqual([]);
    wsViewer.dispose();
    wsOther.dispose();
  });
});
