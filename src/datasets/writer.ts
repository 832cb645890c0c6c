import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { type Database, isUniqueViolation, query } from '../../db/client';
import {
  type ColumnType,
  type DatasetVersion,
  datasetVersions,
  pgTypeFor,
  type Sensitivity,
} from '../../db/schema/datasets';
import { accessChanged, BUMP_EPOCH_SQL } from '../access/cache';
import type { Viewer } from '../auth/viewer';
import { DRIFT_CHECK_JOB, queueChecksOnNewVersion } from '../drift/service';
import { ConflictError } from '../errors';
import type { EventBus } from '../events/bus';
import type { JobQueue } from '../jobs/queue';
import type { Logger } from '../log';
import { copyCell } from './copy';
import { type LoadTransaction, sharedPgliteLoad, withLoadTransaction } from './storage';

/**
 * The one writer of dataset versions. Uploads, query results written as a version and batch
 * predictions all come through here: it names the `dsv_` table, creates it, fills it (COPY of
 * CSV text, typed rows, or the rows of a statement), writes the `dataset_versions` and
 * `dataset_columns` rows, and analyzes the table — in one transaction, so a failure anywhere
 * leaves no table, version or row behind (on PGlite an upload to an existing dataset fills its
 * table outside the transaction, so the API stays responsive, and drops it on failure).
 */

/** The storage table of a version. */
export function tableFor(versionId: string): string {
  return `dsv_${versionId.replaceAll('-', '')}`;
}

/** Table names come from the database, but reach SQL as text: check their shape anyway. */
export function assertTable(table: string): void {
  if (!/^dsv_[0-9a-f]{32}$/.test(table)) throw new Error(`unexpected storage table ${table}`);
}

/** Where a version goes: an existing dataset, or a new one created in the same transaction. */
export type VersionTarget =
  | { datasetId: string }
  | { newDataset: { name: string; description: string; tags?: string[] } };

export interface NewColumn {
  name: string;
  type: ColumnType;
}

/** What is known of a stored column; anything left out is measured from the stored rows. */
export interface ColumnFacts {
  nullable?: boolean;
  distinctEstimate?: number;
  sensitivity?: Sensitivity;
  piiKind?: string | null;
}

/** How `fill` puts rows into the new version's table. */
export interface VersionSink {
  readonly versionId: string;
  readonly datasetId: string;
  /** Creates the table (once, before any rows). */
  create(columns: NewColumn[]): Promise<void>;
  /** Appends COPY CSV text, one '\n'-terminated line per row, fields in column order. */
  copy(csv: string): Promise<void>;
  /** Appends rows of typed values in column order (no parsing or inference). */
  writeRows(rows: ReadonlyArray<ReadonlyArray<unknown>>): Promise<void>;
  /** Appends the rows of a statement whose outputs are `o0…oN` in column order. */
  insertFrom(sql: string, params: readonly unknown[]): Promise<void>;
}

/** What `fill` reports once the rows are in. */
export interface Written {
  /** Per column, in order. */
  columns?: ColumnFacts[];
  /** Rows written; counted when absent. */
  rowCount?: number;
  byteSize?: number;
  checksum: string;
  /** Where the rows came from, as the version shows it. */
  source: string;
}

export interface WriterContext {
  database: Database;
  /** Where the new version is announced to every process's access cache. */
  events: EventBus;
  viewer: Viewer;
  log: Logger;
  /** Queues the drift checks a new version asks for. */
  jobs: JobQueue;
}

/**
 * Writes a new version: `fill` creates the table and puts the rows in; the rest is done here.
 * Returns the committed version. A dataset name taken by another gives CONFLICT.
 */
