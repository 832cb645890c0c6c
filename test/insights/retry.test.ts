import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../db/client';
import { insightsJobs } from '../../src/insights/jobs';
import { startWorkers } from '../../src/jobs/workers';
import { createLogger } from '../../src/log';
import {
  countOf,
  inviteMember,
  signUpOwner,
  startTestServer,
  type TestServer,
} from '../helpers/server';
import { SET_POLICY } from '../query/fixtures';
import { INSIGHTS, loadVega } from './insights-fixtures';
import { CARS_USA_SUMMARY } from './references';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let viewer: Awaited<ReturnType<typeof inviteMember>>;
let carsId: string;

beforeAll(async () => {
  // No workers of its own: the test starts one when a job should run, so it decides what the
  // job sees.
  server = await startTestServer({ PESO_INSIGHTS_JOB_ROWS: '100', PESO_WORKERS: '0' });
  owner = await signUpOwner(server, 'insights-retry');
  viewer = await inviteMember(server, owner.token, 'VIEWER');
  carsId = (await loadVega(server, owner.token, 'cars.json')).datasetId;
  await viewersSee('USA');
}, 120_000);

afterAll(() => server?.close());

async function viewersSee(origin: string) {
  const res = await server.gql(
    SET_POLICY,
    { input: { datasetId: carsId, role: 'VIEWER', rowFilter: { column: 'Origin', eq: origin } } },
    owner.token,
  );
  expect(res.data?.setDatasetPolicy.__typename, JSON.stringify(res)).toBe('DatasetPolicy');
}

async function insights() {
  const res = await server.gql(INSIGHTS, { id: carsId }, viewer.token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.datasetInsights;
}

const jobsSent = () =>
  countOf(server, `select count(*) as n from pgboss.job where name = 'insights.compute'`);

/** What the workers logged, one JSON object a line. */
const logged: string[] = [];

/** Runs a worker until the one insights run ends, and returns how it ended. */
async function work(): Promise<{ status: string; error: string | null }> {
  const deps = {
    config: server.config,
    database: server.database,
    log: createLogger('warn', { write: (line: string) => logged.push(line) }),
    events: server.platform.events,
    jobs: server.platform.jobs,
  };
  const workers = await startWorkers(deps, server.platform.jobs, [insightsJobs], { size: 1 });
  try {
    for (let i = 0; i < 300; i++) {
      const [run] = await runs();
      if (run && (run.status === 'SUCCEEDED' || run.status === 'FAILED')) return run;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the insights run did not end');
  } finally {
    await workers.stop();
  }
}

function runs() {
  return query<{ status: string; error: string | null; attempt: number }>(
    server.database,
    'select status, error, attempt from insights_runs',
  );
}

describe('a failed insights run', () => {
  it('is queued again by the next request for the same visibility, and then completes', async () => {
    const first = await insights();
    expect(first.status).toBe('COMPUTING');
    expect(first.progress.status).toBe('QUEUED');
    // The viewers' rows change before the job runs: it refuses to cache values for a visibility
    // its requester no longer has.
    await viewersSee('Europe');
    const failed = await work();
    expect(failed.status).toBe('FAILED');
    // The stored error names the reason, not an unexpected failure.
    expect(failed.error).toBe('Access changed since the insights were requested.');
    expect(logged.filter((line) => line.includes('failed unexpectedly'))).toEqual([]);
    expect(await jobsSent()).toBe(1);

    // The same visibility again: two requests at once re-queue the run once.
    await viewersSee('USA');
    const [again, racing] = await Promise.all([insights(), insights()]);
    expect(again.status).toBe('COMPUTING');
    expect(racing.status).toBe('COMPUTING');
    expect(again.columns).toBeNull();
    expect(again.progress).toMatchObject({ status: 'QUEUED', step: 0, totalSteps: 3 });
    expect(await jobsSent()).toBe(2);

    const done = await work();
    expect(done).toMatchObject({ status: 'SUCCEEDED', error: null });
    const ready = await insights();
    expect(ready.status).toBe('READY');
    expect(ready.rows).toBe(CARS_USA_SUMMARY.rows);
    expect(await countOf(server, 'select count(*) as n from insights_runs')).toBe(1);
    expect((await runs())[0]!.attempt).toBe(2);
  });
});
