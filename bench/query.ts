import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { asc, eq } from 'drizzle-orm';
import { type Database, openDatabase, query } from '../db/client';
import { datasetPolicies } from '../db/schema/access';
import { datasetColumns, datasetVersions } from '../db/schema/datasets';
import { scratchDatabase } from '../db/scratch';
import { compileQuery } from '../src/access/compile';
import type { QueryInput } from '../src/access/language';
import { resolveAccess } from '../src/access/policy';
import { viewerFor } from '../src/auth/viewer';
import { loadConfig } from '../src/config';
import { seedDemoOrganization } from '../src/demo/seed';
import { createLogger } from '../src/log';
import { startServer } from '../src/server';
import { writeFlightsCsv } from './flights';
import { graphql, percentile, putFile } from './http';

const MIN_ROWS = Number(process.env.BENCH_QUERY_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_QUERY_ROUNDS ?? 30);
const WARMUP = 5;
/** The bands the row policy lets through. */
const POLICY_BANDS = ['short', 'medium'];

const CREATE = /* GraphQL */ `
  mutation($input: CreateDatasetInput!) {
    createDataset(input: $input) { __typename ... on Dataset { id } ... on Error { code message } }
  }
`;
const UPLOAD_URL = /* GraphQL */ `
  mutation($datasetId: ID!, $filename: String!, $options: UploadOptions) {
    createUploadUrl(datasetId: $datasetId, filename: $filename, options: $options) {
      __typename ... on UploadUrl { url } ... on Error { code message }
    }
  }
`;
const LOGIN = /* GraphQL */ `
  mutation($input: LoginInput!) { login(input: $input) { __typename ... on AuthPayload { token } } }
`;
const API_KEYS = /* GraphQL */ `{ apiKeys { edges { node { id name } } } }`;
const CREATE_KEY = /* GraphQL */ `
  mutation($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename ... on CreateApiKeyPayload { secret apiKey { id } } ... on Error { code message }
    }
  }
`;
const SET_POLICY = /* GraphQL */ `
  mutation($input: DatasetPolicyInput!) {
    setDatasetPolicy(input: $input) {
      __typename ... on DatasetPolicy { id rowFilter } ... on Error { code message }
    }
  }
`;
const QUERY = /* GraphQL */ `
  query($id: ID!, $input: DatasetQueryInput!) {
    datasetQuery(datasetId: $id, input: $input) {
      __typename
      ... on QueryResult { columns { name type } rows }
      ... on Error { code message }
    }
  }
`;
const QUERY_INPUT: QueryInput = {
  where: { column: 'delay', gt: 0 },
  groupBy: [{ column: 'band' }],
  aggregates: [
    { function: 'COUNT' },
    { function: 'AVG', column: 'delay' },
    { function: 'MAX', column: 'distance' },
  ],
};
const OUTPUTS = ['band', 'count', 'avg_delay', 'max_distance'] as const;

type Row = Record<string, unknown>;

/** One GraphQL request over HTTP; throws on errors so a failed setup step is never timed. */
async function gql(url: string, token: string | null, query: string, variables: unknown = {}) {
  const body = await graphql(url, token, query, variables);
  if (body.errors?.length || !body.data)
    throw new Error(`HTTP ${body.status}: ${JSON.stringify(body).slice(0, 1000)}`);
  return body.data;
}

/** `data[field]` when its `__typename` is `typename`, else a loud failure. */
function expectType(data: Record<string, any>, field: string, typename: string) {
  const value = data[field];
  if (value?.__typename !== typename)
    throw new Error(
      `${field}: expected ${typename}, got ${String(JSON.stringify(value)).slice(0, 1000)}`,
    );
  return value;
}

async function runSql(database: Database, text: string): Promise<Row[]> {
  if (database.kind === 'postgres') return [...(await database.sql.unsafe(text))];
  return (await database.pglite.query<Row>(text)).rows;
}

