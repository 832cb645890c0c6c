import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import {
  CURRENT,
  close,
  kpisOf,
  loadCampaigns,
  MAPPING,
  PREVIOUS,
  ROWS,
  SET_SEMANTICS,
} from './campaigns';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let datasetId: string;

const VALUES = 'impressions clicks conversions cost revenue ctr conversionRate cpc cpa roas';
const KPIS = `query($id: ID!, $dimension: String, $bucket: TimeBucket, $periods: Int, $moverMetric: KpiMetric) {
  marketingKpis(datasetId: $id, dimension: $dimension, bucket: $bucket, periods: $periods, moverMetric: $moverMetric) {
  __typename
  ... on MarketingKpis { metrics dimension periods currentBuckets previousBuckets moverMetric
    total { current { ${VALUES} } previous { ${VALUES} } changes { metric current previous change relativeChange } }
    groups { key current { ${VALUES} } previous { ${VALUES} } changes { metric change relativeChange } }
    series { key bucket values { clicks roas } }
    topMovers { key metric current previous change relativeChange }
    bottomMovers { key metric current previous change relativeChange }
    recommendations { kind text metric from to fromValue toValue } }
  ... on Error { code message } } }`;
const SEMANTICS = `query($id: ID!) {
  datasetSemantics(datasetId: $id) { __typename ... on DatasetSemantics { confirmed } }
  suggestedSemantics(datasetId: $id) { __typename ... on DatasetSemantics { confirmed
    mapping { impressions clicks conversions cost revenue date dimensions } } } }`;

const KEYS = [
  'impressions',
  'clicks',
  'conversions',
  'cost',
  'revenue',
  'ctr',
  'conversionRate',
  'cpc',
  'cpa',
  'roas',
] as const;

function expectValues(actual: Record<string, number>, expected: ReturnType<typeof kpisOf>) {
  for (const key of KEYS) close(actual[key], expected[key]);
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'kpis');
  datasetId = await loadCampaigns(server, owner.token);
}, 60_000);

afterAll(() => server?.close());

describe('marketing semantics', () => {
  it('infers the mapping from column names and offers it unconfirmed until set', async () => {
    const before = await server.gql(SEMANTICS, { id: datasetId }, owner.token);
    expect(before.data?.datasetSemantics).toBeNull();
    expect(before.data?.suggestedSemantics).toEqual({
      __typename: 'DatasetSemantics',
      confirmed: false,
      mapping: MAPPING,
    });
    const kpis = await server.gql(KPIS, { id: datasetId }, owner.token);
    expect(kpis.data?.marketingKpis).toMatchObject({
      __typename: 'InputError',
      message: expect.stringContaining('no marketing semantics'),
    });
    const set = await server.gql(SET_SEMANTICS, { id: datasetId, mapping: MAPPING }, owner.token);
    expect(set.data?.setDatasetSemantics).toEqual({
      __typename: 'DatasetSemantics',
      confirmed: true,
      mapping: MAPPING,
    });
    const after = await server.gql(SEMANTICS, { id: datasetId }, owner.token);
    expect(after.data?.datasetSemantics.confirmed).toBe(true);
  });

  it('refuses a mapping with a wrong type, an unknown column or a column twice', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ cost: 'channel' }, 'cost', /numeric/],
      [{ cost: 'spend' }, 'cost', /No column named "spend"/],
      [{ cost: 'cost', revenue: 'cost' }, 'revenue', /mapped twice/],
      [{ clicks: 'clicks', date: 'clicks' }, 'date', /mapped twice/],
      [{ date: 'date' }, 'mapping', /at least one/],
      [{ clicks: 'clicks', date: 'campaign' }, 'date', /DATE or TIMESTAMP/],
    ];
    for (const [mapping, field, message] of cases) {
      const res = await server.gql(SET_SEMANTICS, { id: datasetId, mapping }, owner.token);
      expect(res.data?.setDatasetSemantics, JSON.stringify(mapping)).toMatchObject({
        __typename: 'InputError',
        field,
        message: expect.stringMatching(message),
      });
    }
    // The confirmed mapping is unchanged by the refusals.
    const kpis = await server.gql(KPIS, { id: datasetId }, owner.token);
    expect(kpis.data?.marketingKpis.metrics).toEqual([
      'CTR',
      'CONVERSION_RATE',
      'CPC',
      'CPA',
      'ROAS',
    ]);
  });
});

