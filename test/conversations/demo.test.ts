import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoConversations, seedDemoConversations } from '../../src/conversations/demo';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';

const END = new Date('2026-03-01T00:00:00Z');

describe('generated demo conversations', () => {
  it('are the same for the same seed and vary across languages, channels and sentiment', () => {
    const a = generateDemoConversations(200, 7, END);
    expect(generateDemoConversations(200, 7, END)).toEqual(a);
    expect(generateDemoConversations(200, 8, END)).not.toEqual(a);
    const labels = a.map((c) => (c.metadata as any).labels);
    expect(new Set(labels.map((l) => l.language)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(a.map((c) => c.channel)).size).toBe(3);
    expect(new Set(labels.map((l) => l.openingSentiment))).toEqual(
      new Set(['POSITIVE', 'NEGATIVE', 'NEUTRAL', 'MIXED']),
    );
    expect(a.every((c) => (c.metadata as any).generated === true)).toBe(true);
  });
});

describe('seeding', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('loads them categorized, with their languages detected as labelled', async () => {
    const owner = await signUpOwner(server, 'demo');
    const orgId = Buffer.from(owner.organizationId, 'base64').toString().split(':')[1]!;
    expect(
      await seedDemoConversations(server.database.db, orgId, null, {
        count: 60,
        seed: 3,
        end: END,
      }),
    ).toBe(60);
    const res = await server.gql(
      `{ conversations(first: 100) { ... on ConversationList { totalCount nodes { language metadata } } } }`,
      {},
      owner.token,
    );
    const { totalCount, nodes } = res.data!.conversations;
    expect(totalCount).toBe(60);
    const right = nodes.filter((n: any) => n.language === n.metadata.labels.language).length;
    expect(right / nodes.length).toBeGreaterThanOrEqual(0.9);
  });
});
