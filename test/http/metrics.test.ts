/**
 * `/metrics` in the Prometheus text format: refused without the configured token (and off in
 * production without one); after real traffic over HTTP, REST, SSE and WebSocket its counters
 * have moved by what was sent, open subscriptions are counted per transport, queued jobs show
 * in the job gauges; and no label carries an id, a dataset value or the client's operation name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpOwner, startTestServer, subscribe, type TestServer } from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';
import { customers, loadCustomers } from '../query/fixtures';

const TOKEN = 'metrics-token-0123456789abcdef';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let datasetId: string;

/** One sample: metric name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (version 0.0.4). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    const raw = match[3]!;
    samples.push({
      name: match[1]!,
      labels,
      value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw),
    });
  }
  return samples;
}

async function scrape(target = server, token: string | null = TOKEN) {
  const response = await fetch(`${target.url}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), text };
}

async function samples() {
  const answer = await scrape();
  expect(answer.status).toBe(200);
  return { text: answer.text, all: parse(answer.text) };
}

/** The value of one series (0 when absent): every label given must match. */
function value(all: Sample[], name: string, labels: Record<string, string> = {}): number {
  return all
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function until(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  server = await startTestServer({ PESO_METRICS_TOKEN: TOKEN });
  owner = await signUpOwner(server, 'metrics');
  ({ datasetId } = await loadCustomers(server, owner.token, 'metered customers'));
}, 120_000);
afterAll(() => server?.close());

describe('access to /metrics', () => {
  it('is refused without the token or with a wrong one', async () => {
    for (const token of [null, 'wrong-token-0123456789abcdef', `${TOKEN}x`]) {
      const answer = await scrape(server, token);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.text).error.code).toBe('UNAUTHENTICATED');
      expect(answer.text).not.toContain('peso_');
    }
    const answer = await scrape();
    expect(answer.status).toBe(200);
    expect(answer.type).toContain('text/plain');
    expect(answer.text).toContain('# TYPE peso_http_requests_total counter');
  });

  it('is off in production unless a token is set', async () => {
    const production = await startTestServer({ NODE_ENV: 'production' });
    try {
      const answer = await scrape(production, null);
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.text).error.message).toContain('PESO_METRICS_TOKEN');
    } finally {
      await production.close();
    }
  }, 60_000);
});

