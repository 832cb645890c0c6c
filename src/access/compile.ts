import { type ColumnType, pgTypeFor } from '../../db/schema/datasets';
import { clearOf, maskedExpression, Params } from '../access/mask';
import type { Access, ColumnRule, GateColumn, Privacy } from '../access/policy';
import type { Viewer } from '../auth/viewer';
import { ForbiddenError, InputError } from '../errors';
import {
  type Aggregate,
  COMPARISONS,
  type Filter,
  filterColumns,
  isAggregateQuery,
  OPERATORS,
  type Page,
  type QueryInput,
} from './language';
import type { PrivateRelease, Release } from './privacy';

/** Most rows one page may hold. */
export const MAX_PAGE = 10_000;
export const DEFAULT_PAGE = 100;
/** Most values an `in` / `notIn` list may hold. */
export const MAX_IN_LIST = 10_000;
/** Deepest nesting of `and` / `or` / `not`. */
const MAX_FILTER_DEPTH = 32;

export interface OutputColumn {
  name: string;
  type: ColumnType;
  /** Shown through a rule other than CLEAR. */
  masked: boolean;
  /** The rule of the stored column behind it; null for aggregates and time buckets. */
  rule: ColumnRule | null;
}

/** An authorized SQL statement, ready to run, with what it reads for the audit log. */
export interface Plan {
  sql: string;
  params: Array<string | null>;
  /** The same rows counted (before paging), for `totalCount`. */
  countSql: string;
  countParams: Array<string | null>;
  columns: OutputColumn[];
  /** Positional SQL aliases `o0…` in the order of `columns`. */
  limit: number;
  offset: number;
  columnsRead: string[];
  columnsMasked: string[];
  /**
   * Set for a differentially private query: the statement returns every group's exact, clamped
   * aggregates (no paging, no count), which only `releaseGroups` may turn into a result.
   */
  privacy: PrivateRelease | null;
}

export interface CompileOptions {
  /** Quoted-safe name of the version's table (`dsv_<hex>`). */
  table: string;
  viewer: Viewer;
  /** Key for HASH, derived lazily. */
  hashKey: () => Buffer;
  /** Full-text search over the text columns readable in clear; ranks rows by relevance. */
  search?: string | null;
  /** Every matching row, for streaming (export, materialize): no LIMIT/OFFSET, paging ignored. */
  unbounded?: boolean;
  /**
   * Reads a repeatable Bernoulli sample of the stored rows (`percent` of them, chosen by `seed`)
   * before the policy's row filter applies, for statistics on large tables (segments).
   */
  sample?: { percent: number; seed: number } | null;
}

/** `TABLESAMPLE` for a sample option; numbers are checked, so they are safe inline. */
function sampleClause(sample: CompileOptions['sample']): string {
  if (!sample) return '';
  const { percent, seed } = sample;
  if (!(Number.isFinite(percent) && percent > 0 && percent <= 100))
    throw new InputError('A sample takes a percentage above 0 and at most 100.', 'sample');
  if (!Number.isSafeInteger(seed)) throw new InputError('A sample seed is an integer.', 'sample');
  return ` tablesample bernoulli (${percent}) repeatable (${seed})`;
}

/** Checks an IANA time zone name (bound as a parameter, never inlined). */
function timeZoneOf(name: string | null | undefined): string {
  const zone = name ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    throw new InputError(`"${zone}" is not an IANA time zone (e.g. Europe/Berlin).`, 'timeZone');
  }
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(zone))
    throw new InputError(`"${zone}" is not an IANA time zone (e.g. Europe/Berlin).`, 'timeZone');
  return zone;
}

const col = (c: GateColumn) => `t.c${c.position}`;

