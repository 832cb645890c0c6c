import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatRequest, type OpenAiServer, startOpenAiServer } from '../helpers/openai-server';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let openai: OpenAiServer;
let token: string;

/**
 * The model's answers, chosen unlike what the rules would say, so the test can tell which
 * categorizer wrote a conversation. "unknown-topic" makes it answer outside the schema.
 */
function reply(request: ChatRequest): string {
  const text = request.messages.find((m) => m.role === 'user')!.content;
  if (text.includes('unknown-topic'))
    return JSON.stringify({
      language: 'en',
      topics: [{ topic: 'weather', score: 1 }],
      intent: null,
      sentiment: 'NEUTRAL',
      sentimentScore: 0,
    });
  if (text.includes('by the way'))
    return JSON.stringify({
      language: 'es',
      topics: [{ topic: 'billing', score: 1 }],
      intent: 'REFUND_REQUEST',
      sentiment: 'NEGATIVE',
      sentimentScore: -0.8,
    });
  return JSON.stringify({
    language: 'es',
    topics: [
      { topic: 'refunds', score: 0.3 },
      { topic: 'shipping', score: 0.7 },
    ],
    intent: 'COMPLAINT',
    sentiment: 'MIXED',
    sentimentScore: -0.25,
  });
}

const INGEST = `mutation($file: File!) { ingestConversations(file: $file, format: NDJSON) {
  __typename ... on ConversationIngest { id } ... on Error { code message } } }`;
const CONVERSATION = `query($f: ConversationFilter) { conversations(filter: $f) { ... on ConversationList {
  nodes { id externalId language intent sentimentLabel sentimentScore topics { topic score }
    messages { sentimentLabel } } } } }`;

