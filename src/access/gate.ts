import { createHash } from 'node:crypto';
import { query } from '../../db/client';
import type { Dataset, DatasetVersion } from '../../db/schema/datasets';
import type { AuthedContext } from '../context';
import { assertTable, type VersionTarget, writeVersion } from '../datasets/writer';
import { InputError, NotFoundError } from '../errors';
import { type HistoryRecord, recordAudit, recordRead } from './audit';
import { type BudgetState, privacyBudgetState, spendPrivacyBudget } from './budget';
import { datasetAndVersion, policiesOf, versionsWithColumns } from './cache';
import {
  compileQuery,
  cursorAt,
  NUMERIC,
  type OutputColumn,
  type Plan,
  policyPredicate,
} from './compile';

export type { OutputColumn };

import type { Page, QueryInput } from './language';
import { hashKey, Params } from './mask';
import { type Access, resolveAccess } from './policy';
import { cryptoRandom, releaseGroups } from './privacy';
import { readRows } from './timeout';

/**
 * The one gate in front of dataset rows. Every read (query, aggregate, search, export,
 * materialize, natural-language question, and later training loads, drift and predictions)
 * opens a gate for its viewer, runs a plan compiled under the viewer's access, and leaves an
 * audit event. Nothing else reads `dsv_*` tables.
 */
export interface Gate {
  dataset: Dataset;
  version: DatasetVersion;
  access: Access;
}

/**
 * Loads what a viewer may do with a version of a dataset (the latest when `version` is absent).
 * A dataset of another org, or one an API key has no policy for, is not found.
 */
export async function openGate(
  ctx: AuthedContext,
  target: { datasetId: string; version?: number | null; versionId?: string | null },
): Promise<Gate> {
  // Independent lookups at once; the dataset, its version, the policies and the columns come
  // from the access cache while nothing about them changes.
  const [{ dataset: found, version }, policies] = await Promise.all([
    datasetAndVersion(ctx, target),
    policiesOf(ctx, [target.datasetId]),
  ]);
  const dataset = found?.orgId === ctx.viewer.orgId ? found : undefined;
  if (!dataset) throw new NotFoundError('Dataset');
  const columns = version
    ? ((await versionsWithColumns(ctx, [version.id])).get(version.id)?.columns ?? [])
    : [];
  const access = resolveAccess(ctx.viewer, columns, policies.get(target.datasetId) ?? []);
  if (!access) throw new NotFoundError('Dataset');
  if (!version) throw new NotFoundError('DatasetVersion');
  assertTable(version.tableName);
  return { dataset, version, access };
}

/**
 * The caller's differential-privacy budget on a dataset for the current period; null where the
 * policy that applies to them adds no noise.
 */
export async function privacyBudget(
  ctx: AuthedContext,
  datasetId: string,
): Promise<BudgetState | null> {
  const gate = await openGate(ctx, { datasetId });
  return gate.access.privacy ? privacyBudgetState(ctx, gate.dataset.id, gate.access.privacy) : null;
}

export interface GatedResult {
  columns: OutputColumn[];
  /** Rows keyed by output column name. */
  rows: Array<Record<string, unknown>>;
  offset: number;
  hasNextPage: boolean;
  /** Counts every row or group the query matches under the policy (one more statement). */
  totalCount: () => Promise<number>;
  plan: Plan;
}

export interface ReadOptions {
  /** What the audit log calls this read (QUERY, SEARCH, ASK, …). */
  action?: string;
  /** Full-text search words, for `searchDataset`. */
  search?: string | null;
  /** Also add the run to the caller's query history (in the same statement as the audit). */
  history?: HistoryRecord | null;
  /** Read a repeatable random sample of the stored rows (see `CompileOptions.sample`). */
  sample?: { percent: number; seed: number } | null;
}