/** Turns a value given for a column into its canonical text, or throws naming the column. */
export function coerce(value: unknown, type: ColumnType, label: string): string {
  const fail = (what: string): never => {
    throw new InputError(`${label}: ${JSON.stringify(value)} is not ${what}.`, 'input');
  };
  switch (type) {
    case 'INTEGER': {
      if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
      if (typeof value === 'string' && /^-?\d{1,18}$/.test(value.trim())) return value.trim();
      return fail('an integer');
    }
    case 'FLOAT': {
      const n =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && value.trim() !== ''
            ? Number(value)
            : Number.NaN;
      if (!Number.isFinite(n)) return fail('a number');
      return String(n);
    }
    case 'BOOLEAN':
      if (typeof value === 'boolean') return String(value);
      return fail('true or false');
    case 'DATE': {
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
        const d = new Date(`${value}T00:00:00Z`);
        if (!Number.isNaN(d.getTime()) && d.toISOString().startsWith(value)) return value;
      }
      return fail('a date (YYYY-MM-DD)');
    }
    case 'TIMESTAMP': {
      if (
        typeof value === 'string' &&
        /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
      ) {
        const d = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
        if (!Number.isNaN(d.getTime())) return d.toISOString();
      }
      return fail('a timestamp (ISO 8601)');
    }
    default:
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      return fail('a string');
  }
}

/** A filterable thing: a stored column (WHERE) or an output of a grouped query (HAVING). */
interface Operand {
  expr: string;
  type: ColumnType;
}

type Resolve = (column: string, purpose: string) => Operand;
type ValueOf = (value: unknown, type: ColumnType, label: string) => string | null;

/**
 * Compiles a filter to a SQL predicate. `resolve` maps a column name to an operand (and refuses
 * what may not be filtered on); `canonical` turns a given value into its canonical text (a policy
 * resolves `$viewer.…` there). Every value is bound.
 */
export function compileFilter(
  filter: Filter,
  resolve: Resolve,
  params: Params,
  canonical: ValueOf = (v, type, label) => coerce(v, type, label),
  depth = 0,
): string {
  if (depth > MAX_FILTER_DEPTH)
    throw new InputError(`Filters nest at most ${MAX_FILTER_DEPTH} deep.`, 'where');
  const set = OPERATORS.filter((op) => filter[op] !== undefined && filter[op] !== null);
  const combos = (['and', 'or', 'not'] as const).filter(
    (k) => filter[k] !== undefined && filter[k] !== null,
  );
  const hasColumn = filter.column !== undefined && filter.column !== null;
  if (combos.length + (hasColumn || set.length > 0 ? 1 : 0) !== 1)
    throw new InputError(
      'Each filter is exactly one of: and, or, not, or a column with one operator.',
      'where',
    );
  if (filter.and) {
    if (filter.and.length === 0) return 'true';
    return `(${filter.and.map((f) => compileFilter(f, resolve, params, canonical, depth + 1)).join(' and ')})`;
  }
  if (filter.or) {
    if (filter.or.length === 0) return 'false';
    return `(${filter.or.map((f) => compileFilter(f, resolve, params, canonical, depth + 1)).join(' or ')})`;
  }
  if (filter.not)
    return `(not ${compileFilter(filter.not, resolve, params, canonical, depth + 1)})`;
  if (!hasColumn) throw new InputError('A filter with an operator needs a column.', 'where');
  if (set.length !== 1)
    throw new InputError(
      `Filter on "${filter.column}" needs exactly one operator (${OPERATORS.join(', ')}).`,
      'where',
    );
  const column = filter.column!;
  const { expr, type } = resolve(column, 'filter on');
  const op = set[0]!;
  const label = `Filter on "${column}"`;
  const cast = pgTypeFor(type);
  const bind = (v: unknown) => params.bind(canonical(v, type, label), cast);
  if ((COMPARISONS as readonly string[]).includes(op)) {
    const sqlOp = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' }[op as 'eq'];
    return `(${expr} ${sqlOp} ${bind(filter[op])})`;
  }
  switch (op) {
    case 'isNull':
      return filter.isNull ? `(${expr} is null)` : `(${expr} is not null)`;
    case 'in':
    case 'notIn': {
      const list = filter[op]!;
      if (list.length > MAX_IN_LIST)
        throw new InputError(`${label}: at most ${MAX_IN_LIST} values in ${op}.`, 'where');
      if (list.length === 0) return op === 'in' ? 'false' : 'true';
      const values = list.map((v) => canonical(v, type, label));
      // Bound as one JSON array, so Params cannot see a NUL inside: check each value here.
      if (values.some((v) => v?.includes('\u0000')))
        throw new InputError('Values cannot contain NUL characters.', 'input');
      // One bound JSON array, however long the list: no statement grows with its size.
      const array = `array(select x::${cast} from jsonb_array_elements_text(${params.bind(JSON.stringify(values), 'jsonb')}) x)`;
      return op === 'in' ? `(${expr} = any(${array}))` : `(not (${expr} = any(${array})))`;
    }
    case 'contains':
    case 'startsWith': {
      if (type !== 'STRING' && type !== 'CATEGORY')
        throw new InputError(`${label}: ${op} needs a text column, not ${type}.`, 'where');
      // Through `canonical` like every other value, so a policy's "$viewer.…" resolves here too.
      const needle = params.bind(canonical(filter[op], 'STRING', label), 'text');
      return op === 'contains'
        ? `(strpos(lower(${expr}), lower(${needle})) > 0)`
        : `starts_with(${expr}, ${needle})`;
    }
    default: {
      const range = filter.between!;
      if (range.length !== 2)
        throw new InputError(`${label}: between takes exactly two values.`, 'where');
      return `(${expr} between ${bind(range[0]!)} and ${bind(range[1]!)})`;
    }
  }
}