export async function writeVersion(
  ctx: WriterContext,
  spec: { versionId?: string; target: VersionTarget },
  fill: (sink: VersionSink) => Promise<Written>,
): Promise<DatasetVersion> {
  const versionId = spec.versionId ?? randomUUID();
  const table = tableFor(versionId);
  /** The dataset and the access epoch the version committed as, once it has. */
  let committed: { datasetId: string; epoch: number } | null = null;

  /** Creates and fills the table, then measures what `fill` left out. */
  const load = async (tx: LoadTransaction, datasetId: string) => {
    let columns: NewColumn[] | null = null;
    const created = () => {
      if (!columns) throw new Error('create() the version table before writing rows');
      return columns;
    };
    const written = await fill({
      versionId,
      datasetId,
      async create(list) {
        if (columns) throw new Error('the version table exists');
        columns = list;
        await tx.exec(
          `create table ${table} (${list.map((c, i) => `c${i} ${pgTypeFor(c.type)}`).join(', ')})`,
        );
      },
      copy: async (csv) => {
        created();
        await tx.copy(table, csv);
      },
      writeRows: async (rows) => {
        created();
        if (rows.length === 0) return;
        const types = created().map((c) => c.type);
        let text = '';
        for (const row of rows) text += `${row.map((v, i) => copyCell(types[i]!, v)).join(',')}\n`;
        await tx.copy(table, text);
      },
      insertFrom: async (sql, params) => {
        // Outputs may come back as text (dates, times): cast each to its stored type.
        const casts = created()
          .map((c, i) => `o${i}::${pgTypeFor(c.type)}`)
          .join(', ');
        await tx.endCopy();
        await tx.exec(`insert into ${table} select ${casts} from (${sql}) s`, [...params]);
      },
    });
    await tx.endCopy();
    const stored = created();
    return { stored, written, measured: await measure(tx, table, stored, written) };
  };

  /** Numbers the version and writes its rows: what makes it exist. */
  const record = async (
    tx: LoadTransaction,
    datasetId: string,
    { stored, written, measured }: Awaited<ReturnType<typeof load>>,
  ) => {
    // Versions of one dataset are numbered one after another, also under concurrent loads.
    await tx.exec('select id from datasets where id = $1 for update', [datasetId]);
    const [latest] = await tx.exec(
      'select coalesce(max(number), 0)::int as n from dataset_versions where dataset_id = $1',
      [datasetId],
    );
    await tx.exec(
      `insert into dataset_versions
         (id, dataset_id, number, row_count, byte_size, checksum, source, table_name, created_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        versionId,
        datasetId,
        Number(latest?.n ?? 0) + 1,
        measured.rowCount,
        written.byteSize ?? 0,
        written.checksum,
        written.source.slice(0, 300),
        table,
        ctx.viewer.userId,
      ],
    );
    const params: unknown[] = [];
    const values = stored.map((c, i) => {
      const facts = measured.columns[i]!;
      params.push(
        versionId,
        i,
        c.name,
        c.type,
        facts.nullable,
        facts.sensitivity,
        facts.piiKind,
        facts.distinctEstimate,
      );
      const at = params.length - 8;
      return `(${Array.from({ length: 8 }, (_, k) => `$${at + k + 1}`).join(', ')})`;
    });
    await tx.exec(
      `insert into dataset_columns
         (version_id, position, name, type, nullable, sensitivity, pii_kind, distinct_estimate)
       values ${values.join(', ')}`,
      params,
    );
    await tx.exec('update datasets set updated_at = now() where id = $1', [datasetId]);
    // Last, so the epoch's row lock is held only for the commit.
    const [bumped] = await tx.exec(BUMP_EPOCH_SQL);
    committed = { datasetId, epoch: Number(bumped?.n) };
    ctx.log.info({ datasetId, versionId, rows: measured.rowCount }, 'dataset version loaded');
  };

  try {
    if (ctx.database.kind === 'pglite' && 'datasetId' in spec.target) {
      // PGlite has one connection: a transaction around the whole load would hold every API
      // request until the file is in. The table is filled outside one instead (nothing names it
      // until the version row commits), in ~1 MiB COPYs with the API's queries between them,
      // then the version is recorded in one short transaction; a failure drops the table.
      const { datasetId } = spec.target;
      try {
        const loaded = await load(sharedPgliteLoad(ctx.database), datasetId);
        await withLoadTransaction(ctx.database, (tx) => record(tx, datasetId, loaded));
      } catch (error) {
        await query(ctx.database, `drop table if exists ${table}`).catch(() => {});
        throw error;
      }
    } else {
      await withLoadTransaction(ctx.database, async (tx) => {
        const datasetId =
          'datasetId' in spec.target
            ? spec.target.datasetId
            : await insertDataset(tx, ctx.viewer, spec.target.newDataset);
        await record(tx, datasetId, await load(tx, datasetId));
      });
    }
  } catch (error) {
    if (isUniqueViolation(error) && 'newDataset' in spec.target)
      throw new ConflictError(`A dataset named "${spec.target.newDataset.name}" exists.`);
    throw error;
  }
  if (committed) {
    const { datasetId, epoch } = committed;
    accessChanged({ db: ctx.database.db, events: ctx.events }, epoch, [
      { kind: 'versions', datasetId },
    ]);
  }
  analyzeLater(ctx, table);
  // Read back outside the transaction: PGlite has one connection, and the transaction held it.
  const [version] = await ctx.database.db
    .select()
    .from(datasetVersions)
    .where(eq(datasetVersions.id, versionId));
  // Every version is written here, so this is where monitors that check each new one hear of it.
  // The version is committed either way: a check that cannot be queued is logged, not raised.
  await queueChecksOnNewVersion(ctx.database, version!, (reportId) =>
    ctx.jobs.send(DRIFT_CHECK_JOB, { reportId }),
  ).catch((error: unknown) =>
    ctx.log.warn({ err: error, versionId }, 'drift checks of the new version not queued'),
  );
  return version!;
}

/**
 * Inserts a dataset row inside a load transaction. API keys see only datasets a policy names: a
 * key that creates one gets the policy that lets it use it.
 */
export async function insertDataset(
  tx: Pick<LoadTransaction, 'exec'>,
  viewer: Viewer,
  input: { name: string; description: string; tags?: string[] },
): Promise<string> {
  const [row] = await tx.exec(
    `insert into datasets (org_id, name, description, tags, created_by)
     values ($1, $2, $3, array(select jsonb_array_elements_text($4::jsonb)), $5) returning id`,
    [viewer.orgId, input.name, input.description, JSON.stringify(input.tags ?? []), viewer.userId],
  );
  const id = String(row!.id);
  if (viewer.kind === 'API_KEY') {
    await tx.exec(
      `insert into dataset_policies (dataset_id, org_id, principal_kind, principal_api_key_id)
       values ($1, $2, 'API_KEY', $3)`,
      [id, viewer.orgId, viewer.apiKeyId],
    );
  }
  return id;
}

/** Row count and per-column facts, measuring from the table only what `written` left out. */
async function measure(
  tx: LoadTransaction,
  table: string,
  columns: NewColumn[],
  written: Written,
): Promise<{
  rowCount: number;
  columns: Array<Required<ColumnFacts>>;
}> {
  const given = columns.map((_, i) => written.columns?.[i] ?? {});
  const unknown = given.flatMap((f, i) =>
    f.nullable === undefined || f.distinctEstimate === undefined ? [i] : [],
  );
  let summary: Record<string, unknown> = {};
  if (written.rowCount === undefined || unknown.length > 0) {
    const stats = unknown.map(
      (i) => `, count(c${i})::bigint as n${i}, count(distinct c${i})::bigint as d${i}`,
    );
    [summary = {}] = await tx.exec(
      `select count(*)::bigint as rows${stats.join('')} from ${table}`,
    );
  }
  const rowCount = written.rowCount ?? Number(summary.rows);
  return {
    rowCount,
    columns: given.map((f, i) => ({
      nullable: f.nullable ?? Number(summary[`n${i}`]) < rowCount,
      distinctEstimate: f.distinctEstimate ?? Number(summary[`d${i}`]),
      sensitivity: f.sensitivity ?? 'NONE',
      piiKind: f.piiKind ?? null,
    })),
  };
}

/**
 * Gathers planner statistics for a new version table after it is committed, without holding up
 * the answer: the first queries get good plans (PGlite has no autovacuum to do it).
 */
function analyzeLater(ctx: WriterContext, table: string): void {
  query(ctx.database, `analyze ${table}`).catch((error: unknown) =>
    ctx.log.warn({ err: error, table }, 'could not analyze a new version table'),
  );
}
