import type { AuthedContext } from '../context';
import { ForbiddenError, InputError } from '../errors';
import { recordAudit } from './audit';
import { clearColumn, NUMERIC, policyPredicate } from './compile';
import type { Gate } from './gate';
import { Params, textOf } from './mask';
import type { GateColumn } from './policy';
import { readRows } from './timeout';

/**
 * Column profiles for drift checks and insights: per column, over the version under the viewer's
 * policy, either the count of each value or the counts around fixed edges (one grouped
 * statement), with counts and moments (one plain aggregate: computed once, not per group). Only columns the viewer reads in clear can be profiled (a
 * histogram of a masked column would reveal what the mask hides); the row filter applies as in
 * every read. Rows never leave the database: what comes back is one row per value or bucket.
 */
export interface ProfileRequest {
  column: string;
  /** Ascending edges for a numeric column: counts below, at and between them. Absent: counts
   * per value. */
  edges?: readonly number[] | null;
  /** Only the count, nulls and moments: no grouping by value (a column with too many distinct
   * values to count one by one). */
  summary?: boolean;
}

export interface ColumnProfile {
  name: string;
  type: GateColumn['type'];
  /** Rows with a value (nulls excluded). */
  count: number;
  nulls: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Population standard deviation. */
  std: number | null;
  /** Counts per value (as text), most frequent first, when no edges were given. */
  values: Array<{ value: string; count: number }> | null;
  /** More distinct values than MAX_PROFILE_VALUES: `values` holds the most frequent. */
  truncated: boolean;
  /** With edges e₀…e_K: rows below e₀, at each eₖ, and strictly between eₖ and eₖ₊₁ (after the
   * last edge for k = K). */
  buckets: { edges: number[]; below: number; at: number[]; after: number[] } | null;
}

export interface Profile {
  rows: number;
  columns: ColumnProfile[];
}

export const MAX_PROFILE_VALUES = 1000;
const MAX_EDGES = 1000;