function pageOf(page: Page): { limit: number; offset: number } {
  const limit = page.first ?? DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PAGE)
    throw new InputError(`first must be between 0 and ${MAX_PAGE}.`, 'first');
  let offset = 0;
  if (page.after) {
    const match = /^o:(\d{1,12})$/.exec(Buffer.from(page.after, 'base64url').toString());
    if (!match) throw new InputError('after is not a cursor from this query.', 'after');
    offset = Number(match[1]) + 1;
  }
  return { limit, offset };
}

/** The opaque cursor of the row at `offset`. */
export function cursorAt(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

/**
 * The predicate a policy's row filter adds. Its columns need not be readable by the viewer (an
 * admin wrote it), and `"$viewer.<field>"` values read the viewer: `id`, `orgId`, `role`,
 * `attributes.<name>`. A viewer field that is absent matches nothing.
 */
export function policyPredicate(access: Access, viewer: Viewer, params: Params): string {
  if (!access.rowFilter) return 'true';
  const byName = new Map(access.columns.map((c) => [c.name, c]));
  // A policy naming a column this version lacks lets no row through: fail closed (compiling it
  // with a stand-in value would let `isNull` or an empty `notIn` match every row).
  if (filterColumns(access.rowFilter).some((name) => !byName.has(name))) return 'false';
  return compileFilter(
    access.rowFilter,
    (name) => {
      const c = byName.get(name)!;
      return { expr: col(c), type: c.type };
    },
    params,
    (value, type, label) => {
      const resolved = typeof value === 'string' ? viewerValue(value, viewer) : value;
      if (resolved === null) return null;
      try {
        return coerce(resolved, type, label);
      } catch {
        return null;
      }
    },
  );
}

/** `"$viewer.x"` → the viewer's value (null when absent); `"$$…"` → the literal `"$…"`. */
export function viewerValue(value: string, viewer: Viewer): string | null {
  if (value.startsWith('$$')) return value.slice(1);
  if (!value.startsWith('$viewer.')) return value;
  const path = value.slice('$viewer.'.length);
  if (path === 'id') return viewer.userId ?? viewer.apiKeyId;
  if (path === 'orgId') return viewer.orgId;
  if (path === 'role') return viewer.role;
  if (path.startsWith('attributes.')) return viewer.attributes[path.slice(11)] ?? null;
  return null;
}

function forbidden(column: string, rule: ColumnRule, purpose: string): never {
  const why =
    rule === 'AGGREGATE_ONLY' ? 'can only be aggregated' : `is shown to you masked (${rule})`;
  throw new ForbiddenError(`Cannot ${purpose} column "${column}": it ${why}.`);
}

/** A column of the version as the viewer knows it: a hidden one answers exactly as a missing one. */
function lookup(access: Access, name: string, field: string): GateColumn {
  const c = access.columns.find((x) => x.name === name);
  if (!c || c.rule === 'HIDE') throw new InputError(`No column named "${name}".`, field);
  return c;
}

/** A stored column usable in WHERE, ORDER BY or GROUP BY: only what the viewer reads in clear. */
export function clearColumn(
  access: Access,
  name: string,
  purpose: string,
  field: string,
): GateColumn {
  const c = lookup(access, name, field);
  if (c.rule !== 'CLEAR') forbidden(name, c.rule, purpose);
  return c;
}

/** Functions that return one row's value, which aggregate-only access must not reveal. */
const REVEALING = new Set(['MIN', 'MAX', 'MEDIAN', 'PERCENTILE']);

function aggregateName(a: Aggregate): string {
  if (a.as) return a.as;
  if (!a.column) return 'count';
  if (a.function === 'PERCENTILE') return `p${Math.round((a.percentile ?? 0) * 100)}_${a.column}`;
  return `${a.function.toLowerCase()}_${a.column}`;
}

/**
 * Compiles a query for a viewer into one authorized statement: the policy's row predicate is
 * ANDed in, columns are shown through their rules, and anything that would reveal a masked
 * value by inference (filtering, sorting, grouping or aggregating on it) is refused.
 */
export function compileQuery(
  access: Access,
  input: QueryInput,
  page: Page,
  options: CompileOptions,
): Plan {
  const params = new Params();
  const policy = policyPredicate(access, options.viewer, params);
  const where = input.where
    ? compileFilter(
        input.where,
        (name, purpose) => {
          const c = clearColumn(access, name, purpose, 'where');
          return { expr: col(c), type: c.type };
        },
        params,
      )
    : 'true';
  const read = new Set(filterColumns(input.where));
  let from = `from ${options.table} t${sampleClause(options.sample)} where ${policy} and ${where}`;
  const rank: string[] = [];
  if (options.search != null) {
    if (isAggregateQuery(input)) throw new InputError('Search returns rows, not groups.', 'text');
    const searchable = access.columns.filter(
      (c) => c.rule === 'CLEAR' && (c.type === 'STRING' || c.type === 'CATEGORY'),
    );
    for (const c of searchable) read.add(c.name);
    const doc = searchable.length
      ? `to_tsvector('simple', concat_ws(' ', ${searchable.map(col).join(', ')}))`
      : `''::tsvector`;
    const tsq = `plainto_tsquery('simple', ${params.bind(options.search, 'text')})`;
    from += ` and ${doc} @@ ${tsq}`;
    rank.push(`ts_rank(${doc}, ${tsq}) desc`);
  }
  const { limit, offset } = options.unbounded ? { limit: 0, offset: 0 } : pageOf(page);
  const paging = options.unbounded ? '' : ` limit ${limit + 1} offset ${offset}`;
  // The parameters the FROM … WHERE part uses: a prefix, since the select list binds after it.
  const fromParams = params.values.length;

  if (!isAggregateQuery(input)) {
    if (access.mode === 'AGGREGATE_ONLY')
      throw new ForbiddenError('You may only aggregate this dataset: add groupBy or aggregates.');
    if (input.having) throw new InputError('having needs groupBy or aggregates.', 'having');
    const selected = input.select?.length
      ? input.select.map((name) => {
          const c = lookup(access, name, 'select');
          if (c.rule === 'AGGREGATE_ONLY') forbidden(name, c.rule, 'select');
          return c;
        })
      : access.columns.filter((c) => c.rule !== 'HIDE' && c.rule !== 'AGGREGATE_ONLY');
    if (new Set(selected.map((c) => c.name)).size !== selected.length)
      throw new InputError('select names a column twice.', 'select');
    const exprs = selected.map(
      (c, i) =>
        `${maskedExpression(col(c), c.type, c.rule as 'CLEAR', params, options.hashKey)} as o${i}`,
    );
    const order = [
      ...rank,
      ...(input.orderBy ?? []).map((o) => {
        const c = clearColumn(access, o.column, 'sort on', 'orderBy');
        read.add(c.name);
        return `${col(c)} ${o.direction === 'DESC' ? 'desc nulls last' : 'asc nulls first'}`;
      }),
    ];
    // ctid breaks ties: versions are immutable, so pages never overlap or skip.
    order.push('t.ctid');
    for (const c of selected) read.add(c.name);
    return {
      sql: `select ${exprs.join(', ') || 'null as o_'} ${from} order by ${order.join(', ')}${paging}`,
      params: params.values,
      countSql: `select count(*) as n ${from}`,
      countParams: params.values.slice(0, fromParams),
      columns: selected.map((c) => ({
        name: c.name,
        type: c.rule === 'CLEAR' ? c.type : 'STRING',
        masked: c.rule !== 'CLEAR',
        rule: c.rule,
      })),
      limit,
      offset,
      columnsRead: [...read],
      columnsMasked: selected.filter((c) => c.rule !== 'CLEAR').map((c) => c.name),
      privacy: null,
    };
  }

  if (input.select?.length)
    throw new InputError(
      'select is for row queries; a grouped query returns its groups and aggregates.',
      'select',
    );
  const outputs: Array<{
    name: string;
    type: ColumnType;
    select: string;
    sort: string;
    rule: ColumnRule | null;
  }> = [];
  const groupExprs: string[] = [];
  for (const g of input.groupBy ?? []) {
    const c = clearColumn(access, g.column, 'group by', 'groupBy');
    read.add(c.name);
    let raw = col(c);
    if (g.timeBucket) {
      if (c.type !== 'DATE' && c.type !== 'TIMESTAMP')
        throw new InputError(
          `timeBucket needs a DATE or TIMESTAMP column; "${c.name}" is ${c.type}.`,
          'groupBy',
        );
      const unit = g.timeBucket.toLowerCase();
      if (c.type === 'DATE') {
        if (g.timeZone != null) timeZoneOf(g.timeZone);
        raw = `date_trunc('${unit}', ${raw}::timestamp)::date`;
      } else {
        // The local calendar of the zone: truncate the local time, then back to an instant.
        const zone = params.bind(timeZoneOf(g.timeZone), 'text');
        raw = `(date_trunc('${unit}', ${raw} at time zone ${zone}) at time zone ${zone})`;
      }
    }
    groupExprs.push(raw);
    outputs.push({
      name: g.as ?? g.column,
      type: c.type,
      select: clearOf(raw, c.type),
      sort: raw,
      rule: g.timeBucket ? null : c.rule,
    });
  }
  let guarded = access.mode === 'AGGREGATE_ONLY';
  const aggregates = input.aggregates ?? [];
  for (const a of aggregates) {
    if (a.column) {
      const c = lookup(access, a.column, 'aggregates');
      if (c.rule === 'AGGREGATE_ONLY') guarded = true;
      else if (c.rule !== 'CLEAR') forbidden(c.name, c.rule, 'aggregate');
    }
  }
  if (guarded && access.privacy) {
    if (options.unbounded)
      throw new ForbiddenError(
        'Differentially private results are read one query at a time through datasetQuery; they cannot be exported or saved as a version.',
      );
    return compilePrivate(access.privacy, access, input, {
      params,
      from,
      groupExprs,
      groups: outputs,
      read,
      limit,
      offset,
    });
  }
  for (const a of aggregates) {
    if (guarded && REVEALING.has(a.function))
      throw new ForbiddenError(
        `${a.function} reveals single values, which aggregate-only access does not allow; use COUNT, COUNT_DISTINCT, SUM, AVG or STDDEV.`,
      );
    const { select, type } = aggregateSql(a, access, params);
    if (a.column) read.add(a.column);
    outputs.push({ name: aggregateName(a), type, select, sort: select, rule: null });
  }
  const names = new Set<string>();
  for (const o of outputs) {
    if (names.has(o.name))
      throw new InputError(`Two outputs are named "${o.name}": give one an "as".`, 'aggregates');
    names.add(o.name);
  }
  const byOutput = new Map(outputs.map((o) => [o.name, o]));
  const havingParts: string[] = [];
  // Every group smaller than the minimum disappears, whatever the filters: no row is singled out.
  if (guarded) havingParts.push(`count(*) >= ${params.bind(String(access.minGroupSize), 'int')}`);
  if (input.having) {
    havingParts.push(
      compileFilter(
        input.having,
        (name) => {
          const o = byOutput.get(name);
          if (!o)
            throw new InputError(
              `having names "${name}", which is not an output of this query.`,
              'having',
            );
          return { expr: o.sort, type: o.type };
        },
        params,
      ),
    );
  }
  const groupSql = groupExprs.length ? ` group by ${groupExprs.join(', ')}` : '';
  const havingSql = havingParts.length ? ` having ${havingParts.join(' and ')}` : '';
  const order = (input.orderBy ?? []).map((o) => {
    const out = byOutput.get(o.column);
    if (!out)
      throw new InputError(
        `orderBy names "${o.column}", which is not an output of this query.`,
        'orderBy',
      );
    return `${out.sort} ${o.direction === 'DESC' ? 'desc nulls last' : 'asc nulls first'}`;
  });
  for (const g of groupExprs) order.push(`${g} asc nulls first`);
  const selectSql = outputs.map((o, i) => `${o.select} as o${i}`).join(', ');
  return {
    sql: `select ${selectSql} ${from}${groupSql}${havingSql}${order.length ? ` order by ${order.join(', ')}` : ''}${paging}`,
    params: params.values,
    // The select list stays in: HAVING may reuse parameters bound inside it.
    countSql: `select count(*) as n from (select ${selectSql} ${from}${groupSql}${havingSql}) s`,
    countParams: params.values,
    columns: outputs.map((o) => ({ name: o.name, type: o.type, masked: false, rule: o.rule })),
    limit,
    offset,
    columnsRead: [...read],
    columnsMasked: [],
    privacy: null,
  };
}

/**
 * A grouped query under differential privacy. The statement returns every group (no HAVING,
 * LIMIT or ORDER BY on aggregates, which would act on exact values) with clamped sums, counts and
 * each group's row count; the gate releases them through `releaseGroups`.
 */
function compilePrivate(
  privacy: Privacy,
  access: Access,
  input: QueryInput,
  q: {
    params: Params;
    from: string;
    groupExprs: string[];
    groups: Array<{
      name: string;
      type: ColumnType;
      select: string;
      sort: string;
      rule: ColumnRule | null;
    }>;
    read: Set<string>;
    limit: number;
    offset: number;
  },
): Plan {
  const { params, read } = q;
  if (input.having)
    throw new ForbiddenError(
      'having is not available under differential privacy: it would filter on exact aggregates.',
    );
  const select: string[] = [];
  const outputs: Release[] = [];
  const columns: OutputColumn[] = [];
  const raw = (sql: string) => {
    select.push(`${sql} as s${select.length}`);
    return `s${select.length - 1}`;
  };
  const sortedBy = new Set((input.orderBy ?? []).map((o) => o.column));
  for (const g of q.groups) {
    outputs.push({
      kind: 'key',
      value: raw(g.select),
      rank: sortedBy.has(g.name)
        ? raw(`dense_rank() over (order by ${g.sort} asc nulls first)`)
        : null,
    });
    columns.push({ name: g.name, type: g.type, masked: false, rule: g.rule });
  }
  for (const a of input.aggregates ?? []) {
    if (!['COUNT', 'COUNT_DISTINCT', 'SUM', 'AVG'].includes(a.function))
      throw new ForbiddenError(
        `${a.function} is not available under differential privacy; use COUNT, COUNT_DISTINCT, SUM or AVG.`,
      );
    const name = aggregateName(a);
    if (!a.column) {
      if (a.function !== 'COUNT')
        throw new InputError(`${a.function} needs a column.`, 'aggregates');
      outputs.push({ kind: 'count', value: raw('count(*)') });
      columns.push({ name, type: 'INTEGER', masked: false, rule: null });
      continue;
    }
    const c = lookup(access, a.column, 'aggregates');
    read.add(c.name);
    const expr = col(c);
    if (a.function === 'COUNT' || a.function === 'COUNT_DISTINCT') {
      const distinct = a.function === 'COUNT_DISTINCT' ? 'distinct ' : '';
      outputs.push({ kind: 'count', value: raw(`count(${distinct}${expr})`) });
      columns.push({ name, type: 'INTEGER', masked: false, rule: null });
      continue;
    }
    if (!NUMERIC.includes(c.type))
      throw new InputError(
        `${a.function} needs a numeric column; "${c.name}" is ${c.type}.`,
        'aggregates',
      );
    const bounds = privacy.bounds.find((b) => b.column === c.name);
    if (!bounds)
      throw new ForbiddenError(
        `Cannot ${a.function} column "${c.name}" under differential privacy: the policy declares no bounds for it.`,
      );
    const { lower, upper } = bounds;
    const clamped = `least(greatest(${expr}::float8, ${params.bind(String(lower), 'float8')}), ${params.bind(String(upper), 'float8')})`;
    if (a.function === 'SUM') {
      outputs.push({
        kind: 'sum',
        value: raw(`sum(${clamped})`),
        lower,
        upper,
        integer: c.type === 'INTEGER',
      });
      columns.push({ name, type: c.type, masked: false, rule: null });
    } else {
      const mid = params.bind(String((lower + upper) / 2), 'float8');
      outputs.push({
        kind: 'mean',
        sum: raw(`sum(${clamped} - ${mid})`),
        count: raw(`count(${expr})`),
        lower,
        upper,
      });
      columns.push({ name, type: 'FLOAT', masked: false, rule: null });
    }
  }
  const index = new Map(columns.map((c, i) => [c.name, i]));
  if (index.size !== columns.length)
    throw new InputError('Two outputs share a name: give one an "as".', 'aggregates');
  const order = (input.orderBy ?? []).map((o) => {
    const output = index.get(o.column);
    if (output === undefined)
      throw new InputError(
        `orderBy names "${o.column}", which is not an output of this query.`,
        'orderBy',
      );
    return { output, desc: o.direction === 'DESC' };
  });
  const grouped = q.groupExprs.length > 0;
  const groupCount = grouped ? raw('count(*)') : null;
  const groupSql = grouped ? ` group by ${q.groupExprs.join(', ')}` : '';
  const orderSql = grouped
    ? ` order by ${q.groupExprs.map((g) => `${g} asc nulls first`).join(', ')}`
    : '';
  return {
    sql: `select ${select.join(', ')} ${q.from}${groupSql}${orderSql}`,
    params: params.values,
    countSql: '',
    countParams: [],
    columns,
    limit: q.limit,
    offset: q.offset,
    columnsRead: [...read],
    columnsMasked: [],
    privacy: {
      epsilon: privacy.epsilon,
      delta: privacy.delta,
      outputs,
      groupCount,
      minGroupSize: access.minGroupSize,
      order,
    },
  };
}

/** Column types whose values are numbers. */
export const NUMERIC: readonly ColumnType[] = ['INTEGER', 'FLOAT'];

function aggregateSql(
  a: Aggregate,
  access: Access,
  params: Params,
): { select: string; type: ColumnType } {
  if (!a.column) {
    if (a.function !== 'COUNT') throw new InputError(`${a.function} needs a column.`, 'aggregates');
    return { select: 'count(*)', type: 'INTEGER' };
  }
  const c = lookup(access, a.column, 'aggregates');
  const expr = col(c);
  const numeric = () => {
    if (!NUMERIC.includes(c.type))
      throw new InputError(
        `${a.function} needs a numeric column; "${c.name}" is ${c.type}.`,
        'aggregates',
      );
  };
  switch (a.function) {
    case 'COUNT':
      return { select: `count(${expr})`, type: 'INTEGER' };
    case 'COUNT_DISTINCT':
      return { select: `count(distinct ${expr})`, type: 'INTEGER' };
    case 'SUM':
      numeric();
      return {
        select: c.type === 'INTEGER' ? `sum(${expr})` : `sum(${expr})::float8`,
        type: c.type,
      };
    case 'AVG':
      numeric();
      return { select: `avg(${expr})::float8`, type: 'FLOAT' };
    case 'STDDEV':
      numeric();
      return { select: `stddev_samp(${expr})::float8`, type: 'FLOAT' };
    case 'MEDIAN':
      numeric();
      return { select: `percentile_cont(0.5) within group (order by ${expr})`, type: 'FLOAT' };
    case 'PERCENTILE': {
      numeric();
      const p = a.percentile;
      if (typeof p !== 'number' || !(p >= 0 && p <= 1))
        throw new InputError('PERCENTILE needs a percentile between 0 and 1.', 'aggregates');
      return {
        select: `percentile_cont(${params.bind(String(p), 'float8')}) within group (order by ${expr})`,
        type: 'FLOAT',
      };
    }
    default:
      if (c.type === 'BOOLEAN')
        throw new InputError(`${a.function} does not apply to BOOLEAN "${c.name}".`, 'aggregates');
      return { select: clearOf(`${a.function.toLowerCase()}(${expr})`, c.type), type: c.type };
  }
}
