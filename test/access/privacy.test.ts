import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyThreshold } from '../../src/access/privacy';
import {
  createApiKey,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';
import { customers, loadCustomers, QUERY } from '../query/fixtures';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let datasetId: string;
const all = customers();

const SET_POLICY = `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) {
  __typename
  ... on DatasetPolicy { id access minGroupSize differentialPrivacy epsilon delta epsilonBudget
    budgetPeriodSeconds columnBounds { column lower upper } }
  ... on Error { code message } } }`;
const BUDGET = `query($id: ID!) { privacyBudget(datasetId: $id) {
  epsilonPerQuery delta total spent remaining periodSeconds periodStart periodEnd } }`;

/** A new API key with an aggregate-only policy on the customers (spend aggregate-only too). */
async function aggregateKey(settings: Record<string, unknown>) {
  const key = await createApiKey(server, owner.token, 'VIEWER');
  const res = await server.gql(
    SET_POLICY,
    {
      input: {
        datasetId,
        apiKeyId: key.id,
        access: 'AGGREGATE_ONLY',
        columnRules: [{ column: 'spend', rule: 'AGGREGATE_ONLY' }],
        ...settings,
      },
    },
    owner.token,
  );
  expect(res.data?.setDatasetPolicy.__typename, JSON.stringify(res)).toBe('DatasetPolicy');
  return { ...key, policy: res.data!.setDatasetPolicy };
}

async function rows(auth: string, input: object) {
  const res = await server.gql(QUERY, { id: datasetId, input }, auth);
  expect(res.data?.datasetQuery?.__typename, JSON.stringify(res)).toBe('QueryResult');
  return res.data!.datasetQuery as { rows: any[]; totalCount: number };
}

const sumOf = async (auth: string, where?: object) =>
  (await rows(auth, { where, aggregates: [{ function: 'SUM', column: 'spend' }] })).rows[0]!
    .sum_spend as number;

function variance(xs: number[]) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, variance: xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) };
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'privacy');
  ({ datasetId } = await loadCustomers(server, owner.token));
});
afterAll(() => server?.close());

describe('the differencing attack', () => {
  // The row singled out: the largest spend, 100.5 (id 31).
  const target = all.reduce((a, b) => (b.spend > a.spend ? b : a));
  const allBut = { column: 'id', ne: target.id };

  it('recovers a row exactly when the policy opts out of differential privacy', async () => {
    const key = await aggregateKey({ differentialPrivacy: false });
    expect(key.policy.differentialPrivacy).toBe(false);
    const diff = (await sumOf(key.secret)) - (await sumOf(key.secret, allBut));
    expect(Math.abs(diff - target.spend)).toBeLessThan(1e-9);
  });

  it('returns differences whose error matches the configured noise', async () => {
    const upper = 110;
    const key = await aggregateKey({
      columnBounds: [{ column: 'spend', lower: 0, upper }],
      epsilonBudget: 1000,
    });
    // New aggregate-only policies are differentially private by default, with the defaults.
    expect(key.policy).toMatchObject({
      differentialPrivacy: true,
      epsilon: 1,
      delta: 1e-5,
      epsilonBudget: 1000,
      budgetPeriodSeconds: 86400,
    });
    const repetitions = 40;
    const diffs: number[] = [];
    for (let i = 0; i < repetitions; i++)
      diffs.push((await sumOf(key.secret)) - (await sumOf(key.secret, allBut)));
    // Each SUM (one measurement, ε = 1) has Laplace noise of scale b = max(|0|, |110|) / 1, so
    // a difference of two has variance 2 · 2b².
    const b = upper / 1;
    const want = 4 * b * b;
    const { mean, variance: got } = variance(diffs);
    expect(diffs.filter((d) => Math.abs(d - target.spend) < 1e-6)).toEqual([]);
    // The sample variance of 40 differences of Laplace pairs (kurtosis 4.5) has a relative
    // standard error of √(3.5/40) ≈ 0.3: these bounds sit 2.5 below and 6 above.
    expect(got / want).toBeGreaterThan(0.25);
    expect(got / want).toBeLessThan(3);
    expect(Math.abs(mean - target.spend)).toBeLessThan(5 * Math.sqrt(want / repetitions));
  });
});

