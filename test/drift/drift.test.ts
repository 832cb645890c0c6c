import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../db/client';
import { runScheduledCheck } from '../../src/drift/jobs';
import { populationStd, wasserstein } from '../../src/drift/statistics';
import { createLogger } from '../../src/log';
import {
  createApiKey,
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';
import { customers, customersCsv, loadCustomers, SET_POLICY } from '../query/fixtures';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let viewer: Awaited<ReturnType<typeof inviteMember>>;
let other: Awaited<ReturnType<typeof signUpOwner>>;
let datasetId: string;
let shiftedVersionId: string;
let referenceVersionId: string;

const UPLOAD = `mutation($datasetId: ID!, $file: File!, $options: UploadOptions) {
  uploadDatasetVersion(datasetId: $datasetId, file: $file, options: $options) {
    __typename ... on DatasetVersion { id } ... on Error { code message } } }`;
const CREATE_MONITOR = `mutation($input: DriftMonitorInput!) { createDriftMonitor(input: $input) {
  __typename ... on DriftMonitor { id name referenceVersion { id } } ... on Error { code message } } }`;
const RUN_CHECK = `mutation($id: ID!, $v: ID) { runDriftCheck(monitorId: $id, currentVersionId: $v) {
  __typename ... on DriftReport { id status } ... on Error { code message } } }`;
const REPORTS = `query($id: ID!) { driftReports(monitorId: $id) {
  __typename
  ... on QueryDriftReportsSuccess { data { id status error drifted share currentVersion { id }
    columns { column kind test statistic pValue pValueIsBound method threshold drifted
      bins { edges labels reference current } } } }
  ... on Error { code message } } }`;
const ALERTS_SUB = `subscription($modelId: ID, $datasetId: ID) { driftAlerts(modelId: $modelId, datasetId: $datasetId) {
  id severity columns message monitor { id } } }`;
const ALERTS = `query($open: Boolean) { driftAlerts(open: $open) { id columns acknowledgedAt acknowledgedBy { id } monitor { id } } }`;
const ACK = `mutation($id: ID!) { acknowledgeDriftAlert(id: $id) {
  __typename ... on DriftAlert { id acknowledgedAt } ... on Error { code message } } }`;

/** The customers with spend tripled and every row moved to one region: a real shift. */
function shiftedCsv() {
  return customersCsv(customers().map((c) => ({ ...c, spend: c.spend * 3 + 40, region: 'east' })));
}

async function upload(csv: string) {
  const res = await server.upload(
    UPLOAD,
    {
      datasetId,
      options: {
        typeOverrides: [{ column: 'region', type: 'CATEGORY' }],
        sensitivityOverrides: [
          { column: 'name', sensitivity: 'PII' },
          { column: 'email', sensitivity: 'PII' },
        ],
      },
    },
    { name: 'customers.csv', content: csv },
    owner.token,
  );
  expect(res.data?.uploadDatasetVersion.__typename, JSON.stringify(res)).toBe('DatasetVersion');
  return res.data!.uploadDatasetVersion.id as string;
}

async function createMonitor(input: Record<string, unknown>) {
  const res = await server.gql(
    CREATE_MONITOR,
    { input: { datasetId, referenceVersionId, ...input } },
    owner.token,
  );
  expect(res.data?.createDriftMonitor.__typename, JSON.stringify(res)).toBe('DriftMonitor');
  return res.data!.createDriftMonitor as { id: string; referenceVersion: { id: string } };
}

async function countMonitors() {
  const [row] = await query<{ n: unknown }>(
    server.database,
    'select count(*) as n from drift_monitors',
  );
  return Number(row?.n);
}

async function finishedReports(monitorId: string, count = 1, token = owner.token) {
  for (;;) {
    const res = await server.gql(REPORTS, { id: monitorId }, token);
    const reports = res.data?.driftReports?.data as any[] | undefined;
    expect(reports, JSON.stringify(res)).toBeDefined();
    const done = reports!.filter((r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
    if (done.length >= count) return done;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1', PESO_AUTH_RECHECK_MS: '500' });
  owner = await signUpOwner(server, 'drift');
  ({ datasetId, versionId: referenceVersionId } = await loadCustomers(server, owner.token));
  viewer = await inviteMember(server, owner.token, 'VIEWER');
  const policy = await server.gql(
    SET_POLICY,
    { input: { datasetId, role: 'VIEWER', columnRules: [{ column: 'spend', rule: 'MASK' }] } },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
  other = await signUpOwner(server, 'drift-other');
  shiftedVersionId = await upload(shiftedCsv());
}, 60_000);

afterAll(() => server?.close());

describe('drift checks', () => {
  it('reports per column with the recipe, and histograms only of columns the reader sees in clear', async () => {
    const monitor = await createMonitor({
      columns: [{ column: 'spend' }, { column: 'region' }, { column: 'id' }],
    });
    const queued = await server.gql(
      RUN_CHECK,
      { id: monitor.id, v: shiftedVersionId },
      owner.token,
    );
    expect(queued.data?.runDriftCheck.__typename, JSON.stringify(queued)).toBe('DriftReport');
    const [report] = await finishedReports(monitor.id);
    expect(report.status, report.error).toBe('SUCCEEDED');
    expect(report.currentVersion.id).toBe(shiftedVersionId);
    const byName = Object.fromEntries(report.columns.map((c: any) => [c.column, c]));
    // 40 reference rows: KS for numeric columns, chi-square for the 4-valued region.
    expect(byName.spend).toMatchObject({
      kind: 'numeric',
      test: 'ks',
      method: 'exact',
      drifted: true,
    });
    expect(byName.region).toMatchObject({ kind: 'categorical', test: 'chisquare', drifted: true });
    // ids are the same 1..40 in both versions: identical distributions.
    expect(byName.id).toMatchObject({ test: 'ks', statistic: 0, pValue: 1, drifted: false });
    expect(report.drifted).toBe(true);
    expect(report.share).toBeCloseTo(2 / 3, 12);
    // Both distributions on shared bins, each summing to its rows.
    const bins = byName.spend.bins;
    expect(bins.edges.length).toBe(bins.reference.length + 1);
    expect(bins.reference.reduce((s: number, x: number) => s + x, 0)).toBe(40);
    expect(bins.current.reduce((s: number, x: number) => s + x, 0)).toBe(40);
    expect(byName.region.bins.labels).toEqual(['east', 'north', 'south', 'west']);
    expect(byName.region.bins.current).toEqual([40, 0, 0, 0]);

    const seen = await finishedReports(monitor.id, 1, viewer.token);
    const forViewer = Object.fromEntries(seen[0].columns.map((c: any) => [c.column, c]));
    expect(forViewer.spend.drifted).toBe(true);
    expect(forViewer.spend.bins).toBeNull();
    expect(forViewer.region.bins).not.toBeNull();

    const stranger = await server.gql(REPORTS, { id: monitor.id }, other.token);
    expect(stranger.data?.driftReports.code, JSON.stringify(stranger)).toBe('NOT_FOUND');
    const theirs = await server.gql(RUN_CHECK, { id: monitor.id }, other.token);
    expect(theirs.data?.runDriftCheck.code).toBe('NOT_FOUND');
  });

  it('refuses to watch a column the owner cannot read in clear, and bad input by name', async () => {
    const analyst = await inviteMember(server, owner.token, 'ANALYST');
    await server.gql(
      SET_POLICY,
      { input: { datasetId, role: 'ANALYST', columnRules: [{ column: 'spend', rule: 'MASK' }] } },
      owner.token,
    );
    const masked = await server.gql(
      CREATE_MONITOR,
      { input: { datasetId, columns: [{ column: 'spend' }] } },
      analyst.token,
    );
    expect(masked.errors?.[0]?.extensions?.code, JSON.stringify(masked)).toBe('FORBIDDEN');
    const missing = await server.gql(
      CREATE_MONITOR,
      { input: { datasetId, columns: [{ column: 'nope' }] } },
      owner.token,
    );
    expect(missing.data?.createDriftMonitor).toMatchObject({ code: 'BAD_USER_INPUT' });
    const share = await server.gql(
      CREATE_MONITOR,
      { input: { datasetId, driftShare: 2 } },
      owner.token,
    );
    expect(share.data?.createDriftMonitor).toMatchObject({ code: 'BAD_USER_INPUT' });
    const foreign = await server.gql(CREATE_MONITOR, { input: { datasetId } }, other.token);
    expect(foreign.data?.createDriftMonitor).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('streams an alert to authorized subscribers over WebSocket and SSE, and to nobody else', async () => {
    const keyWithout = await createApiKey(server, owner.token, 'ANALYST');
    const ws = subscribe(server.ws(owner.token), ALERTS_SUB, {});
    const wsByDataset = subscribe(server.ws(owner.token), ALERTS_SUB, { datasetId });
    const sse = sseSubscribe(server.graphqlUrl, ALERTS_SUB, {}, owner.token);
    const outsider = subscribe(server.ws(other.token), ALERTS_SUB, {});
    const keyWs = subscribe(server.ws(keyWithout.secret), ALERTS_SUB, {});
    const keySse = sseSubscribe(server.graphqlUrl, ALERTS_SUB, {}, keyWithout.secret);
    const keyByDataset = subscribe(server.ws(keyWithout.secret), ALERTS_SUB, { datasetId });
    const monitors: string[] = [];
    // Subscriptions start asynchronously: a fresh monitor per attempt (a new monitor's drift is
    // news, never deduplicated) until the alert reaches every authorized stream.
    for (;;) {
      const monitor = await createMonitor({ columns: [{ column: 'spend' }, { column: 'region' }] });
      monitors.push(monitor.id);
      await server.gql(RUN_CHECK, { id: monitor.id, v: shiftedVersionId }, owner.token);
      await finishedReports(monitor.id);
      const has = (events: any[]) =>
        events.some((e) => e.data?.driftAlerts?.monitor.id === monitor.id);
      await new Promise((r) => setTimeout(r, 300));
      if (has(ws.events) && has(sse.events) && has(wsByDataset.events)) break;
    }
    const alert = ws.events.find((e) => e.data?.driftAlerts)!.data.driftAlerts;
    expect(alert.columns.sort()).toEqual(['region', 'spend']);
    expect(['MEDIUM', 'HIGH']).toContain(alert.severity);
    await new Promise((r) => setTimeout(r, 500));
    for (const stream of [outsider, keyWs]) expect(stream.events).toEqual([]);
    expect(keySse.events.filter((e) => e.data?.driftAlerts)).toEqual([]);
    // Naming a dataset the key may not see is refused outright.
    await keyByDataset.done;
    expect(keyByDataset.events.filter((e) => e.data?.driftAlerts)).toEqual([]);
    for (const s of [ws, wsByDataset, outsider, keyWs]) s.dispose();
    sse.close();
    keySse.close();
  });

  it('deduplicates per monitor and column until acknowledged; acknowledging is audited', async () => {
    const monitor = await createMonitor({ columns: [{ column: 'spend' }] });
    await server.gql(RUN_CHECK, { id: monitor.id, v: shiftedVersionId }, owner.token);
    await finishedReports(monitor.id, 1);
    await server.gql(RUN_CHECK, { id: monitor.id, v: shiftedVersionId }, owner.token);
    await finishedReports(monitor.id, 2);
    const open = await server.gql(ALERTS, { open: true }, owner.token);
    const mine = (open.data!.driftAlerts as any[]).filter((a) => a.monitor.id === monitor.id);
    expect(mine).toHaveLength(1);

    const denied = await server.gql(ACK, { id: mine[0].id }, other.token);
    expect(denied.data?.acknowledgeDriftAlert).toMatchObject({ code: 'NOT_FOUND' });
    const acked = await server.gql(ACK, { id: mine[0].id }, owner.token);
    expect(acked.data?.acknowledgeDriftAlert.acknowledgedAt, JSON.stringify(acked)).toBeTruthy();
    const [audit] = await query<{ n: unknown }>(
      server.database,
      `select count(*) as n from audit_events where action = 'ACKNOWLEDGE_DRIFT_ALERT' and filter->>'alertId' is not null`,
    );
    expect(Number(audit?.n)).toBe(1);

    // Still drifting after the acknowledgement: news again.
    await server.gql(RUN_CHECK, { id: monitor.id, v: shiftedVersionId }, owner.token);
    await finishedReports(monitor.id, 3);
    const after = await server.gql(ALERTS, {}, owner.token);
    expect(
      (after.data!.driftAlerts as any[]).filter((a) => a.monitor.id === monitor.id),
    ).toHaveLength(2);
  });

  it('checks each new version of the watched dataset', async () => {
    const monitor = await createMonitor({
      columns: [{ column: 'spend' }, { column: 'region' }],
      checkOnNewVersion: true,
    });
    const versionId = await upload(shiftedCsv());
    const [report] = await finishedReports(monitor.id);
    expect(report.status, report.error).toBe('SUCCEEDED');
    expect(report.currentVersion.id).toBe(versionId);
    expect(report.drifted).toBe(true);
    const alerts = await server.gql(ALERTS, { open: true }, owner.token);
    expect((alerts.data!.driftAlerts as any[]).some((a) => a.monitor.id === monitor.id)).toBe(true);
  });

  it('files one cron schedule per monitor; an occurrence queues a check of the latest version', async () => {
    const monitor = await createMonitor({
      columns: [{ column: 'spend' }],
      schedule: '*/5 * * * *',
    });
    const rawId = Buffer.from(monitor.id, 'base64').toString().split(':')[1]!;
    const rows = await query<{ cron: string }>(
      server.database,
      `select cron from pgboss.schedule where name = 'drift.scheduled' and key = $1`,
      [rawId],
    );
    expect(rows.map((r) => r.cron)).toEqual(['*/5 * * * *']);
    // The occurrence's handler, as pg-boss's cron pass would start it.
    await runScheduledCheck(
      {
        deps: {
          database: server.database,
          config: server.config,
          log: createLogger('silent'),
          events: server.platform.events,
          jobs: server.platform.jobs,
        },
        jobs: server.platform.jobs,
        pool: undefined as never,
        name: 'test',
      },
      rawId,
    );
    const [report] = await finishedReports(monitor.id);
    expect(report.status, report.error).toBe('SUCCEEDED');

    const refused = await server.gql(
      CREATE_MONITOR,
      { input: { datasetId, schedule: 'every day' } },
      owner.token,
    );
    expect(refused.data?.createDriftMonitor).toMatchObject({ code: 'BAD_USER_INPUT' });
    // Five fields pg-boss refuses: the monitor is not left behind without its schedule.
    const before = await countMonitors();
    const invalid = await server.gql(
      CREATE_MONITOR,
      { input: { datasetId, schedule: '99 * * * *' } },
      owner.token,
    );
    expect(invalid.data?.createDriftMonitor).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await countMonitors()).toBe(before);
    const deleted = await server.gql(
      'mutation($id: ID!) { deleteDriftMonitor(id: $id) { __typename } }',
      { id: monitor.id },
      owner.token,
    );
    expect(deleted.errors, JSON.stringify(deleted)).toBeUndefined();
    const after = await query(
      server.database,
      `select cron from pgboss.schedule where name = 'drift.scheduled' and key = $1`,
      [rawId],
    );
    expect(after).toEqual([]);
  });

  it('above 1,000 reference rows: Wasserstein on fine bins and Jensen–Shannon', async () => {
    const create = await server.gql(
      'mutation { createDataset(input: { name: "wide" }) { ... on Dataset { id } } }',
      {},
      owner.token,
    );
    const wide = create.data!.createDataset.id as string;
    const ref = Array.from({ length: 1500 }, (_, i) => (i * 37) / 100);
    const cur = ref.map((x) => x + 200);
    const csv = (xs: number[]) =>
      `x,c\n${xs.map((x, i) => `${x},${['a', 'b', 'c'][i % 3]}`).join('\n')}\n`;
    const load = async (xs: number[]) => {
      const res = await server.upload(
        UPLOAD,
        { datasetId: wide },
        { name: 'w.csv', content: csv(xs) },
        owner.token,
      );
      return res.data!.uploadDatasetVersion.id as string;
    };
    const refId = await load(ref);
    const curId = await load(cur);
    const res = await server.gql(
      CREATE_MONITOR,
      { input: { datasetId: wide, referenceVersionId: refId } },
      owner.token,
    );
    const monitor = res.data!.createDriftMonitor;
    await server.gql(RUN_CHECK, { id: monitor.id, v: curId }, owner.token);
    const [report] = await finishedReports(monitor.id);
    expect(report.status, report.error).toBe('SUCCEEDED');
    const byName = Object.fromEntries(report.columns.map((c: any) => [c.column, c]));
    expect(byName.x).toMatchObject({ test: 'wasserstein', drifted: true, pValue: null });
    // Exact on the raw values; the profile places rows within one of 999 bins of the range.
    const exact = wasserstein(ref, cur) / populationStd(ref);
    expect(Math.abs(byName.x.statistic - exact)).toBeLessThan((555 / 999 / populationStd(ref)) * 2);
    expect(byName.c).toMatchObject({ test: 'jensenshannon', statistic: 0, drifted: false });
  });
});