describe('Query.marketingKpis', () => {
  it('computes every KPI by channel and week, with the window before, against sums of the rows', async () => {
    const res = await server.gql(
      KPIS,
      { id: datasetId, dimension: 'channel', bucket: 'WEEK', periods: 4 },
      owner.token,
    );
    const k = res.data?.marketingKpis;
    expect(k?.__typename, JSON.stringify(res).slice(0, 500)).toBe('MarketingKpis');
    expect(k.currentBuckets).toEqual(['2026-02-02', '2026-02-09', '2026-02-16', '2026-02-23']);
    expect(k.previousBuckets).toEqual(['2026-01-05', '2026-01-12', '2026-01-19', '2026-01-26']);
    expectValues(k.total.current, kpisOf(ROWS.filter(CURRENT)));
    expectValues(k.total.previous, kpisOf(ROWS.filter(PREVIOUS)));
    const channels = [...new Set(ROWS.map((r) => r.channel))];
    expect(k.groups).toHaveLength(channels.length);
    for (const g of k.groups) {
      const mine = ROWS.filter((r) => r.channel === g.key);
      expectValues(g.current, kpisOf(mine.filter(CURRENT)));
      expectValues(g.previous, kpisOf(mine.filter(PREVIOUS)));
      const roas = g.changes.find((c: { metric: string }) => c.metric === 'ROAS');
      const now = kpisOf(mine.filter(CURRENT)).roas;
      const before = kpisOf(mine.filter(PREVIOUS)).roas;
      close(roas.change, now - before);
      close(roas.relativeChange, (now - before) / before);
    }
    // Most cost first.
    const costs = k.groups.map((g: { current: { cost: number } }) => g.current.cost);
    expect([...costs].sort((a, b) => b - a)).toEqual(costs);
    expect(k.series).toHaveLength(channels.length * 26);

    // Movers by ROAS: social's conversions fell in the last four weeks.
    expect(k.moverMetric).toBe('ROAS');
    expect(k.bottomMovers[0].key).toBe('social');
    const changes = k.groups
      .map((g: { key: string; changes: Array<{ metric: string; change: number }> }) => ({
        key: g.key,
        change: g.changes.find((c) => c.metric === 'ROAS')!.change,
      }))
      .sort((a: { change: number }, b: { change: number }) => a.change - b.change);
    expect(k.bottomMovers.map((m: { key: string }) => m.key)).toEqual(
      changes
        .filter((c: { change: number }) => c.change < 0)
        .slice(0, 3)
        .map((c: { key: string }) => c.key),
    );
    expect(k.topMovers.map((m: { key: string }) => m.key)).toEqual(
      changes
        .filter((c: { change: number }) => c.change > 0)
        .reverse()
        .slice(0, 3)
        .map((c: { key: string }) => c.key),
    );
  });

  it('recommends shifting budget from the lowest ROAS to the highest, in plain words', async () => {
    const res = await server.gql(KPIS, { id: datasetId, dimension: 'channel' }, owner.token);
    const recommendations = res.data?.marketingKpis.recommendations;
    const roas = (channel: string) =>
      kpisOf(ROWS.filter((r) => r.channel === channel && CURRENT(r))).roas;
    const channels = [...new Set(ROWS.map((r) => r.channel))];
    const totalCost = kpisOf(ROWS.filter(CURRENT)).cost;
    const spending = channels
      .filter(
        (c) => kpisOf(ROWS.filter((r) => r.channel === c && CURRENT(r))).cost / totalCost >= 0.05,
      )
      .sort((a, b) => roas(a) - roas(b));
    const [lowest, highest] = [spending[0]!, spending[spending.length - 1]!];
    // The generated data make email the best and display or (fading) social the worst.
    expect(highest).toBe('email');
    expect(['display', 'social']).toContain(lowest);
    const shift = recommendations.find((r: { kind: string }) => r.kind === 'SHIFT_BUDGET');
    expect(shift).toMatchObject({ metric: 'ROAS', from: lowest, to: highest });
    close(shift.fromValue, roas(lowest));
    close(shift.toValue, roas(highest));
    expect(shift.text).toBe(
      `Shift budget from channel ${lowest} to ${highest}: ROAS ${roas(lowest).toFixed(2)} vs ${roas(highest).toFixed(2)} over the last 4 weeks.`,
    );
    const unprofitable = recommendations
      .filter((r: { kind: string }) => r.kind === 'UNPROFITABLE')
      .map((r: { from: string }) => r.from)
      .sort();
    expect(unprofitable).toEqual(channels.filter((c) => roas(c) < 1).sort());
    const social = (f: (r: (typeof ROWS)[number]) => boolean) =>
      kpisOf(ROWS.filter((r) => r.channel === 'social' && f(r)));
    expect(recommendations).toContainEqual(
      expect.objectContaining({ kind: 'CTR_FALLING', from: 'social' }),
    );
    const cpa = recommendations.find(
      (r: { kind: string; from: string }) => r.kind === 'CPA_RISING' && r.from === 'social',
    );
    close(cpa.fromValue, social(PREVIOUS).cpa);
    close(cpa.toValue, social(CURRENT).cpa);
  });

  it('gives totals without a dimension, and the same through DatasetInsights', async () => {
    const res = await server.gql(KPIS, { id: datasetId }, owner.token);
    const k = res.data?.marketingKpis;
    expect(k.groups).toEqual([]);
    expect(k.recommendations).toEqual([]);
    expectValues(k.total.current, kpisOf(ROWS.filter(CURRENT)));
    const insights = await server.gql(
      `query($id: ID!) { datasetInsights(datasetId: $id) { marketingKpis(dimension: "campaign", periods: 2) {
        __typename ... on MarketingKpis { groups { key } total { current { roas } } } } } }`,
      { id: datasetId },
      owner.token,
    );
    const via = insights.data?.datasetInsights.marketingKpis;
    expect(via?.__typename, JSON.stringify(insights)).toBe('MarketingKpis');
    expect(via.groups).toHaveLength(new Set(ROWS.map((r) => r.campaign)).size);
    close(via.total.current.roas, kpisOf(ROWS.filter((r) => r.day >= 182 - 14)).roas);
  });

  it('names bad input', async () => {
    const periods = await server.gql(KPIS, { id: datasetId, periods: 0 }, owner.token);
    expect(periods.data?.marketingKpis).toMatchObject({ __typename: 'InputError' });
    const dimension = await server.gql(KPIS, { id: datasetId, dimension: 'nope' }, owner.token);
    expect(dimension.data?.marketingKpis.message).toBe('No column named "nope".');
  });
});
