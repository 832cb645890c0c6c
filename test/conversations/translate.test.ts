import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenAiServer, startOpenAiServer } from '../helpers/openai-server';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let openai: OpenAiServer;
let token: string;
let conversationId: string;

const TRANSLATE = /* GraphQL */ `
  mutation($id: ID!, $lang: String!) {
    translateConversation(id: $id, targetLanguage: $lang) {
      __typename
      ... on Conversation { messages { text translation(language: "fr") } }
      ... on Error { code message }
    }
  }
`;

beforeAll(async () => {
  openai = await startOpenAiServer((request) => {
    const text = request.messages.find((m) => m.role === 'user')!.content;
    return JSON.stringify({ translation: `[fr] ${text}` });
  });
  server = await startTestServer({
    PESO_WORKERS: '1',
    OPENAI_API_KEY: `sk-test-${randomBytes(8).toString('hex')}`,
    OPENAI_BASE_URL: openai.baseUrl,
  });
  token = (await signUpOwner(server, 'translate')).token;
  const record = {
    externalId: 't-1',
    channel: 'email',
    inbox: 'main',
    messages: [
      {
        role: 'USER',
        text: 'My email is jo.ann@example.com, where is my parcel?',
        sentAt: '2026-02-01T10:00:00Z',
      },
      { role: 'AGENT', text: 'It ships tomorrow.', sentAt: '2026-02-01T10:10:00Z' },
    ],
  };
  const res = await server.upload(
    `mutation($file: File!) { ingestConversations(file: $file, format: NDJSON) { ... on ConversationIngest { id } } }`,
    {},
    { name: 't.ndjson', content: JSON.stringify(record) },
    token,
  );
  const runId = res.data!.ingestConversations.id;
  for (;;) {
    const run = await server.gql(
      `query($id: ID!) { conversationIngest(id: $id) { ... on ConversationIngest { status } } }`,
      { id: runId },
      token,
    );
    if (run.data!.conversationIngest.status === 'SUCCEEDED') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const list = await server.gql(
    `{ conversations { ... on ConversationList { nodes { id } } } }`,
    {},
    token,
  );
  conversationId = list.data!.conversations.nodes[0].id;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await openai?.close();
});

describe('translateConversation', () => {
  it('sends only redacted text, stores the translations and serves them from storage', async () => {
    const res = await server.gql(TRANSLATE, { id: conversationId, lang: 'fr' }, token);
    const messages = res.data!.translateConversation.messages;
    expect(messages.map((m: any) => m.translation)).toEqual([
      '[fr] My email is ***, where is my parcel?',
      '[fr] It ships tomorrow.',
    ]);
    expect(openai.requests).toHaveLength(2);
    expect(JSON.stringify(openai.requests)).not.toContain('jo.ann@example.com');
    const again = await server.gql(TRANSLATE, { id: conversationId, lang: 'FR' }, token);
    expect(again.data!.translateConversation.messages[1].translation).toBe(
      '[fr] It ships tomorrow.',
    );
    expect(openai.requests).toHaveLength(2);
    const viewer = await inviteMember(server, token, 'VIEWER');
    const read = await server.gql(
      `query($id: ID!) { conversation(id: $id) { messages { text translation(language: "fr") } } }`,
      { id: conversationId },
      viewer.token,
    );
    expect(read.data!.conversation.messages[0]).toEqual({
      text: 'My email is ***, where is my parcel?',
      translation: '[fr] My email is ***, where is my parcel?',
    });
  });

  it('refuses a bad language and another organization', async () => {
    const bad = await server.gql(TRANSLATE, { id: conversationId, lang: 'french' }, token);
    expect(bad.data!.translateConversation).toMatchObject({
      __typename: 'InputError',
      code: 'BAD_USER_INPUT',
    });
    const other = await signUpOwner(server, 'other');
    const res = await server.gql(TRANSLATE, { id: conversationId, lang: 'de' }, other.token);
    expect(res.data!.translateConversation).toMatchObject({ __typename: 'NotFoundError' });
    expect(openai.requests).toHaveLength(2);
  });
});
