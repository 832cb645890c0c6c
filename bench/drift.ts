import { eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { driftProfiles } from '../db/schema/drift';
import { tableFor, writeVersion } from '../src/datasets/writer';
import { computeDrift } from '../src/drift/check';
import { createMonitor } from '../src/drift/service';
import { percentile } from './http';
import { benchOwner } from './setup';

const ROWS = Number(process.env.BENCH_DRIFT_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_DRIFT_ROUNDS ?? 5);

/**
 * Ten columns, written in SQL from a seeded series (generated data): six numeric with ~all values
 * distinct, two small integers, two categories. `shift` moves the current version: means,
 * spreads and category shares change in half of the columns.
 */
function rowsSql(shift: boolean): string {
  const s = shift ? 1 : 0;
  // Deterministic pseudo-random numbers in [0, 1) from the row number (no random()).
  const u = (k: number) => `((((i::bigint * ${7919 + k * 104729}) % 1000003) + 0.5) / 1000003.0)`;
  const normal = (a: number, b: number) => `sqrt(-2 * ln(${u(a)})) * cos(2 * pi() * ${u(b)})`;
  return `select
      ${normal(1, 2)} * ${1 + 0.3 * s} + ${0.4 * s} as o0,
      ${normal(3, 4)} * 10 + 100 as o1,
      exp(${normal(5, 6)} * 0.5 + ${0.2 * s}) as o2,
      ${u(7)} * 1000 as o3,
      ${normal(8, 9)} + ${u(10)} as o4,
      ${u(11)} * ${u(12)} * ${1 + s} as o5,
      (floor(${u(13)} * 5))::int as o6,
      (floor(${u(14)} * ${shift ? 4 : 5}))::int as o7,
      (array['search','social','email','display','video'])[1 + floor(${u(15)} * 5)::int] as o8,
      (array['north','south','east','west'])[1 + floor(power(${u(16)}, ${shift ? 2 : 1}) * 4)::int] as o9
    from generate_series(1, $1::int) as i`;
}

const COLUMNS = [
  { name: 'score', type: 'FLOAT' },
  { name: 'basket', type: 'FLOAT' },
  { name: 'revenue', type: 'FLOAT' },
  { name: 'uniform', type: 'FLOAT' },
  { name: 'mixed', type: 'FLOAT' },
  { name: 'product', type: 'FLOAT' },
  { name: 'visits', type: 'INTEGER' },
  { name: 'pages', type: 'INTEGER' },
  { name: 'channel', type: 'CATEGORY' },
  { name: 'region', type: 'CATEGORY' },
] as const;

async function selectAll(database: Database, table: string): Promise<number> {
  const list = COLUMNS.map((_, i) => `c${i}`).join(', ');
  if (database.kind === 'postgres') {
    // Rows fetched to the client, as a check reading them in JavaScript would.
    let n = 0;
    await database.sql.unsafe(`select ${list} from ${table}`).cursor(10_000, (rows) => {
      n += rows.length;
    });
    return n;
  }
  const result = await database.pglite.query(`select ${list} from ${table}`);
  return result.rows.length;
}

/**
 * A drift check of 1,000,000 reference rows against 1,000,000 current rows × 10 columns (the
 * default recipe: above 1,000 reference rows, Wasserstein for numeric and Jensen–Shannon for
 * categorical columns) through the gate as the monitor's owner, against a plain `SELECT` of the
 * same ten columns of both versions fetched by the same driver. Cold: the reference profile is
 * computed too; warm: it is read from its cache, as every later check of the monitor does.
 * Env: BENCH_DRIFT_ROWS (1,000,000), BENCH_DRIFT_ROUNDS (5), BENCH_DATABASE_URL.
 */
export async function benchDrift(): Promise<void> {
  const owner = await benchOwner('drift');
  const { database, ctx, writer } = owner;
  try {
    const write = async (shift: boolean, target: Parameters<typeof writeVersion>[1]['target']) =>
      writeVersion(writer, { target }, async (sink) => {
        await sink.create(COLUMNS.map((c) => ({ ...c })));
        await sink.insertFrom(rowsSql(shift), [ROWS]);
        return { checksum: `generated-${shift}`, source: 'generated (bench/drift)' };
      });
    const t0 = performance.now();
    const reference = await write(false, {
      newDataset: { name: 'drift-bench', description: 'Generated rows for bench/drift.' },
    });
    const current = await write(true, { datasetId: reference.datasetId });
    console.log(
      `drift: wrote 2 × ${ROWS.toLocaleString('en')} rows × ${COLUMNS.length} columns in ${((performance.now() - t0) / 1000).toFixed(1)} s (${database.kind})`,
    );
    const monitor = await createMonitor(ctx, {
      datasetId: reference.datasetId,
      referenceVersionId: reference.id,
      name: 'bench',
    });

    const baseline = async () => {
      const n =
        (await selectAll(database, tableFor(reference.id))) +
        (await selectAll(database, tableFor(current.id)));
      if (n !== 2 * ROWS) throw new Error(`SELECT returned ${n} rows, expected ${2 * ROWS}`);
    };
    let verdict = '';
    const check = async (cold: boolean) => {
      if (cold)
        await database.db.delete(driftProfiles).where(eq(driftProfiles.versionId, reference.id));
      const result = await computeDrift(ctx, monitor, current.id);
      if (result.columns.length !== COLUMNS.length || result.currentRows !== ROWS)
        throw new Error(
          `check covered ${result.columns.length} columns, ${result.currentRows} rows`,
        );
      verdict = `${result.columns.filter((c) => c.drifted).length}/${COLUMNS.length} drifted (${result.columns.map((c) => `${c.column}:${c.test}${c.drifted ? '*' : ''}`).join(' ')})`;
    };

    const samples = { select: [] as number[], cold: [] as number[], warm: [] as number[] };
    const time = async (list: number[], run: () => Promise<void>) => {
      const t = performance.now();
      await run();
      list.push(performance.now() - t);
    };
    await baseline();
    await check(true);
    for (let i = 0; i < ROUNDS; i++) {
      await time(samples.select, baseline);
      await time(samples.cold, () => check(true));
      await time(samples.warm, () => check(false));
    }
    const p50 = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      );
    const sel = p50(samples.select);
    console.log(`drift: ${verdict}`);
    console.log(
      `drift: SELECT of the 10 columns of both versions p50 ${(sel / 1000).toFixed(2)} s; check cold (reference profiled) p50 ${(p50(samples.cold) / 1000).toFixed(2)} s = ${(p50(samples.cold) / sel).toFixed(2)}× ; warm (reference cached) p50 ${(p50(samples.warm) / 1000).toFixed(2)} s = ${(p50(samples.warm) / sel).toFixed(2)}× (${ROUNDS} interleaved rounds)`,
    );
  } finally {
    await owner.close();
  }
}
