import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let token: string;

const HOUR = 3600;
const at = (iso: string, seconds = 0) => new Date(Date.parse(iso) + seconds * 1000).toISOString();

/** Start, first-response and resolution seconds (null: still open), chosen by hand. */
const CASES = [
  {
    id: 'a',
    start: '2026-01-10T03:00:00Z',
    fr: 1800,
    res: 2 * HOUR,
    channel: 'chat',
    text: 'This is great, thank you',
  },
  {
    id: 'b',
    start: '2026-01-10T15:00:00Z',
    fr: 2 * HOUR,
    res: 10 * HOUR,
    channel: 'email',
    text: 'not good at all',
  },
  {
    id: 'c',
    start: '2026-01-11T04:30:00Z',
    fr: 30 * HOUR,
    res: null,
    channel: 'chat',
    text: 'Where is my order?',
  },
  {
    id: 'd',
    start: '2026-01-12T12:00:00Z',
    fr: 5 * HOUR,
    res: 26 * HOUR,
    channel: 'chat',
    text: 'helpful but the app is terrible',
  },
];

const QUERY = /* GraphQL */ `
  query($from: DateTime!, $to: DateTime!, $granularity: ConversationGranularity!, $timezone: String, $groupBy: ConversationGroupBy) {
    conversationAnalytics(from: $from, to: $to, granularity: $granularity, timezone: $timezone, groupBy: $groupBy) {
      __typename
      ... on ConversationAnalytics {
        series { period group volume sentiment { label count }
          firstResponse { median p90 buckets { label count } } resolution { median buckets { label count } } }
        summary { volume averageSentiment sentiment { label count }
          firstResponse { median p90 buckets { label count } } resolution { median p90 buckets { label count } } }
      }
      ... on Error { code message }
    }
  }
`;

