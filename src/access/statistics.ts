import type { AuthedContext } from '../context';
import { ForbiddenError, InputError } from '../errors';
import { recordAudit } from './audit';
import { clearColumn, NUMERIC, policyPredicate } from './compile';
import type { Gate } from './gate';
import { Params, textOf } from './mask';
import type { GateColumn } from './policy';
import { readRows } from './timeout';

/**
 * Statistics of a version as its viewer may read it, each in one statement under the viewer's
 * policy: moments and percentiles per column, correlations between columns, a time series and
 * the rows outside given bounds. Like `gatedProfile` only columns the viewer reads in clear can
 * be named (a moment of a masked column would reveal what the mask hides), the row filter
 * applies as in every read, and each read is audited.
 */
export interface ColumnMoments {
  name: string;
  type: GateColumn['type'];
  count: number;
  nulls: number;
  distinct: number;
  /** Numbers for numeric columns, ISO text for dates and times, null otherwise. */
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  /** Sample standard deviation (n − 1). */
  std: number | null;
  /** Σ(x − mean)^k for k = 2, 3, 4. */
  m2: number | null;
  m3: number | null;
  m4: number | null;
  /** percentile_cont at each requested fraction. */
  percentiles: number[] | null;
  /** Median of |x − median| (percentile_cont 0.5). */
  mad: number | null;
}

