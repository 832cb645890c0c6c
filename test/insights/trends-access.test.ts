import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiKey,
  inviteMember,
  signUpOwner,
  startTestServer,
  type TestServer,
} from '../helpers/server';
import { SET_POLICY } from '../query/fixtures';
import {
  CURRENT,
  close,
  kpisOf,
  loadCampaigns,
  MAPPING,
  ROWS,
  SET_SEMANTICS,
  week,
} from './campaigns';

/**
 * The attacker's side of trends, segments and KPIs: another org, a key no policy names, a
 * masked column, a hidden column and a row policy. Every read goes through the gate.
 */
let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let other: Awaited<ReturnType<typeof signUpOwner>>;
let masked: Awaited<ReturnType<typeof inviteMember>>;
let searchOnly: Awaited<ReturnType<typeof inviteMember>>;
let hiddenKey: string;
let strayKey: string;
let datasetId: string;

const TREND = `query($id: ID!, $input: TrendInput!) { trend(datasetId: $id, input: $input) {
  __typename ... on Trend { series { label value } }
  ... on Error { code message } ... on ColumnNotReadableError { column rule } } }`;
const SEGMENTS = `query($id: ID!, $features: [String!]!, $k: Int) { segments(datasetId: $id, features: $features, k: $k) {
  __typename ... on Segments { rowsVisible sampleSize means segments { size centroid } }
  ... on Error { code message } ... on ColumnNotReadableError { column rule } } }`;
const KPIS = `query($id: ID!, $dimension: String, $metrics: [KpiMetric!]) {
  marketingKpis(datasetId: $id, dimension: $dimension, metrics: $metrics) {
  __typename
  ... on MarketingKpis { metrics mapping { cost revenue }
    total { current { impressions clicks conversions cost revenue ctr conversionRate cpc cpa roas } }
    groups { key current { clicks cost roas } } recommendations { text } }
  ... on Error { code message } ... on ColumnNotReadableError { column rule } } }`;
const SEMANTICS = `query($id: ID!) {
  datasetSemantics(datasetId: $id) { __typename ... on DatasetSemantics { confirmed mapping { cost revenue dimensions } } ... on Error { code } }
  suggestedSemantics(datasetId: $id) { __typename ... on DatasetSemantics { mapping { cost revenue } } ... on Error { code } } }`;

async function policy(input: Record<string, unknown>) {
  const res = await server.gql(SET_POLICY, { input: { datasetId, ...input } }, owner.token);
  expect(res.data?.setDatasetPolicy.__typename, JSON.stringify(res)).toBe('DatasetPolicy');
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'kpi-owner');
  other = await signUpOwner(server, 'kpi-other');
  datasetId = await loadCampaigns(server, owner.token);
  const set = await server.gql(SET_SEMANTICS, { id: datasetId, mapping: MAPPING }, owner.token);
  expect(set.data?.setDatasetSemantics.__typename, JSON.stringify(set)).toBe('DatasetSemantics');
  masked = await inviteMember(server, owner.token, 'VIEWER');
  searchOnly = await inviteMember(server, owner.token, 'ANALYST');
  await policy({ role: 'VIEWER', columnRules: [{ column: 'cost', rule: 'MASK' }] });
  await policy({ role: 'ANALYST', rowFilter: { column: 'channel', eq: 'search' } });
  const key = await createApiKey(server, owner.token, 'VIEWER');
  hiddenKey = key.secret;
  await policy({ apiKeyId: key.id, columnRules: [{ column: 'revenue', rule: 'HIDE' }] });
  strayKey = (await createApiKey(server, owner.token, 'VIEWER')).secret;
}, 60_000);

afterAll(() => server?.close());