async function ingest(
  records: object[],
  auth = token,
): Promise<{ status: string; error: string | null }> {
  const res = await server.upload(
    INGEST,
    {},
    { name: 'c.ndjson', content: records.map((r) => JSON.stringify(r)).join('\n') },
    auth,
  );
  const id = res.data!.ingestConversations.id;
  if (!id) throw new Error(JSON.stringify(res));
  for (;;) {
    const run = await server.gql(
      `query($id: ID!) { conversationIngest(id: $id) { ... on ConversationIngest { status error } } }`,
      { id },
      auth,
    );
    const { status, error } = run.data!.conversationIngest;
    if (status === 'SUCCEEDED' || status === 'FAILED') return { status, error };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const record = (externalId: string, text: string) => ({
  externalId,
  channel: 'chat',
  inbox: 'main',
  messages: [
    { role: 'USER', text, sentAt: '2026-03-01T10:00:00Z' },
    { role: 'AGENT', text: 'Let me check.', sentAt: '2026-03-01T10:05:00Z' },
  ],
});

beforeAll(async () => {
  openai = await startOpenAiServer(reply);
  server = await startTestServer({
    PESO_WORKERS: '1',
    OPENAI_API_KEY: `sk-test-${randomBytes(8).toString('hex')}`,
    OPENAI_BASE_URL: openai.baseUrl,
  });
  token = (await signUpOwner(server, 'llm-categorize')).token;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await openai?.close();
});

describe('LLM categorizer', () => {
  it('is off until chosen: the rules categorize', async () => {
    const taxonomy = await server.gql(`{ conversationTaxonomy { categorizer } }`, {}, token);
    expect(taxonomy.data!.conversationTaxonomy.categorizer).toBe('RULES');
    expect(
      await ingest([record('rules-1', 'Where is my parcel? The tracking is not helpful.')]),
    ).toMatchObject({
      status: 'SUCCEEDED',
    });
    expect(openai.requests).toHaveLength(0);
  });

  it('categorizes through the model with a validated structured answer, from redacted text, cached by text', async () => {
    const set = await server.gql(
      `mutation($t: JSONObject!) { setConversationTaxonomy(taxonomy: $t, categorizer: LLM) {
        ... on ConversationTaxonomy { categorizer } ... on Error { code message } } }`,
      {
        t: {
          shipping: { parcel: 3, delivery: 3 },
          refunds: { refund: 3 },
          billing: { invoice: 3 },
        },
      },
      token,
    );
    expect(set.data!.setConversationTaxonomy).toEqual({ categorizer: 'LLM' });
    const text =
      'The parcel is late, write me at rosa.diaz@example.com. Thanks for the quick reply though!';
    expect(await ingest([record('llm-1', text)])).toMatchObject({ status: 'SUCCEEDED' });
    expect(openai.requests).toHaveLength(1);
    const request = openai.requests[0]!;
    expect(JSON.stringify(request)).not.toContain('rosa.diaz@example.com');
    expect(request.messages.find((m) => m.role === 'user')!.content).toContain('write me at ***');
    expect(request.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'categorize_conversation', strict: true },
    });
    // The taxonomy's topics are the only ones the schema allows.
    expect(JSON.stringify(request.response_format)).toContain(
      '"enum":["billing","refunds","shipping"]',
    );

    const read = async () =>
      (
        await server.gql(CONVERSATION, { f: { channel: 'chat' } }, token)
      ).data!.conversations.nodes.find((n: { externalId: string }) => n.externalId === 'llm-1');
    const conversation = await read();
    expect(conversation).toMatchObject({
      language: 'es',
      intent: 'COMPLAINT',
      sentimentLabel: 'MIXED',
      sentimentScore: -0.25,
      topics: [
        { topic: 'shipping', score: 0.7 },
        { topic: 'refunds', score: 0.3 },
      ],
    });
    // Messages keep their own rule-based sentiment.
    expect(conversation.messages[0].sentimentLabel).not.toBeNull();

    // The same text again (another external id): answered from the cache, no call.
    expect(await ingest([record('llm-2', text)])).toMatchObject({ status: 'SUCCEEDED' });
    expect(openai.requests).toHaveLength(1);
  });

  it('recategorizes on addMessage with the new message in the text', async () => {
    const list = await server.gql(CONVERSATION, { f: { channel: 'chat' } }, token);
    const id = list.data!.conversations.nodes.find(
      (n: { externalId: string }) => n.externalId === 'llm-1',
    ).id;
    const before = openai.requests.length;
    const res = await server.gql(
      `mutation($i: AddMessageInput!) { addMessage(input: $i) { ... on AddMessagePayload {
        conversation { intent sentimentLabel topics { topic } } } ... on Error { code message } } }`,
      { i: { conversationId: id, role: 'USER', text: 'And by the way I want the invoice fixed.' } },
      token,
    );
    expect(res.data!.addMessage.conversation).toEqual({
      intent: 'REFUND_REQUEST',
      sentimentLabel: 'NEGATIVE',
      topics: [{ topic: 'billing' }],
    });
    expect(openai.requests).toHaveLength(before + 1);
    const sent = openai.requests.at(-1)!.messages.find((m) => m.role === 'user')!.content;
    expect(sent.split('\n')).toHaveLength(2);
  });

  it('fails the run and writes nothing when the answer does not fit the schema', async () => {
    const result = await ingest([record('bad-1', 'unknown-topic here')]);
    expect(result.status).toBe('FAILED');
    expect(result.error).toMatch(/did not match the expected shape/);
    const list = await server.gql(CONVERSATION, { f: { channel: 'chat' } }, token);
    expect(
      list.data!.conversations.nodes.map((n: { externalId: string }) => n.externalId),
    ).not.toContain('bad-1');
  });

  it('is refused without a key (LLM_NOT_CONFIGURED), and another org keeps the rules', async () => {
    const other = await signUpOwner(server, 'llm-other');
    const taxonomy = await server.gql(`{ conversationTaxonomy { categorizer } }`, {}, other.token);
    expect(taxonomy.data!.conversationTaxonomy.categorizer).toBe('RULES');
    const plain = await startTestServer({ PESO_WORKERS: '0' });
    try {
      const owner = await signUpOwner(plain, 'llm-none');
      const res = await plain.gql(
        `mutation { setConversationTaxonomy(taxonomy: { bug: { crash: 1 } }, categorizer: LLM) {
          ... on ConversationTaxonomy { categorizer } ... on Error { code } } }`,
        {},
        owner.token,
      );
      expect(res.errors?.[0]?.extensions?.code).toBe('LLM_NOT_CONFIGURED');
    } finally {
      await plain.close();
    }
  });
});