describe('bounds', () => {
  it('clamps every value to the declared bounds before summing and averaging', async () => {
    // ε = 100 leaves noise of scale 0.1 or less: the clamped statistics show through.
    const key = await aggregateKey({
      epsilon: 100,
      epsilonBudget: 1000,
      columnBounds: [{ column: 'spend', lower: 10, upper: 20 }],
    });
    const clamped = all.map((c) => Math.min(20, Math.max(10, c.spend)));
    const sum = clamped.reduce((a, b) => a + b, 0);
    const res = await rows(key.secret, {
      aggregates: [
        { function: 'SUM', column: 'spend' },
        { function: 'AVG', column: 'spend' },
        { function: 'COUNT' },
      ],
    });
    const [row] = res.rows;
    // Four measurements share ε: the sum's noise has scale 20 / 25 = 0.8.
    expect(Math.abs(row.sum_spend - sum)).toBeLessThan(8);
    expect(Math.abs(row.avg_spend - sum / all.length)).toBeLessThan(0.2);
    expect(Math.abs(row.count - all.length)).toBeLessThan(3);
    // Unclamped, the sum would be near 2000.
    expect(row.sum_spend).toBeLessThan(800);
    expect(res.totalCount).toBe(1);
  });

  it('refuses to sum or average a column without bounds, naming it; counts still work', async () => {
    const key = await aggregateKey({ epsilonBudget: 100 });
    for (const fn of ['SUM', 'AVG']) {
      const res = await server.gql(
        QUERY,
        { id: datasetId, input: { aggregates: [{ function: fn, column: 'spend' }] } },
        key.secret,
      );
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('FORBIDDEN');
      expect(res.errors?.[0]?.message).toContain('"spend"');
      expect(res.errors?.[0]?.message).toContain('bounds');
    }
    const counted = await rows(key.secret, { aggregates: [{ function: 'COUNT' }] });
    expect(Number.isInteger(counted.rows[0].count)).toBe(true);
  });

  it('refuses what would read exact values: MIN/MAX, STDDEV, having, exports', async () => {
    const key = await aggregateKey({
      epsilonBudget: 100,
      columnBounds: [{ column: 'spend', lower: 0, upper: 110 }],
    });
    for (const input of [
      { aggregates: [{ function: 'MAX', column: 'spend' }] },
      { aggregates: [{ function: 'STDDEV', column: 'spend' }] },
      {
        groupBy: [{ column: 'region' }],
        aggregates: [{ function: 'COUNT' }],
        having: { column: 'count', gt: 10 },
      },
    ]) {
      const res = await server.gql(QUERY, { id: datasetId, input }, key.secret);
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('FORBIDDEN');
    }
    const exported = await server.gql(
      `mutation($id: ID!, $input: DatasetQueryInput!) {
        exportQuery(datasetId: $id, input: $input, format: CSV) { __typename } }`,
      { id: datasetId, input: { aggregates: [{ function: 'SUM', column: 'spend' }] } },
      key.secret,
    );
    expect(exported.errors?.[0]?.extensions?.code, JSON.stringify(exported)).toBe('FORBIDDEN');
  });

  it('refuses bad settings with typed errors naming the field', async () => {
    const key = await createApiKey(server, owner.token, 'VIEWER');
    for (const [settings, field] of [
      [{ epsilon: 0 }, 'epsilon'],
      [{ delta: 0.5 }, 'delta'],
      [{ epsilon: 2, epsilonBudget: 1 }, 'epsilonBudget'],
      [{ budgetPeriodSeconds: 5 }, 'budgetPeriodSeconds'],
      [{ columnBounds: [{ column: 'spend', lower: 5, upper: 5 }] }, 'columnBounds'],
      [{ columnBounds: [{ column: 'region', lower: 0, upper: 1 }] }, 'columnBounds'],
      [{ columnBounds: [{ column: 'ghost', lower: 0, upper: 1 }] }, 'columnBounds'],
    ] as const) {
      const res = await server.gql(
        `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) {
          __typename ... on InputError { code field message } } }`,
        { input: { datasetId, apiKeyId: key.id, access: 'AGGREGATE_ONLY', ...settings } },
        owner.token,
      );
      expect(res.data?.setDatasetPolicy, JSON.stringify(res)).toMatchObject({
        __typename: 'InputError',
        code: 'BAD_USER_INPUT',
        field,
      });
    }
  });
});