describe('trends, segments and KPIs under access rules', () => {
  it('another org and a key no policy names find nothing', async () => {
    for (const token of [other.token, strayKey]) {
      const trend = await server.gql(
        TREND,
        { id: datasetId, input: { timeColumn: 'date', measure: 'clicks', bucket: 'WEEK' } },
        token,
      );
      expect(trend.data?.trend).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
      const segments = await server.gql(SEGMENTS, { id: datasetId, features: ['clicks'] }, token);
      expect(segments.data?.segments.__typename).toBe('NotFoundError');
      const kpis = await server.gql(KPIS, { id: datasetId, dimension: 'channel' }, token);
      expect(kpis.data?.marketingKpis.__typename).toBe('NotFoundError');
      const semantics = await server.gql(SEMANTICS, { id: datasetId }, token);
      expect(semantics.data?.datasetSemantics.__typename).toBe('NotFoundError');
      expect(semantics.data?.suggestedSemantics.__typename).toBe('NotFoundError');
    }
    const write = await server.gql(SET_SEMANTICS, { id: datasetId, mapping: MAPPING }, other.token);
    expect(write.data?.setDatasetSemantics.__typename).toBe('NotFoundError');
  });

  it('a masked cost column yields nothing derived from it, named in a typed error', async () => {
    const kpis = await server.gql(KPIS, { id: datasetId, dimension: 'channel' }, masked.token);
    expect(kpis.data?.marketingKpis).toEqual({
      __typename: 'ColumnNotReadableError',
      code: 'COLUMN_NOT_READABLE',
      column: 'cost',
      rule: 'MASK',
      message: expect.stringContaining('"cost"'),
    });
    const trend = await server.gql(
      TREND,
      { id: datasetId, input: { timeColumn: 'date', measure: 'cost', bucket: 'WEEK' } },
      masked.token,
    );
    expect(trend.data?.trend).toMatchObject({
      __typename: 'ColumnNotReadableError',
      column: 'cost',
    });
    const segments = await server.gql(
      SEGMENTS,
      { id: datasetId, features: ['clicks', 'cost'] },
      masked.token,
    );
    expect(segments.data?.segments).toMatchObject({
      __typename: 'ColumnNotReadableError',
      column: 'cost',
    });
    // KPIs that do not need cost are still computed, and carry no cost.
    const ctr = await server.gql(
      KPIS,
      { id: datasetId, dimension: 'channel', metrics: ['CTR', 'CONVERSION_RATE'] },
      masked.token,
    );
    const result = ctr.data?.marketingKpis;
    expect(result?.__typename, JSON.stringify(ctr)).toBe('MarketingKpis');
    const expected = kpisOf(ROWS.filter(CURRENT));
    close(result.total.current.ctr, expected.ctr);
    close(result.total.current.conversionRate, expected.conversionRate);
    expect(result.total.current).toMatchObject({
      cost: null,
      revenue: null,
      cpc: null,
      roas: null,
    });
    expect(
      result.groups.every((g: { current: { cost: unknown } }) => g.current.cost === null),
    ).toBe(true);
    // Only the CTR advice remains: none of the advice built on cost (ROAS, CPA).
    expect(result.recommendations).toEqual([
      { text: expect.stringMatching(/^CTR of channel social fell/) },
    ]);
  });

  it('a viewer under a row policy gets trends, segments and KPIs of its rows only', async () => {
    const search = ROWS.filter((r) => r.channel === 'search');
    const kpis = await server.gql(KPIS, { id: datasetId, dimension: 'channel' }, searchOnly.token);
    const result = kpis.data?.marketingKpis;
    expect(result?.__typename, JSON.stringify(kpis)).toBe('MarketingKpis');
    expect(result.groups.map((g: { key: string }) => g.key)).toEqual(['search']);
    const expected = kpisOf(search.filter(CURRENT));
    for (const key of [
      'impressions',
      'clicks',
      'conversions',
      'cost',
      'revenue',
      'ctr',
      'roas',
    ] as const)
      close(result.total.current[key], expected[key]);
    // One channel: nothing to shift budget between.
    expect(
      result.recommendations.filter((r: { text: string }) => r.text.startsWith('Shift')),
    ).toEqual([]);

    const trend = await server.gql(
      TREND,
      {
        id: datasetId,
        input: { timeColumn: 'date', measure: 'clicks', aggregate: 'SUM', bucket: 'WEEK' },
      },
      searchOnly.token,
    );
    const weekly = new Array(26).fill(0);
    for (const r of search) weekly[week(r)] += r.clicks;
    expect(trend.data?.trend.series.map((b: { value: number }) => b.value)).toEqual(weekly);

    const segments = await server.gql(
      SEGMENTS,
      { id: datasetId, features: ['clicks', 'cost'], k: 2 },
      searchOnly.token,
    );
    const seg = segments.data?.segments;
    expect(seg?.__typename, JSON.stringify(segments)).toBe('Segments');
    expect(seg.rowsVisible).toBe(search.length);
    expect(seg.sampleSize).toBe(search.length);
    close(seg.means[0], search.reduce((s, r) => s + r.clicks, 0) / search.length);
    close(seg.means[1], search.reduce((s, r) => s + r.cost, 0) / search.length);
  });

  it('records each of those reads in the audit log as the viewer', async () => {
    const log = await server.gql(
      `query($f: AuditEventFilter) { auditEvents(filter: $f, first: 20) {
        edges { node { action user { id } columnsRead columnsMasked filter } } } }`,
      { f: { userId: searchOnly.userId, action: 'INSIGHTS' } },
      owner.token,
    );
    const events = log.data?.auditEvents.edges.map((e: { node: unknown }) => e.node);
    expect(events?.length, JSON.stringify(log)).toBeGreaterThanOrEqual(4);
    for (const e of events) expect(e.user.id).toBe(searchOnly.userId);
    const read = events.map((e: { columnsRead: string[] }) => [...e.columnsRead].sort().join(','));
    // KPIs (sums by channel and date), the trend (clicks by date), segments (count, then rows).
    expect(read).toContain('channel,clicks,conversions,cost,date,impressions,revenue');
    expect(read).toContain('clicks,date');
    expect(read).toContain('clicks,cost');
  });

  it('aggregate-only access: trends and KPIs from groups of the minimum size, no segments', async () => {
    const member = await inviteMember(server, owner.token, 'VIEWER');
    await policy({
      userId: member.userId,
      access: 'AGGREGATE_ONLY',
      differentialPrivacy: false,
      minGroupSize: 10,
    });
    const kpis = await server.gql(KPIS, { id: datasetId, dimension: 'channel' }, member.token);
    const result = kpis.data?.marketingKpis;
    expect(result?.__typename, JSON.stringify(kpis)).toBe('MarketingKpis');
    // A week of one campaign is 7 rows: video's weekly groups are below the minimum and vanish.
    expect(result.groups.map((g: { key: string }) => g.key).sort()).toEqual([
      'display',
      'email',
      'search',
      'social',
    ]);
    close(
      result.total.current.clicks,
      kpisOf(ROWS.filter((r) => CURRENT(r) && r.channel !== 'video')).clicks,
    );
    const trend = await server.gql(
      TREND,
      {
        id: datasetId,
        input: { timeColumn: 'date', measure: 'clicks', aggregate: 'SUM', bucket: 'WEEK' },
      },
      member.token,
    );
    const weekly = new Array(26).fill(0);
    for (const r of ROWS) weekly[week(r)] += r.clicks;
    expect(trend.data?.trend.series.map((b: { value: number }) => b.value)).toEqual(weekly);
    const segments = await server.gql(
      SEGMENTS,
      { id: datasetId, features: ['clicks'] },
      member.token,
    );
    expect(segments.errors?.[0]?.extensions?.code, JSON.stringify(segments)).toBe('FORBIDDEN');
  });

  it('a hidden column is as absent as a missing one', async () => {
    const semantics = await server.gql(SEMANTICS, { id: datasetId }, hiddenKey);
    expect(semantics.data?.datasetSemantics).toMatchObject({
      confirmed: true,
      mapping: { cost: 'cost', revenue: null },
    });
    expect(semantics.data?.suggestedSemantics.mapping.revenue).toBeNull();
    const kpis = await server.gql(KPIS, { id: datasetId, dimension: 'channel' }, hiddenKey);
    expect(kpis.data?.marketingKpis?.__typename, JSON.stringify(kpis)).toBe('MarketingKpis');
    expect(kpis.data!.marketingKpis.metrics).toEqual(['CTR', 'CONVERSION_RATE', 'CPC', 'CPA']);
    expect(kpis.data!.marketingKpis.total.current.revenue).toBeNull();
    const roas = await server.gql(
      KPIS,
      { id: datasetId, dimension: 'channel', metrics: ['ROAS'] },
      hiddenKey,
    );
    expect(roas.data?.marketingKpis).toMatchObject({
      __typename: 'InputError',
      message: 'ROAS needs a revenue column, and none is mapped.',
    });
    const trend = await server.gql(
      TREND,
      { id: datasetId, input: { timeColumn: 'date', measure: 'revenue', bucket: 'WEEK' } },
      hiddenKey,
    );
    expect(trend.data?.trend).toMatchObject({
      __typename: 'InputError',
      message: 'No column named "revenue".',
    });
    const segments = await server.gql(
      SEGMENTS,
      { id: datasetId, features: ['revenue'] },
      hiddenKey,
    );
    expect(segments.data?.segments.message).toBe('No column named "revenue".');
  });

  it('only analysts and above set semantics', async () => {
    const res = await server.gql(SET_SEMANTICS, { id: datasetId, mapping: MAPPING }, masked.token);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