/** Compiles a query under the gate's access, runs it, and records the read. */
export async function gatedQuery(
  ctx: AuthedContext,
  gate: Gate,
  input: QueryInput,
  page: Page,
  options: ReadOptions = {},
): Promise<GatedResult> {
  const action = options.action ?? 'QUERY';
  const search = options.search ?? null;
  const plan = compileQuery(gate.access, input, page, {
    table: gate.version.tableName,
    viewer: ctx.viewer,
    hashKey: () => hashKey(ctx.config.secret, ctx.viewer.orgId),
    search,
    sample: options.sample ?? null,
  });
  let rows: Array<Record<string, unknown>>;
  let hasNextPage: boolean;
  let total: Promise<number> | null = null;
  if (plan.privacy) {
    // Exact aggregates stay inside this block: only the noisy release is paged, counted and
    // returned, so neither rows nor totalCount reveal an exact group count.
    await spendPrivacyBudget(ctx, gate.dataset.id, gate.access.privacy!);
    const released = releaseGroups(
      await readRows(ctx, plan.sql, plan.params),
      plan.privacy,
      cryptoRandom(),
    );
    hasNextPage = released.length > plan.offset + plan.limit;
    rows = released
      .slice(plan.offset, plan.offset + plan.limit)
      .map((values) => shape(Object.fromEntries(values.map((v, i) => [`o${i}`, v])), plan.columns));
    total = Promise.resolve(released.length);
  } else {
    const raw = await readRows(ctx, plan.sql, plan.params);
    hasNextPage = raw.length > plan.limit;
    rows = raw.slice(0, plan.limit).map((r) => shape(r, plan.columns));
  }
  await recordRead(
    ctx,
    {
      action,
      datasetId: gate.dataset.id,
      versionId: gate.version.id,
      columnsRead: plan.columnsRead,
      columnsMasked: plan.columnsMasked,
      filter: search === null ? (input.where ?? null) : { search },
      rowCount: rows.length,
    },
    options.history ?? null,
  );
  return {
    columns: plan.columns,
    rows,
    offset: plan.offset,
    hasNextPage,
    totalCount: () => {
      total ??= readRows<{ n: unknown }>(ctx, plan.countSql, plan.countParams).then((r) =>
        Number(r[0]?.n ?? 0),
      );
      return total;
    },
    plan,
  };
}

/**
 * Full-text search over the text columns the viewer reads in clear, ranked by relevance; rows
 * come back through the same policy and column rules as a query.
 */
export async function gatedSearch(
  ctx: AuthedContext,
  gate: Gate,
  text: string,
  page: Page,
  history: HistoryRecord | null = null,
): Promise<GatedResult> {
  const words = text.trim();
  if (!words || words.length > 500)
    throw new InputError('Search text must be 1 to 500 characters.', 'text');
  return gatedQuery(ctx, gate, {}, page, { action: 'SEARCH', search: words, history });
}

/** Compiles a query for every matching row (no paging), for export and materialize. */
export function planAll(ctx: AuthedContext, gate: Gate, input: QueryInput): Plan {
  return compileQuery(
    gate.access,
    input,
    {},
    {
      table: gate.version.tableName,
      viewer: ctx.viewer,
      hashKey: () => hashKey(ctx.config.secret, ctx.viewer.orgId),
      unbounded: true,
    },
  );
}

/** Rows fetched per round trip while streaming. */
const STREAM_BATCH = 2_000;

/**
 * Streams every row a query matches to `onBatch`, in order, a batch at a time (never the whole
 * result in memory), and records the read with the number of rows delivered — also when the
 * consumer stops early by throwing.
 */