function requireRows(gate: Gate) {
  if (gate.access.mode !== 'ROWS')
    throw new ForbiddenError('Insights need row access: this dataset is aggregate-only for you.');
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function fractions(percentiles: readonly number[], params: Params): string {
  if (percentiles.some((p) => !(p >= 0 && p <= 1)))
    throw new InputError('Percentiles are fractions from 0 to 1.', 'percentiles');
  return params.bind(`{${percentiles.join(',')}}`, 'float8[]');
}

/** Counts, distinct values, extremes, moments, percentiles and MAD of clear columns. */
export async function gatedMoments(
  ctx: AuthedContext,
  gate: Gate,
  names: readonly string[],
  percentiles: readonly number[],
  action = 'INSIGHTS',
): Promise<{ rows: number; columns: ColumnMoments[] }> {
  requireRows(gate);
  if (names.length === 0) return { rows: await countRows(ctx, gate, action), columns: [] };
  const params = new Params();
  const cols = names.map((n) => clearColumn(gate.access, n, 'describe', 'columns'));
  // Bound only when a numeric column uses it: an unused parameter has no type PostgreSQL can
  // determine, and the statement would fail.
  let boundPercentiles: string | null = null;
  const where = policyPredicate(gate.access, ctx.viewer, params);
  const first: string[] = ['count(*) as n'];
  const second: string[] = [];
  const third: string[] = [];
  cols.forEach((c, i) => {
    const raw = `r.c${c.position}`;
    first.push(`count(${raw}) as n${i}`, `count(distinct ${raw}) as d${i}`);
    if (NUMERIC.includes(c.type)) {
      const x = `${raw}::float8`;
      boundPercentiles ??= fractions(percentiles, params);
      const ps = boundPercentiles;
      first.push(
        `min(${x}) as lo${i}`,
        `max(${x}) as hi${i}`,
        `avg(${x}) as mean${i}`,
        `stddev_samp(${x}) as sd${i}`,
        `percentile_cont(${ps}) within group (order by ${x}) as p${i}`,
        `percentile_cont(0.5) within group (order by ${x}) as med${i}`,
      );
      second.push(
        `sum(power(${x} - m.mean${i}, 2)) as s2_${i}`,
        `sum(power(${x} - m.mean${i}, 3)) as s3_${i}`,
        `sum(power(${x} - m.mean${i}, 4)) as s4_${i}`,
        `percentile_cont(0.5) within group (order by abs(${x} - m.med${i})) as mad${i}`,
      );
      third.push(`s2_${i}`, `s3_${i}`, `s4_${i}`, `mad${i}`);
    } else if (c.type === 'DATE' || c.type === 'TIMESTAMP') {
      first.push(`${textOf(`min(${raw})`, c.type)} as lo${i}`);
      first.push(`${textOf(`max(${raw})`, c.type)} as hi${i}`);
    }
  });
  const columnsUsed = [...new Set(cols.map((c) => `t.c${c.position}`))];
  const sql = `with r as materialized (select ${columnsUsed.join(', ')} from ${gate.version.tableName} t where ${where}),
    m as (select ${first.join(', ')} from r)
    select m.*${third.length ? `, s.${third.join(', s.')}` : ''} from m${
      second.length ? `, (select ${second.join(', ')} from r, m) s` : ''
    }`;
  const [row = {}] = await readRows<Record<string, unknown>>(ctx, sql, params.values);
  const rows = Number(row.n ?? 0);
  const columns = cols.map((c, i): ColumnMoments => {
    const numeric = NUMERIC.includes(c.type);
    const count = Number(row[`n${i}`] ?? 0);
    const lo = row[`lo${i}`];
    const hi = row[`hi${i}`];
    return {
      name: c.name,
      type: c.type,
      count,
      nulls: rows - count,
      distinct: Number(row[`d${i}`] ?? 0),
      min: numeric ? num(lo) : ((lo as string | null | undefined) ?? null),
      max: numeric ? num(hi) : ((hi as string | null | undefined) ?? null),
      mean: numeric ? num(row[`mean${i}`]) : null,
      std: numeric ? num(row[`sd${i}`]) : null,
      m2: numeric ? num(row[`s2_${i}`]) : null,
      m3: numeric ? num(row[`s3_${i}`]) : null,
      m4: numeric ? num(row[`s4_${i}`]) : null,
      percentiles:
        numeric && Array.isArray(row[`p${i}`])
          ? (row[`p${i}`] as unknown[]).map((v) => Number(v))
          : numeric && typeof row[`p${i}`] === 'string'
            ? parseArray(row[`p${i}`] as string)
            : null,
      mad: numeric ? num(row[`mad${i}`]) : null,
    };
  });
  await audit(ctx, gate, action, cols, rows);
  return { rows, columns };
}

/** `{1,2.5,NULL}` → numbers (drivers that return arrays as text). */
function parseArray(text: string): number[] {
  return text
    .replace(/[{}]/g, '')
    .split(',')
    .filter((s) => s.length > 0)
    .map((s) => (s === 'NULL' ? Number.NaN : Number(s)));
}

async function countRows(ctx: AuthedContext, gate: Gate, action: string): Promise<number> {
  const params = new Params();
  const where = policyPredicate(gate.access, ctx.viewer, params);
  const [row] = await readRows<{ n: unknown }>(
    ctx,
    `select count(*) as n from ${gate.version.tableName} t where ${where}`,
    params.values,
  );
  const rows = Number(row?.n ?? 0);
  await audit(ctx, gate, action, [], rows);
  return rows;
}

export interface PairCorrelation {
  x: string;
  y: string;
  /** Rows where both are present. */
  n: number;
  pearson: number | null;
  spearman: number | null;
}

/**
 * Pearson and Spearman correlations of every pair of clear numeric columns over the rows where
 * both are present (pairwise deletion). Spearman is the Pearson correlation of average ranks
 * (ties share the mean of their positions); a pair of columns without nulls uses each column's
 * own ranks, any other pair ranks its complete rows again.
 */
export async function gatedCorrelations(
  ctx: AuthedContext,
  gate: Gate,
  names: readonly string[],
  withNulls: ReadonlySet<string>,
  action = 'INSIGHTS',
): Promise<PairCorrelation[]> {
  requireRows(gate);
  const cols = names.map((n) => clearColumn(gate.access, n, 'correlate', 'columns'));
  for (const c of cols)
    if (!NUMERIC.includes(c.type))
      throw new InputError(`Column "${c.name}" is not numeric.`, 'columns');
  if (cols.length < 2) return [];
  const params = new Params();
  const where = policyPredicate(gate.access, ctx.viewer, params);
  const x = (c: GateColumn) => `t.c${c.position}::float8`;
  // The mean position of a value's ties: (first + last) / 2, the last being the rows up to and
  // including it (cume_dist × rows, rounded back to the integer it is). Both windows share one
  // sort.
  const avgRank = (expr: string, partition: string) =>
    `((rank() over (partition by ${partition} order by ${expr}) + round(cume_dist() over (partition by ${partition} order by ${expr}) * count(*) over (partition by ${partition}))) / 2)`;
  const inner: string[] = cols.map((c, i) => `${x(c)} as v${i}`);
  cols.forEach((c, i) => {
    inner.push(`${avgRank(x(c), `${x(c)} is null`)} as r${i}`);
  });
  const pairs: Array<{ i: number; j: number }> = [];
  const outer: string[] = [];
  for (let i = 0; i < cols.length; i++)
    for (let j = i + 1; j < cols.length; j++) {
      const a = cols[i]!;
      const b = cols[j]!;
      const k = pairs.length;
      pairs.push({ i, j });
      let ra = `r${i}`;
      let rb = `r${j}`;
      if (withNulls.has(a.name) || withNulls.has(b.name)) {
        const part = `(${x(a)} is null or ${x(b)} is null)`;
        inner.push(`${avgRank(x(a), part)} as ra${k}`, `${avgRank(x(b), part)} as rb${k}`);
        ra = `ra${k}`;
        rb = `rb${k}`;
      }
      outer.push(
        `regr_count(v${i}, v${j}) as n${k}`,
        `corr(v${i}, v${j}) as p${k}`,
        `corr(${ra}, ${rb}) filter (where v${i} is not null and v${j} is not null) as s${k}`,
      );
    }
  const sql = `select ${outer.join(', ')} from (select ${inner.join(', ')} from ${gate.version.tableName} t where ${where}) t`;
  const [row = {}] = await readRows<Record<string, unknown>>(ctx, sql, params.values);
  await audit(ctx, gate, action, cols, null);
  return pairs.map(({ i, j }, k) => ({
    x: cols[i]!.name,
    y: cols[j]!.name,
    n: Number(row[`n${k}`] ?? 0),
    pearson: num(row[`p${k}`]),
    spearman: num(row[`s${k}`]),
  }));
}

export type SeriesUnit = 'day' | 'week' | 'month';

/**
 * The mean of each clear numeric measure per time bucket of a clear date or timestamp column
 * (UTC), buckets in order, in one statement: per measure, the buckets where it has a value.
 */
export async function gatedSeries(
  ctx: AuthedContext,
  gate: Gate,
  time: string,
  measures: readonly string[],
  unit: SeriesUnit,
  action = 'INSIGHTS',
): Promise<Array<Array<{ bucket: string; value: number; rows: number }>>> {
  requireRows(gate);
  const t = clearColumn(gate.access, time, 'use as time', 'time');
  const ms = measures.map((m) => clearColumn(gate.access, m, 'measure', 'measure'));
  if (t.type !== 'DATE' && t.type !== 'TIMESTAMP')
    throw new InputError(`Column "${t.name}" is not a date or timestamp.`, 'time');
  for (const m of ms)
    if (!NUMERIC.includes(m.type))
      throw new InputError(`Column "${m.name}" is not numeric.`, 'measure');
  if (ms.length === 0) return [];
  const params = new Params();
  const where = policyPredicate(gate.access, ctx.viewer, params);
  const at = t.type === 'TIMESTAMP' ? `(t.c${t.position} at time zone 'UTC')` : `t.c${t.position}`;
  const bucket = `date_trunc('${unit}', ${at})`;
  const parts = ms.map(
    (m, i) => `avg(t.c${m.position}::float8) as v${i}, count(t.c${m.position}) as n${i}`,
  );
  const sql = `select to_char(${bucket}, 'YYYY-MM-DD') as b, ${parts.join(', ')}
    from ${gate.version.tableName} t where ${where} and t.c${t.position} is not null
    group by 1 order by 1`;
  const rows = await readRows<Record<string, unknown>>(ctx, sql, params.values);
  await audit(
    ctx,
    gate,
    action,
    [t, ...ms],
    rows.reduce((s, r) => s + Number(r.n0 ?? 0), 0),
  );
  return ms.map((_, i) =>
    rows
      .filter((r) => Number(r[`n${i}`]) > 0)
      .map((r) => ({ bucket: String(r.b), value: Number(r[`v${i}`]), rows: Number(r[`n${i}`]) })),
  );
}

/** Rows of a clear numeric column outside [lower, upper], counted under the policy. */
export async function gatedOutsideCount(
  ctx: AuthedContext,
  gate: Gate,
  checks: ReadonlyArray<{ column: string; lower: number; upper: number }>,
  action = 'INSIGHTS',
): Promise<number[]> {
  requireRows(gate);
  if (checks.length === 0) return [];
  const params = new Params();
  const where = policyPredicate(gate.access, ctx.viewer, params);
  const cols = checks.map((c) => clearColumn(gate.access, c.column, 'describe', 'columns'));
  const parts = checks.map((c, i) => {
    const x = `t.c${cols[i]!.position}::float8`;
    const lo = params.bind(String(c.lower), 'float8');
    const hi = params.bind(String(c.upper), 'float8');
    return `count(*) filter (where ${x} < ${lo} or ${x} > ${hi}) as o${i}`;
  });
  const [row = {}] = await readRows<Record<string, unknown>>(
    ctx,
    `select ${parts.join(', ')} from ${gate.version.tableName} t where ${where}`,
    params.values,
  );
  await audit(ctx, gate, action, cols, null);
  return checks.map((_, i) => Number(row[`o${i}`] ?? 0));
}

async function audit(
  ctx: AuthedContext,
  gate: Gate,
  action: string,
  cols: readonly GateColumn[],
  rows: number | null,
) {
  await recordAudit(ctx, {
    action,
    datasetId: gate.dataset.id,
    versionId: gate.version.id,
    columnsRead: [...new Set(cols.map((c) => c.name))],
    columnsMasked: [],
    filter: null,
    rowCount: rows ?? 0,
  });
}