/** Fails loudly unless both results have the same groups in the same order and equal numbers. */
function assertSameResult(label: string, peso: Row[], baseline: Row[]): void {
  const fail = (why: string): never => {
    throw new Error(
      `${label}: GraphQL and SQL disagree (${why})\n  GraphQL: ${JSON.stringify(peso)}\n  SQL:     ${JSON.stringify(baseline, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
    );
  };
  if (peso.length === 0) fail('no groups');
  if (peso.length !== baseline.length) fail(`${peso.length} vs ${baseline.length} groups`);
  for (const [i, p] of peso.entries()) {
    const b = baseline[i]!;
    if (p.band !== b.band) fail(`group ${i}: ${String(p.band)} vs ${String(b.band)}`);
    for (const name of OUTPUTS.slice(1)) {
      const x = Number(p[name]);
      const y = Number(b[name]);
      if (!Number.isFinite(x) || Math.abs(x - y) > 1e-9 * Math.max(Math.abs(x), Math.abs(y)))
        fail(`${String(p.band)}.${name}: ${p[name]} vs ${String(b[name])}`);
    }
  }
}

interface Case {
  name: string;
  run: () => Promise<unknown>;
  samples: number[];
}

/**
 * Interleaves the cases round by round so drift (autovacuum, page cache, GC) hits all alike;
 * returns each case's p50 and p99 in ms.
 */
async function timeInterleaved(cases: Case[]) {
  for (let i = 0; i < WARMUP; i++) for (const c of cases) await c.run();
  for (let i = 0; i < ROUNDS; i++) {
    for (const c of cases) {
      const t = performance.now();
      await c.run();
      c.samples.push(performance.now() - t);
    }
  }
  return cases.map((c) => {
    const sorted = [...c.samples].sort((a, b) => a - b);
    return { name: c.name, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  });
}

/**
 * A grouped aggregate over a 1M-row dataset (flights-200k ×5 with a distance band) through
 * `datasetQuery` over HTTP, with and without a row policy, against the same SQL written by hand
 * and run through the same driver on the version's table; Peso's compiled statement run alone
 * splits the gap into request overhead and SQL shape. Env: BENCH_QUERY_ROUNDS (30),
 * BENCH_QUERY_ROWS (1,000,000).
 */
export async function benchQuery(): Promise<void> {
  const path = join(tmpdir(), `peso-bench-query-${randomBytes(4).toString('hex')}.csv`);
  const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL);
  let database: Database | undefined;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const rows = await writeFlightsCsv(path, MIN_ROWS, { band: true });
    const config = loadConfig({
      DATABASE_URL: scratch.url,
      PESO_SECRET: randomBytes(32).toString('base64url'),
      LOG_LEVEL: 'silent',
    });
    database = await openDatabase(config.database);
    const demo = (await seedDemoOrganization(database.db))!;
    server = await startServer({
      config,
      database,
      log: createLogger('silent'),
      port: 0,
      host: '127.0.0.1',
    });
    const url = `${server.url}/graphql`;

    // Setup runs as the demo owner: an API key sees a dataset only once a policy names it, and
    // createApiKey is for members, not keys.
    const login = await gql(url, null, LOGIN, {
      input: { email: demo.email, password: demo.password },
    });
    const ownerToken = expectType(login, 'login', 'AuthPayload').token as string;
    const created = await gql(url, ownerToken, CREATE, { input: { name: 'flights-bench' } });
    const datasetId = expectType(created, 'createDataset', 'Dataset').id as string;
    // The file (~28 MB with the band column) is over yoga's default 25 MB request body limit for
    // a multipart upload, so it goes through Peso's path for large files: a signed URL, then PUT.
    const signed = expectType(
      await gql(url, ownerToken, UPLOAD_URL, {
        datasetId,
        filename: 'flights.csv',
        options: { typeOverrides: [{ column: 'band', type: 'CATEGORY' }] },
      }),
      'createUploadUrl',
      'UploadUrl',
    );
    const uploadStart = performance.now();
    const uploaded = await putFile(signed.url, path);
    const uploadMs = performance.now() - uploadStart;
    if (uploaded.status !== 201 || !uploaded.body.version)
      throw new Error(`upload: HTTP ${uploaded.status}: ${JSON.stringify(uploaded.body)}`);
    const version = uploaded.body.version;
    if (version.rowCount !== rows)
      throw new Error(`upload stored ${version.rowCount} rows, expected ${rows}`);

    // The version's table and where each column sits in it (`c<position>`).
    const [stored] = await database.db
      .select({ tableName: datasetVersions.tableName })
      .from(datasetVersions)
      .where(eq(datasetVersions.id, decodeGlobalID(version.id).id));
    if (!stored) throw new Error(`version ${version.id} not found in dataset_versions`);
    const table = stored.tableName;
    const positions = await database.db
      .select({ name: datasetColumns.name, position: datasetColumns.position })
      .from(datasetColumns)
      .innerJoin(datasetVersions, eq(datasetVersions.id, datasetColumns.versionId))
      .where(eq(datasetVersions.tableName, table))
      .orderBy(asc(datasetColumns.position));
    const c = Object.fromEntries(positions.map((p) => [p.name, `c${p.position}`]));
    for (const name of ['delay', 'distance', 'band'])
      if (!c[name]) throw new Error(`no column ${name} in ${JSON.stringify(positions)}`);

    // The demo ADMIN key gets a policy without a row filter; a new ANALYST key one limited to
    // short and medium flights.
    const keys = await gql(url, ownerToken, API_KEYS);
    const adminKeyId = keys.apiKeys.edges.find(
      (e: { node: { name: string } }) => e.node.name === 'Demo key',
    )?.node.id as string;
    expectType(
      await gql(url, ownerToken, SET_POLICY, { input: { datasetId, apiKeyId: adminKeyId } }),
      'setDatasetPolicy',
      'DatasetPolicy',
    );
    const analystKey = expectType(
      await gql(url, ownerToken, CREATE_KEY, {
        input: { name: 'bench-analyst', role: 'ANALYST' },
      }),
      'createApiKey',
      'CreateApiKeyPayload',
    );
    expectType(
      await gql(url, ownerToken, SET_POLICY, {
        input: {
          datasetId,
          apiKeyId: analystKey.apiKey.id,
          rowFilter: { column: 'band', in: POLICY_BANDS },
        },
      }),
      'setDatasetPolicy',
      'DatasetPolicy',
    );

    // Peso does not ANALYZE a version's table after loading it, and PGlite has no autovacuum: with
    // no statistics the planner guesses and the hand-written IN list got a sort-based plan twice
    // as slow as Peso's (which it estimates differently). Analyze once so both sides plan on the
    // same statistics, and so autoanalyze on PostgreSQL cannot change plans mid-run.
    await runSql(database, `analyze ${table}`);

    const viaGraphql = async (token: string): Promise<Row[]> =>
      expectType(
        await gql(url, token, QUERY, { id: datasetId, input: QUERY_INPUT }),
        'datasetQuery',
        'QueryResult',
      ).rows;
    const baseline = (where: string) =>
      `select ${c.band} as band, count(*) as count, avg(${c.delay})::float8 as avg_delay, max(${c.distance}) as max_distance from ${table} where ${where} group by ${c.band} order by ${c.band}`;
    const plainSql = baseline(`${c.delay} > 0`);
    const policySql = baseline(
      `${c.band} in (${POLICY_BANDS.map((b) => `'${b}'`).join(', ')}) and ${c.delay} > 0`,
    );

    const openRows = await viaGraphql(demo.apiKey);
    assertSameResult('a vs b', openRows, await runSql(database, plainSql));
    const policyRows = await viaGraphql(analystKey.secret);
    assertSameResult('c vs d', policyRows, await runSql(database, policySql));
    if (policyRows.some((r) => !POLICY_BANDS.includes(String(r.band))))
      throw new Error(`policy let through ${JSON.stringify(policyRows)}`);

    // Statements Peso issues for one request, counted by the database handle the server uses.
    const before = database.stats.statements;
    await viaGraphql(analystKey.secret);
    const statements = database.stats.statements - before;

    // To split the gap: the one statement Peso compiles for each caller, run alone through the
    // same driver call Peso uses. GraphQL minus it is the request's overhead (HTTP, GraphQL, auth,
    // gate lookups, audit and history inserts); it minus the hand-written SQL is the SQL's shape.
    const db = database;
    const columns = await db.db
      .select({
        name: datasetColumns.name,
        type: datasetColumns.type,
        position: datasetColumns.position,
        sensitivity: datasetColumns.sensitivity,
      })
      .from(datasetColumns)
      .where(eq(datasetColumns.versionId, decodeGlobalID(version.id).id))
      .orderBy(asc(datasetColumns.position));
    const policies = await db.db
      .select()
      .from(datasetPolicies)
      .where(eq(datasetPolicies.datasetId, decodeGlobalID(datasetId).id));
    const compiled = async (apiKeyId: string) => {
      const viewer = await viewerFor(db.db, { apiKeyId, membershipId: null });
      const access = resolveAccess(viewer, columns, policies);
      if (!access) throw new Error(`no access for API key ${apiKeyId}`);
      const plan = compileQuery(
        access,
        QUERY_INPUT,
        {},
        {
          table,
          viewer,
          hashKey: () => Buffer.alloc(32),
        },
      );
      return async () =>
        (await query(db, plan.sql, plan.params)).map((r) =>
          Object.fromEntries(OUTPUTS.map((name, i) => [name, r[`o${i}`]])),
        );
    };
    const pesoPlain = await compiled(decodeGlobalID(adminKeyId).id);
    const pesoPolicy = await compiled(decodeGlobalID(analystKey.apiKey.id).id);
    assertSameResult('e vs a', await pesoPlain(), openRows);
    assertSameResult('f vs c', await pesoPolicy(), policyRows);

    const [a, b, cc, d, e, f] = await timeInterleaved([
      { name: 'a', run: () => viaGraphql(demo.apiKey), samples: [] },
      { name: 'b', run: () => runSql(db, plainSql), samples: [] },
      { name: 'c', run: () => viaGraphql(analystKey.secret), samples: [] },
      { name: 'd', run: () => runSql(db, policySql), samples: [] },
      { name: 'e', run: pesoPlain, samples: [] },
      { name: 'f', run: pesoPolicy, samples: [] },
    ]);

    const fmt = (n: number) => n.toFixed(2);
    const line = (label: string, r: { p50: number; p99: number }) =>
      console.log(`  ${label.padEnd(40)} p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`);
    console.log(
      `query (${db.kind}, ${rows.toLocaleString('en-US')} rows loaded through Peso in ${(uploadMs / 1000).toFixed(2)} s; ${ROUNDS} interleaved rounds after ${WARMUP} warm-ups)`,
    );
    console.log(
      `  group by band; COUNT, AVG(delay), MAX(distance); where delay > 0; row policy band in (${POLICY_BANDS.join(', ')})`,
    );
    line('a) GraphQL, ADMIN key, no row policy:', a!);
    line('b) direct SQL:', b!);
    line('c) GraphQL, ANALYST key, row policy:', cc!);
    line('d) direct SQL + policy predicate:', d!);
    line("e) Peso's statement for a, alone:", e!);
    line("f) Peso's statement for c, alone:", f!);
    console.log('  results checked equal: a = b = e, c = d = f');
    console.log(`  statements per GraphQL request: ${statements} (1 of them the aggregate)`);
    console.log(
      `  request overhead (p50): a − e ${fmt(a!.p50 - e!.p50)} ms, c − f ${fmt(cc!.p50 - f!.p50)} ms; SQL shape: e − b ${fmt(e!.p50 - b!.p50)} ms, f − d ${fmt(f!.p50 - d!.p50)} ms`,
    );
    console.log(`  ratio (GraphQL p50 / SQL p50), no policy:  ${fmt(a!.p50 / b!.p50)}`);
    console.log(`  ratio (GraphQL p50 / SQL p50), row policy: ${fmt(cc!.p50 / d!.p50)}`);
  } finally {
    await server?.close();
    await database?.close();
    await scratch.drop();
    rmSync(path, { force: true });
  }
}