/** Profiles `requests` of the gate's version as its viewer may read it, and audits the read. */
export async function gatedProfile(
  ctx: AuthedContext,
  gate: Gate,
  requests: readonly ProfileRequest[],
  action = 'PROFILE',
): Promise<Profile> {
  if (gate.access.mode !== 'ROWS')
    throw new ForbiddenError('Profiles need row access: this dataset is aggregate-only for you.');
  if (requests.length === 0 || requests.length > 200)
    throw new InputError('Profile 1 to 200 columns.', 'columns');
  const params = new Params();
  const columns = requests.map((r) => {
    const c = clearColumn(gate.access, r.column, 'profile', 'columns');
    const numeric = NUMERIC.includes(c.type);
    const x = `t.c${c.position}`;
    if (r.summary) return { c, numeric, key: null, edges: null };
    if (!r.edges) return { c, numeric, key: textOf(x, c.type), edges: null };
    if (!numeric)
      throw new InputError(`Column "${c.name}" is not numeric: edges need numbers.`, 'edges');
    const edges = [...r.edges];
    if (
      edges.length === 0 ||
      edges.length > MAX_EDGES ||
      edges.some((e, k) => !Number.isFinite(e) || (k > 0 && e <= (edges[k - 1] as number)))
    )
      throw new InputError(
        `Edges of "${c.name}" must be 1 to ${MAX_EDGES} ascending finite numbers.`,
        'edges',
      );
    // The edges are parsed once, in a one-row subquery `e`, not once per row.
    const bound = params.bind(`{${edges.join(',')}}`, 'float8[]');
    const array = `e.e${c.position}`;
    const bucket = `width_bucket(${x}::float8, ${array})`;
    // Code −1: below the first edge; 2(k−1): at edge k; 2(k−1)+1: after it (1-based k).
    const key = `case when ${x}::float8 < ${array}[1] then -1 else 2 * (${bucket} - 1) + case when ${x}::float8 = ${array}[${bucket}] then 0 else 1 end end`;
    return { c, numeric, key: `(${key})`, edges, bound: `${bound} as e${c.position}` };
  });
  const arrays = columns.flatMap((col) => ('bound' in col && col.bound ? [col.bound] : []));
  const where = policyPredicate(gate.access, ctx.viewer, params);
  const from = `from ${gate.version.tableName} t${arrays.length ? ` cross join (select ${arrays.join(', ')} offset 0) e` : ''} where ${where}`;
  // The plain aggregate binds only what its row filter needs (no edges).
  const totalParams = new Params();
  const totalWhere = policyPredicate(gate.access, ctx.viewer, totalParams);
  const moments = columns.flatMap((col, i) => {
    if (!col.numeric) return [];
    const x = `t.c${col.c.position}::float8`;
    return [
      `min(${x}) as min${i}`,
      `max(${x}) as max${i}`,
      `avg(${x}) as mean${i}`,
      `stddev_pop(${x}) as std${i}`,
    ];
  });
  const counts = columns.map((col, i) => `count(t.c${col.c.position}) as n${i}`);
  const [total] = await readRows<Record<string, unknown>>(
    ctx,
    `select count(*) as n, ${[...counts, ...moments].join(', ')} from ${gate.version.tableName} t where ${totalWhere}`,
    totalParams.values,
  );
  // Counts per value or bucket, of the keyed columns only, in one pass over the rows: one
  // grouping set per column.
  const keyed = columns.flatMap((col, i) => (col.key ? [{ col, i }] : []));
  let rows: Array<Record<string, unknown>> = [];
  if (keyed.length > 0) {
    const names = keyed.map(({ i }) => `k${i}`);
    const grouped = `select grouping(${names.join(', ')}) as gid, ${names.join(', ')}, count(*) as n
      from (select ${keyed.map(({ col, i }) => `${col.key} as k${i}`).join(', ')} ${from}) t
      group by grouping sets (${names.map((k) => `(${k})`).join(', ')})`;
    // The most frequent values of each column only: a column with a million distinct values
    // sends back MAX_PROFILE_VALUES + 1 rows, not a million.
    rows = await readRows<Record<string, unknown>>(
      ctx,
      `select * from (select g.*, row_number() over (partition by gid order by n desc, ${names.join(', ')}) as rn
        from (${grouped}) g) s where rn <= ${MAX_PROFILE_VALUES + 1}`,
      params.values,
    );
  }
  const all = (1 << keyed.length) - 1;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const profile: Profile = {
    rows: Number(total?.n ?? 0),
    columns: columns.map((col, i) => {
      // grouping() sets a bit for each key absent from the set, the first key highest.
      const j = keyed.findIndex((k) => k.i === i);
      const gid = all & ~(1 << (keyed.length - 1 - j));
      const mine = j < 0 ? [] : rows.filter((r) => Number(r.gid) === gid);
      const present = mine.filter((r) => r[`k${i}`] !== null);
      const count = Number(total?.[`n${i}`] ?? 0);
      const nulls = Number(total?.n ?? 0) - count;
      const out: ColumnProfile = {
        name: col.c.name,
        type: col.c.type,
        count,
        nulls,
        min: col.numeric ? num(total?.[`min${i}`]) : null,
        max: col.numeric ? num(total?.[`max${i}`]) : null,
        mean: col.numeric ? num(total?.[`mean${i}`]) : null,
        std: col.numeric ? num(total?.[`std${i}`]) : null,
        values: null,
        truncated: false,
        buckets: null,
      };
      if (!col.key) {
        out.truncated = true;
      } else if (col.edges) {
        const at = new Array<number>(col.edges.length).fill(0);
        const after = new Array<number>(col.edges.length).fill(0);
        let below = 0;
        for (const r of present) {
          const code = Number(r[`k${i}`]);
          const n = Number(r.n);
          if (code < 0) below += n;
          else if (code % 2 === 0) at[code / 2] = n;
          else after[(code - 1) / 2] = n;
        }
        out.buckets = { edges: col.edges, below, at, after };
      } else {
        // A null group takes one of the MAX_PROFILE_VALUES + 1 rows read back.
        out.truncated = mine.length > MAX_PROFILE_VALUES;
        out.values = present
          .slice(0, MAX_PROFILE_VALUES)
          .map((r) => ({ value: String(r[`k${i}`]), count: Number(r.n) }));
      }
      return out;
    }),
  };
  await recordAudit(ctx, {
    action,
    datasetId: gate.dataset.id,
    versionId: gate.version.id,
    columnsRead: columns.map((col) => col.c.name),
    columnsMasked: [],
    filter: null,
    rowCount: profile.rows,
  });
  return profile;
}