describe('after traffic', () => {
  it('counts requests, operations per root field, errors by code and latency', async () => {
    const before = (await samples()).all;
    const VIEWER = 'query SecretOperationName { viewer { id } }';
    for (let i = 0; i < 3; i++) {
      const res = await server.gql(VIEWER, {}, owner.token);
      expect(res.data?.viewer?.id).toBeTruthy();
    }
    const bad = await server.gql(
      'query($id: ID!) { dataset(id: $id) { id } }',
      { id: 'nope' },
      owner.token,
    );
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unauthenticated = await server.gql('{ datasets { edges { node { id } } } }', {}, null);
    const unauthCode = unauthenticated.errors?.[0]?.extensions?.code as string;
    expect(unauthCode).toBeTruthy();
    const rest = await fetch(`${server.url}/api/v1/datasets/${encodeURIComponent(datasetId)}`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(rest.status).toBe(200);

    const { text, all: after } = await samples();
    const delta = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);

    // Five POSTs to /graphql answered (the scrape itself is counted once it has ended).
    expect(delta('peso_http_requests_total', { method: 'POST', route: '/graphql' })).toBe(5);
    expect(
      delta('peso_http_request_duration_seconds_count', { method: 'POST', route: '/graphql' }),
    ).toBe(5);
    expect(
      delta('peso_http_requests_total', {
        method: 'GET',
        route: '/api/v1/datasets/{id}',
        status: '200',
      }),
    ).toBe(1);
    expect(
      delta('peso_graphql_operations_total', { transport: 'http', type: 'query', field: 'viewer' }),
    ).toBe(3);
    expect(
      delta('peso_graphql_operations_total', {
        transport: 'rest',
        type: 'query',
        field: 'dataset',
      }),
    ).toBe(1);
    expect(delta('peso_graphql_errors_total', { transport: 'http', code: 'BAD_USER_INPUT' })).toBe(
      1,
    );
    expect(delta('peso_graphql_errors_total', { transport: 'http', code: unauthCode })).toBe(1);
    expect(
      delta('peso_graphql_operation_duration_seconds_count', { transport: 'http', type: 'query' }),
    ).toBe(5);
    // Histogram buckets are cumulative: +Inf holds every observation.
    expect(
      value(after, 'peso_http_request_duration_seconds_bucket', {
        method: 'POST',
        route: '/graphql',
        le: '+Inf',
      }),
    ).toBe(
      value(after, 'peso_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/graphql',
      }),
    );

    // No label carries what a caller chose or what a dataset holds.
    expect(text).not.toContain('SecretOperationName');
    expect(text).not.toContain(datasetId);
    expect(text).not.toContain(encodeURIComponent(datasetId));
    expect(text).not.toContain('nope');
    for (const c of customers()) expect(text).not.toContain(c.email);
    const routes = new Set(after.flatMap((s) => (s.labels.route ? [s.labels.route] : [])));
    for (const route of routes) expect(route).toMatch(/^(\/[a-z.]+(\/v1(\/[a-z{}]+)*)?|other)$/);
  });

  it('counts open subscriptions per transport, and forgets them when they end', async () => {
    const HEARTBEAT = 'subscription { heartbeat(intervalSeconds: 1) { at } }';
    const ws = subscribe(server.ws(owner.token), HEARTBEAT);
    const sse = sseSubscribe(server.graphqlUrl, HEARTBEAT, {}, owner.token);
    await until(async () => ws.events.length > 0 && sse.events.length > 0, 'first ticks');
    let all = (await samples()).all;
    expect(value(all, 'peso_subscriptions_active', { transport: 'ws' })).toBe(1);
    expect(value(all, 'peso_subscriptions_active', { transport: 'sse' })).toBe(1);
    expect(
      value(all, 'peso_graphql_operations_total', {
        transport: 'ws',
        type: 'subscription',
        field: 'heartbeat',
      }),
    ).toBe(1);

    const requestsBefore = value(all, 'peso_http_requests_total', { route: '/graphql' });
    const timedBefore = value(all, 'peso_http_request_duration_seconds_count', {
      route: '/graphql',
    });
    ws.dispose();
    sse.close();
    await sse.done;
    await until(async () => {
      all = (await samples()).all;
      return (
        value(all, 'peso_subscriptions_active', { transport: 'ws' }) === 0 &&
        value(all, 'peso_subscriptions_active', { transport: 'sse' }) === 0
      );
    }, 'subscriptions to end');
    // The event stream is counted as a request once it ends, but its lifetime is not a latency.
    await until(async () => {
      all = (await samples()).all;
      return value(all, 'peso_http_requests_total', { route: '/graphql' }) === requestsBefore + 1;
    }, 'the event stream to be counted');
    expect(value(all, 'peso_http_request_duration_seconds_count', { route: '/graphql' })).toBe(
      timedBefore,
    );
  });

  it('shows queued jobs by state and the queue depth', async () => {
    // The test server runs no workers: a training job stays queued.
    const res = await server.gql(
      `mutation($input: TrainModelInput!) { trainModel(input: $input) {
        __typename ... on TrainingRun { id status } ... on Error { code message } } }`,
      { input: { name: 'spend', datasetId, target: 'spend', features: ['region'] } },
      owner.token,
    );
    expect(res.data?.trainModel, JSON.stringify(res)).toMatchObject({ status: 'QUEUED' });
    const { all } = await samples();
    const depth = all.filter((s) => s.name === 'peso_queue_depth');
    expect(depth.reduce((sum, s) => sum + s.value, 0)).toBe(1);
    const queue = depth.find((s) => s.value === 1)!.labels.queue!;
    expect(value(all, 'peso_jobs', { queue, state: 'created' })).toBe(1);
    expect(value(all, 'peso_jobs', { queue, state: 'active' })).toBe(0);
  });
});