describe('the noisy threshold', () => {
  it('suppresses groups by a noisy count, even with minGroupSize 1', async () => {
    // ε = 100 over two measurements (threshold, COUNT): threshold 1 + ⌈0.02 ln(1/(δ(1+p)))⌉ = 2.
    expect(noisyThreshold(50, 1e-5)).toBe(2);
    const loose = await aggregateKey({ epsilon: 100, epsilonBudget: 1000, minGroupSize: 1 });
    const byRegion = await rows(loose.secret, {
      groupBy: [{ column: 'region' }],
      aggregates: [{ function: 'COUNT' }],
      orderBy: [{ column: 'count', direction: 'DESC' }],
    });
    expect(byRegion.rows.map((r) => r.region)[0]).toBe('north');
    expect(byRegion.rows.map((r) => r.region).sort()).toEqual(['east', 'north', 'south', 'west']);
    expect(byRegion.totalCount).toBe(4);
    // One row per id: each group appears with probability at most δ.
    const byId = await rows(loose.secret, {
      groupBy: [{ column: 'id' }],
      aggregates: [{ function: 'COUNT' }],
    });
    expect(byId.rows).toEqual([]);
    expect(byId.totalCount).toBe(0);

    // At the default ε = 1 (0.5 for the threshold) and δ = 1e-9, groups need about 42 rows:
    // the 13 of north pass with probability e^-14.5.
    expect(noisyThreshold(0.5, 1e-9)).toBe(42);
    const strict = await aggregateKey({ epsilonBudget: 1000, minGroupSize: 1, delta: 1e-9 });
    const small = await rows(strict.secret, {
      groupBy: [{ column: 'region' }],
      aggregates: [{ function: 'COUNT' }],
    });
    expect(small.rows).toEqual([]);
    expect(small.totalCount).toBe(0);
  });

  it('pages over the released groups only', async () => {
    const key = await aggregateKey({ epsilon: 100, epsilonBudget: 1000, minGroupSize: 1 });
    const input = { groupBy: [{ column: 'region' }], aggregates: [{ function: 'COUNT' }] };
    const first = await server.gql(QUERY, { id: datasetId, input, first: 3 }, key.secret);
    const page = first.data?.datasetQuery;
    expect(page.rows.map((r: any) => r.region)).toEqual(['east', 'north', 'south']);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await server.gql(
      QUERY,
      { id: datasetId, input, first: 3, after: page.pageInfo.endCursor },
      key.secret,
    );
    expect(next.data?.datasetQuery.rows.map((r: any) => r.region)).toEqual(['west']);
    expect(next.data?.datasetQuery.pageInfo.hasNextPage).toBe(false);
  });
});

describe('the privacy budget', () => {
  it('is spent per query and refuses once exhausted, on every transport', async () => {
    const key = await aggregateKey({ epsilon: 1, epsilonBudget: 3 });
    const before = (await server.gql(BUDGET, { id: datasetId }, key.secret)).data?.privacyBudget;
    expect(before).toMatchObject({ epsilonPerQuery: 1, total: 3, spent: 0, remaining: 3 });
    expect(before.periodSeconds).toBe(86400);
    expect(Date.parse(before.periodEnd) - Date.parse(before.periodStart)).toBe(86400_000);

    const count = { aggregates: [{ function: 'COUNT' }] };
    await rows(key.secret, count);
    expect(
      (await server.gql(BUDGET, { id: datasetId }, key.secret)).data?.privacyBudget,
    ).toMatchObject({ spent: 1, remaining: 2 });
    await rows(key.secret, count);
    await rows(key.secret, count);
    const refused = await server.gql(QUERY, { id: datasetId, input: count }, key.secret);
    expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(refused)).toBe(
      'PRIVACY_BUDGET_EXHAUSTED',
    );
    expect(refused.data?.datasetQuery ?? null).toBeNull();
    expect(
      (await server.gql(BUDGET, { id: datasetId }, key.secret)).data?.privacyBudget,
    ).toMatchObject({ spent: 3, remaining: 0 });

    // The same refusal over WebSocket and SSE: one gate behind every transport.
    const client = server.ws(key.secret);
    const ws = subscribe(client, QUERY, { id: datasetId, input: count });
    await ws.done;
    expect(JSON.stringify([ws.events, ws.errors])).toContain('PRIVACY_BUDGET_EXHAUSTED');
    const sse = sseSubscribe(server.graphqlUrl, QUERY, { id: datasetId, input: count }, key.secret);
    await sse.done;
    expect(JSON.stringify(sse.events)).toContain('PRIVACY_BUDGET_EXHAUSTED');

    // Another credential has its own budget; the owner's reads are exact and spend nothing.
    const other = await aggregateKey({ epsilon: 1, epsilonBudget: 3 });
    expect(
      (await server.gql(BUDGET, { id: datasetId }, other.secret)).data?.privacyBudget,
    ).toMatchObject({ remaining: 3 });
    expect((await server.gql(BUDGET, { id: datasetId }, owner.token)).data?.privacyBudget).toBe(
      null,
    );
  });

  it('cannot be overspent by concurrent queries', async () => {
    const key = await aggregateKey({ epsilon: 1, epsilonBudget: 3 });
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        server.gql(
          QUERY,
          { id: datasetId, input: { aggregates: [{ function: 'COUNT' }] } },
          key.secret,
        ),
      ),
    );
    const ok = results.filter((r) => r.data?.datasetQuery?.__typename === 'QueryResult');
    const refused = results.filter(
      (r) => r.errors?.[0]?.extensions?.code === 'PRIVACY_BUDGET_EXHAUSTED',
    );
    expect([ok.length, refused.length]).toEqual([3, 5]);
  });

  it('an exact result never leaks through totalCount', async () => {
    const key = await aggregateKey({ epsilon: 100, epsilonBudget: 1000 });
    // 40 rows, one global group: totalCount counts released groups, not rows.
    const res = await rows(key.secret, { aggregates: [{ function: 'COUNT' }] });
    expect(res.totalCount).toBe(1);
  });
});