const range = { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' };

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  token = (await signUpOwner(server, 'analytics')).token;
  const lines = CASES.map((c) =>
    JSON.stringify({
      externalId: c.id,
      channel: c.channel,
      inbox: 'main',
      status: c.res === null ? 'OPEN' : 'RESOLVED',
      endedAt: c.res === null ? null : at(c.start, c.res),
      messages: [
        { role: 'USER', text: c.text, sentAt: c.start },
        { role: 'AGENT', text: 'Let me check.', sentAt: at(c.start, c.fr) },
      ],
    }),
  );
  const res = await server.upload(
    `mutation($file: File!) { ingestConversations(file: $file, format: NDJSON) { ... on ConversationIngest { id } } }`,
    {},
    { name: 'a.ndjson', content: lines.join('\n') },
    token,
  );
  const id = res.data!.ingestConversations.id;
  for (;;) {
    const run = await server.gql(
      `query($id: ID!) { conversationIngest(id: $id) { ... on ConversationIngest { status } } }`,
      { id },
      token,
    );
    if (run.data!.conversationIngest.status === 'SUCCEEDED') break;
    expect(run.data!.conversationIngest.status).not.toBe('FAILED');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);

afterAll(async () => {
  await server?.close();
});

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('conversationAnalytics', () => {
  it('buckets days in the requested time zone', async () => {
    const ny = await server.gql(
      QUERY,
      { ...range, granularity: 'DAY', timezone: 'America/New_York' },
      token,
    );
    expect(ny.data!.conversationAnalytics.series.map((p: any) => [p.period, p.volume])).toEqual([
      ['2026-01-09', 1],
      ['2026-01-10', 2],
      ['2026-01-12', 1],
    ]);
    const utc = await server.gql(QUERY, { ...range, granularity: 'DAY' }, token);
    expect(utc.data!.conversationAnalytics.series.map((p: any) => [p.period, p.volume])).toEqual([
      ['2026-01-10', 2],
      ['2026-01-11', 1],
      ['2026-01-12', 1],
    ]);
  });

  it('pins medians, p90 and Chatwoot buckets to values computed by hand', async () => {
    const res = await server.gql(
      QUERY,
      { ...range, granularity: 'MONTH', timezone: 'America/New_York' },
      token,
    );
    const { summary } = res.data!.conversationAnalytics;
    expect(summary.volume).toBe(4);
    // First responses 1800, 7200, 18000, 108000 s: linear-interpolated median and p90.
    expect(summary.firstResponse.median).toBeCloseTo(12600, 6);
    expect(summary.firstResponse.p90).toBeCloseTo(81000, 6);
    expect(summary.firstResponse.buckets.map((b: any) => b.count)).toEqual([1, 1, 1, 0, 1]);
    // Resolutions 7200, 36000, 93600 s (one conversation is open).
    expect(summary.resolution.median).toBeCloseTo(36000, 6);
    expect(summary.resolution.p90).toBeCloseTo(82080, 6);
    expect(summary.resolution.buckets.map((b: any) => b.count)).toEqual([0, 1, 0, 1, 1]);
  });

  it('has a summary equal to the sum of its series, grouped or not, and sentiment counts as stored', async () => {
    const labels = await server.gql(
      `{ conversations { ... on ConversationList { nodes { sentimentLabel } } } }`,
      {},
      token,
    );
    const later = await server.gql(
      `query($filter: ConversationFilter) { conversations(filter: $filter) { ... on ConversationList { totalCount } } }`,
      { filter: { startedAfter: '2026-01-11T00:00:00Z', startedBefore: '2026-01-12T12:00:00Z' } },
      token,
    );
    expect(later.data!.conversations.totalCount).toBe(1);
    const stored = new Map<string, number>();
    for (const n of labels.data!.conversations.nodes)
      stored.set(n.sentimentLabel, (stored.get(n.sentimentLabel) ?? 0) + 1);
    for (const vars of [
      { granularity: 'DAY', timezone: 'Asia/Kolkata' },
      { granularity: 'WEEK', timezone: 'America/New_York', groupBy: 'CHANNEL' },
      { granularity: 'DAY', groupBy: 'SENTIMENT' },
    ]) {
      const { series, summary } = (await server.gql(QUERY, { ...range, ...vars }, token)).data!
        .conversationAnalytics;
      expect(sum(series.map((p: any) => p.volume))).toBe(summary.volume);
      for (const [i, s] of summary.sentiment.entries()) {
        expect(sum(series.map((p: any) => p.sentiment[i].count))).toBe(s.count);
        expect(s.count).toBe(stored.get(s.label) ?? 0);
      }
      for (const [i, b] of summary.firstResponse.buckets.entries())
        expect(sum(series.map((p: any) => p.firstResponse.buckets[i].count))).toBe(b.count);
    }
    const byChannel = (
      await server.gql(QUERY, { ...range, granularity: 'MONTH', groupBy: 'CHANNEL' }, token)
    ).data!.conversationAnalytics.series;
    expect(byChannel.map((p: any) => [p.group, p.volume])).toEqual([
      ['chat', 3],
      ['email', 1],
    ]);
  });

  it('refuses an unknown time zone and an empty range, and shows another org nothing', async () => {
    const bad = await server.gql(
      QUERY,
      { ...range, granularity: 'DAY', timezone: 'Mars/Olympus' },
      token,
    );
    expect(bad.data!.conversationAnalytics).toMatchObject({
      __typename: 'InputError',
      code: 'BAD_USER_INPUT',
    });
    const backwards = await server.gql(
      QUERY,
      { from: range.to, to: range.from, granularity: 'DAY' },
      token,
    );
    expect(backwards.data!.conversationAnalytics.code).toBe('BAD_USER_INPUT');
    const other = await signUpOwner(server, 'other');
    const res = await server.gql(QUERY, { ...range, granularity: 'DAY' }, other.token);
    expect(res.data!.conversationAnalytics.summary.volume).toBe(0);
    expect(res.data!.conversationAnalytics.series).toEqual([]);
  });
});