export async function gatedStream(
  ctx: AuthedContext,
  gate: Gate,
  input: QueryInput,
  action: string,
  onBatch: (rows: Array<Record<string, unknown>>, columns: OutputColumn[]) => Promise<void>,
): Promise<{ rows: number; columns: OutputColumn[] }> {
  const plan = planAll(ctx, gate, input);
  let delivered = 0;
  try {
    if (ctx.database.kind === 'postgres') {
      const cursor = ctx.database.sql
        .unsafe(plan.sql, [...plan.params] as never[])
        .cursor(STREAM_BATCH) as AsyncIterable<Array<Record<string, unknown>>>;
      for await (const batch of cursor) {
        await onBatch(
          batch.map((r) => shape(r, plan.columns)),
          plan.columns,
        );
        delivered += batch.length;
      }
    } else {
      // PGlite is one connection: page with OFFSET instead of holding a cursor (and the
      // connection) open for as long as a slow client reads.
      for (let offset = 0; ; offset += STREAM_BATCH) {
        const batch = await query(
          ctx.database,
          `${plan.sql} limit ${STREAM_BATCH} offset ${offset}`,
          plan.params,
        );
        if (batch.length > 0) {
          await onBatch(
            batch.map((r) => shape(r, plan.columns)),
            plan.columns,
          );
          delivered += batch.length;
        }
        if (batch.length < STREAM_BATCH) break;
      }
    }
  } finally {
    await recordAudit(ctx, {
      action,
      datasetId: gate.dataset.id,
      versionId: gate.version.id,
      columnsRead: plan.columnsRead,
      columnsMasked: plan.columnsMasked,
      filter: input.where ?? null,
      rowCount: delivered,
    });
  }
  return { rows: delivered, columns: plan.columns };
}

/**
 * Writes every row (or group) a query matches, exactly as the viewer sees it, as a new version
 * of `target`: masked columns are stored masked, so nothing the viewer could not read enters the
 * copy, and a column keeps its source's sensitivity only where it is the source column itself.
 */
export async function gatedWrite(
  ctx: AuthedContext,
  gate: Gate,
  input: QueryInput,
  target: VersionTarget,
): Promise<DatasetVersion> {
  const plan = planAll(ctx, gate, input);
  const sources = new Map(gate.access.columns.map((c) => [c.name, c]));
  let rowCount = 0;
  try {
    const version = await writeVersion(ctx, { target }, async (sink) => {
      await sink.create(plan.columns);
      await sink.insertFrom(plan.sql, plan.params);
      return {
        columns: plan.columns.map((c) => ({
          sensitivity: (c.rule ? sources.get(c.name)?.sensitivity : undefined) ?? 'NONE',
        })),
        checksum: createHash('sha256')
          .update(JSON.stringify([gate.version.id, input]))
          .digest('hex'),
        source: `QUERY: ${gate.dataset.name} v${gate.version.number}`,
      };
    });
    rowCount = version.rowCount;
    return version;
  } finally {
    await recordAudit(ctx, {
      action: 'MATERIALIZE',
      datasetId: gate.dataset.id,
      versionId: gate.version.id,
      columnsRead: plan.columnsRead,
      columnsMasked: plan.columnsMasked,
      filter: input.where ?? null,
      rowCount,
    });
  }
}

/**
 * How many rows of the version the viewer may know of: the stored count without a row filter,
 * the rows the filter lets through with one (counted under the policy, like a query), and null
 * for aggregate-only access, whose counts are answered by aggregates alone. Not audited: like
 * the stored count it is metadata of the version, and it reveals no value.
 */
export async function visibleRowCount(
  ctx: AuthedContext,
  gate: Pick<Gate, 'version' | 'access'>,
): Promise<number | null> {
  if (gate.access.mode !== 'ROWS') return null;
  if (!gate.access.rowFilter) return gate.version.rowCount;
  const params = new Params();
  const where = policyPredicate(gate.access, ctx.viewer, params);
  const [row] = await readRows<{ n: unknown }>(
    ctx,
    `select count(*) as n from ${gate.version.tableName} t where ${where}`,
    params.values,
  );
  return Number(row?.n ?? 0);
}

/** The cursor of each row of a result, by position. */
export function cursorOf(result: GatedResult, index: number): string {
  return cursorAt(result.offset + index);
}

/** A database row (`o0…`) as an object keyed by output names, numbers as numbers. */
export function shape(
  row: Record<string, unknown>,
  columns: OutputColumn[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [i, c] of columns.entries()) {
    const v = row[`o${i}`];
    out[c.name] =
      v === null || v === undefined
        ? null
        : NUMERIC.includes(c.type) && !c.masked
          ? toNumber(v)
          : v;
  }
  return out;
}

function toNumber(v: unknown): number | string {
  const n = Number(v);
  // Integers beyond 2^53 stay exact as strings rather than silently rounding.
  if (typeof v !== 'number' && Number.isInteger(n) && !Number.isSafeInteger(n)) return String(v);
  return n;
}
