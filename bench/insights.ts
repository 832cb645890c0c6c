import { eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { insightsCache } from '../db/schema/insights';
import { openGate } from '../src/access/gate';
import { writeVersion } from '../src/datasets/writer';
import { visibilityFingerprint, writeCache } from '../src/insights/cache';
import { computeInsights } from '../src/insights/service';
import { startServer } from '../src/server';
import { percentile } from './http';
import { benchOwner } from './setup';

const ROWS = Number(process.env.BENCH_INSIGHTS_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_INSIGHTS_ROUNDS ?? 3);
const READS = Number(process.env.BENCH_INSIGHTS_READS ?? 300);

/** Eight columns from a seeded series (generated data): five numeric, one integer, a category
 * and a date spanning three years. */
function rowsSql(): string {
  const u = (k: number) => `((((i::bigint * ${7919 + k * 104729}) % 1000003) + 0.5) / 1000003.0)`;
  const normal = (a: number, b: number) => `sqrt(-2 * ln(${u(a)})) * cos(2 * pi() * ${u(b)})`;
  return `select
      ${normal(1, 2)} as o0,
      ${normal(3, 4)} * 10 + 100 + ${normal(1, 2)} * 5 as o1,
      exp(${normal(5, 6)} * 0.5) as o2,
      ${u(7)} * 1000 as o3,
      ${normal(8, 9)} + ${u(10)} as o4,
      (floor(${u(13)} * 5))::int as o5,
      (array['search','social','email','display','video'])[1 + floor(${u(15)} * 5)::int] as o6,
      date '2021-01-01' + (i % 1096) as o7
    from generate_series(1, $1::int) as i`;
}

const COLUMNS = [
  { name: 'score', type: 'FLOAT' },
  { name: 'basket', type: 'FLOAT' },
  { name: 'revenue', type: 'FLOAT' },
  { name: 'uniform', type: 'FLOAT' },
  { name: 'mixed', type: 'FLOAT' },
  { name: 'visits', type: 'INTEGER' },
  { name: 'channel', type: 'CATEGORY' },
  { name: 'day', type: 'DATE' },
] as const;

/** Records the dataset reads (statements on `dsv_` tables) a computation issues. */
function recordReads(database: Database): { take(): Array<[string, unknown[]]> } {
  let seen: Array<[string, unknown[]]> = [];
  const keep = (text: string, params: unknown) => {
    if (/\bdsv_[0-9a-f]+\b/.test(text)) seen.push([text, [...((params as unknown[]) ?? [])]]);
  };
  if (database.kind === 'pglite') {
    const original = database.pglite.query.bind(database.pglite);
    database.pglite.query = ((text: string, ...rest: unknown[]) => {
      keep(text, rest[0]);
      return (original as (...a: unknown[]) => unknown)(text, ...rest);
    }) as typeof database.pglite.query;
  } else {
    const original = database.sql.unsafe.bind(database.sql);
    database.sql.unsafe = ((text: string, ...rest: unknown[]) => {
      keep(text, rest[0]);
      return (original as (...a: unknown[]) => unknown)(text, ...rest);
    }) as typeof database.sql.unsafe;
  }
  return {
    take() {
      const out = seen;
      seen = [];
      return out;
    },
  };
}

async function run(database: Database, text: string, params: unknown[]) {
  if (database.kind === 'pglite') await database.pglite.query(text, params as never);
  else await database.sql.unsafe(text, params as never);
}

/**
 * Full insights (summary of every column, correlation matrices, anomalies by three rules with
 * their rows, seasonal decomposition) of a 1,000,000-row version through the gate as its owner,
 * against the same SQL aggregate statements alone (recorded from a first computation and issued
 * directly through the driver: no gate, audit, JavaScript or cache). Then a cached read of
 * `datasetInsights` over HTTP against a plain `{ viewer { id } }` query by the same caller.
 * Env: BENCH_INSIGHTS_ROWS (1,000,000), BENCH_INSIGHTS_ROUNDS (3), BENCH_INSIGHTS_READS (300),
 * BENCH_DATABASE_URL.
 */
export async function benchInsights(): Promise<void> {
  const owner = await benchOwner('insights', {
    PESO_QUERY_TIMEOUT_MS: '0',
    PESO_WORKERS: '0',
    PESO_RATE_LIMIT_PER_KEY: '1000000',
    PESO_RATE_LIMIT_PER_ADDRESS: '1000000',
    PESO_RATE_LIMIT_PER_USER: '1000000',
  });
  const { config, database, ctx, writer } = owner;
  const { log } = owner.deps;
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    const t0 = performance.now();
    const version = await writeVersion(
      writer,
      { target: { newDataset: { name: 'insights-bench', description: 'Generated rows.' } } },
      async (sink) => {
        await sink.create(COLUMNS.map((c) => ({ ...c })));
        await sink.insertFrom(rowsSql(), [ROWS]);
        return { checksum: 'generated', source: 'generated (bench/insights)' };
      },
    );
    console.log(
      `insights: wrote ${ROWS.toLocaleString('en')} rows × ${COLUMNS.length} columns in ${((performance.now() - t0) / 1000).toFixed(1)} s (${database.kind})`,
    );
    const recorder = recordReads(database);
    const gate = await openGate(ctx, { datasetId: version.datasetId, versionId: version.id });
    const first = await computeInsights(ctx, gate);
    const statements = recorder.take();
    console.log(
      `insights: ${first.summary.columns.length} columns, ${first.correlations.pairs.length} correlation pairs, ${first.anomalies.columns.length} anomaly rules, ${first.anomalies.seasonal.length} seasonal series; ${statements.length} dataset statements`,
    );
    const p50 = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      );
    const samples = { sql: [] as number[], full: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      for (const [text, params] of statements) await run(database, text, params);
      samples.sql.push(performance.now() - t);
      recorder.take();
      t = performance.now();
      const g = await openGate(ctx, { datasetId: version.datasetId, versionId: version.id });
      const insights = await computeInsights(ctx, g);
      await database.db.delete(insightsCache).where(eq(insightsCache.versionId, version.id));
      await writeCache(ctx, version.id, visibilityFingerprint(ctx, g), insights);
      samples.full.push(performance.now() - t);
      recorder.take();
    }
    const sql = p50(samples.sql);
    const full = p50(samples.full);
    console.log(
      `insights: SQL aggregates alone p50 ${(sql / 1000).toFixed(2)} s; full insights (first computation, cached after) p50 ${(full / 1000).toFixed(2)} s = ${(full / sql).toFixed(2)}× (${ROUNDS} interleaved rounds)`,
    );

    server = await startServer({ config, database, log, port: 0, host: '127.0.0.1' });
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${owner.token}`,
    };
    const post = async (query: string, variables: object = {}) => {
      const res = await fetch(`${server!.url}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
      });
      // Timed until the whole body is in; it is parsed only to report an error.
      const text = await res.text();
      if (res.status !== 200 || text.includes('"errors"')) throw new Error(text.slice(0, 2000));
    };
    const cached = `query($id: ID!) { datasetInsights(datasetId: $id) { status rows
      columns { name count mean median std skewness kurtosis percentiles { p value } histogram { lower upper count } topCategories { value share } }
      correlations { columns pearson spearman } anomalies { column rule count } } }`;
    const { encodeGlobalID } = await import('@pothos/plugin-relay');
    const id = encodeGlobalID('Dataset', version.datasetId);
    const reads = { viewer: [] as number[], cached: [] as number[] };
    for (let i = 0; i < 30; i++) {
      await post('{ viewer { id } }');
      await post(cached, { id });
    }
    for (let i = 0; i < READS; i++) {
      let t = performance.now();
      await post('{ viewer { id } }');
      reads.viewer.push(performance.now() - t);
      t = performance.now();
      await post(cached, { id });
      reads.cached.push(performance.now() - t);
    }
    const v = p50(reads.viewer);
    const c = p50(reads.cached);
    // Statements each request runs (the database's counter across the request).
    const countStatements = async (query: string, variables: object = {}) => {
      const before = database.stats.statements;
      await post(query, variables);
      return database.stats.statements - before;
    };
    const viewerStatements = await countStatements('{ viewer { id } }');
    const cachedStatements = await countStatements(cached, { id });
    console.log(
      `insights: cached datasetInsights over HTTP p50 ${c.toFixed(2)} ms (${cachedStatements} statements) vs { viewer { id } } p50 ${v.toFixed(2)} ms (${viewerStatements}) = ${(c / v).toFixed(2)}× (${READS} interleaved requests)`,
    );
  } finally {
    await server?.close();
    await owner.close();
  }
}
