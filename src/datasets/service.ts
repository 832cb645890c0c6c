import { createHash, randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { type Db, isUniqueViolation, query } from '../../db/client';
import { datasetPolicies } from '../../db/schema/access';
import {
  type Dataset,
  type DatasetColumn,
  type DatasetVersion,
  datasetColumns,
  datasets,
  datasetVersions,
} from '../../db/schema/datasets';
import { datasetVisibleTo } from '../access/gate';
import { type ColumnRule, resolveAccess } from '../access/policy';
import type { Viewer } from '../auth/viewer';
import type { AppContext, AuthedContext } from '../context';
import { ConflictError, InputError, NotFoundError, PesoError } from '../errors';
import type { IngestionEvent } from '../events/bus';
import { type ColumnType, createConverter, createInferrer, pgTypeFor } from './infer';
import { type FileFormat, parseFile, type RawRow } from './parse';
import { createPiiDetector } from './pii';
import { withLoadTransaction } from './storage';

export type Sensitivity = 'NONE' | 'PII' | 'SECRET';

export interface UploadOptions {
  format?: FileFormat | null;
  delimiter?: string | null;
  header?: boolean | null;
  typeOverrides?: Array<{ column: string; type: ColumnType }> | null;
  sensitivityOverrides?: Array<{ column: string; sensitivity: Sensitivity }> | null;
}

/** Rows buffered before the column types are fixed and loading starts. */
const SAMPLE_ROWS = 10_000;
/** Progress events are sent at most this often during a load. */
const PROGRESS_INTERVAL_MS = 250;

export async function createDataset(
  ctx: AuthedContext,
  input: { name: string; description?: string | null; tags?: string[] | null },
): Promise<Dataset> {
  try {
    return await ctx.db.transaction(async (tx) => {
      const [dataset] = await tx
        .insert(datasets)
        .values({
          orgId: ctx.viewer.orgId,
          name: input.name,
          description: input.description ?? '',
          tags: input.tags ?? [],
          createdBy: ctx.viewer.userId,
        })
        .returning();
      // API keys see only datasets a policy names: a key that creates one may use it.
      if (ctx.viewer.kind === 'API_KEY') {
        await tx.insert(datasetPolicies).values({
          datasetId: dataset!.id,
          orgId: ctx.viewer.orgId,
          principalKind: 'API_KEY',
          principalApiKeyId: ctx.viewer.apiKeyId,
        });
      }
      return dataset!;
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ConflictError(`A dataset named "${input.name}" exists.`);
    throw error;
  }
}

export async function findDataset(ctx: AuthedContext, datasetId: string): Promise<Dataset> {
  const [dataset] = await ctx.db
    .select()
    .from(datasets)
    .where(and(eq(datasets.id, datasetId), datasetVisibleTo(ctx.viewer)));
  if (!dataset) throw new NotFoundError('Dataset');
  return dataset;
}

/** The format named by the caller, else guessed from the file name; CSV by default. */
export function formatFor(filename: string, format: FileFormat | null | undefined): FileFormat {
  if (format) return format;
  const ext = filename.toLowerCase().split('.').pop();
  if (ext === 'tsv' || ext === 'tab') return 'TSV';
  if (ext === 'json') return 'JSON';
  if (ext === 'ndjson' || ext === 'jsonl') return 'NDJSON';
  return 'CSV';
}

async function* tap(source: AsyncIterable<Uint8Array>, hash: ReturnType<typeof createHash>) {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/**
 * Streams a file into a new immutable version: parse, infer types from a bounded sample, detect
 * PII, then COPY every row (validated and converted) into a typed table — all in one
 * transaction, so a bad row anywhere leaves no version, table or row behind.
 */
export async function uploadVersion(
  ctx: AuthedContext,
  input: {
    datasetId: string;
    /** Id for the new version, when it was promised earlier (a signed upload URL). */
    versionId?: string;
    filename: string;
    source: AsyncIterable<Uint8Array>;
    /** Size of the upload when known, for a percentage in progress events. */
    totalBytes?: number | null;
    options?: UploadOptions | null;
  },
): Promise<DatasetVersion> {
  const dataset = await findDataset(ctx, input.datasetId);
  const versionId = input.versionId ?? randomUUID();
  const started = performance.now();
  let lastPublished = 0;
  let progress = { rows: 0, bytes: 0 };
  const publish = (status: IngestionEvent['status'], error: string | null = null) => {
    lastPublished = performance.now();
    const seconds = (lastPublished - started) / 1000;
    ctx.events.publish(`datasetIngestion:${dataset.id}`, {
      datasetId: dataset.id,
      versionId,
      status,
      ...progress,
      totalBytes: input.totalBytes ?? null,
      rowsPerSecond: seconds > 0 ? Math.round(progress.rows / seconds) : 0,
      error,
    });
  };
  try {
    const version = await loadVersion(ctx, dataset, versionId, input, (stats) => {
      progress = stats;
      if (performance.now() - lastPublished >= PROGRESS_INTERVAL_MS) publish('LOADING');
    });
    progress = { rows: version.rowCount, bytes: version.byteSize };
    publish('READY');
    return version;
  } catch (error) {
    publish('FAILED', error instanceof PesoError ? error.message : 'Unexpected error.');
    throw error;
  }
}

async function loadVersion(
  ctx: AuthedContext,
  dataset: Dataset,
  versionId: string,
  input: { filename: string; source: AsyncIterable<Uint8Array>; options?: UploadOptions | null },
  onProgress: (stats: { rows: number; bytes: number }) => void,
): Promise<DatasetVersion> {
  const options = input.options ?? {};
  const format = formatFor(input.filename, options.format);
  const hash = createHash('sha256');
  const parsed = await parseFile(tap(input.source, hash), {
    format,
    delimiter: options.delimiter ?? undefined,
    header: options.header ?? true,
    maxBytes: ctx.config.maxUploadBytes,
  });
  const known = new Set(parsed.columns);
  for (const o of [...(options.typeOverrides ?? []), ...(options.sensitivityOverrides ?? [])]) {
    if (!known.has(o.column))
      throw new InputError(`No column named "${o.column}" in the file.`, 'options');
  }
  const overrides = Object.fromEntries(
    (options.typeOverrides ?? []).map((o) => [o.column, o.type]),
  );
  const inferrer = createInferrer(parsed.columns, { sampleSize: SAMPLE_ROWS, overrides });
  const pii = createPiiDetector(parsed.columns);
  const rows = parsed.rows[Symbol.asyncIterator]();
  const sample: RawRow[][] = [];
  let exhausted = false;
  while (inferrer.sampled < SAMPLE_ROWS) {
    const next = await rows.next();
    if (next.done) {
      exhausted = true;
      break;
    }
    inferrer.observe(next.value);
    pii.observe(next.value);
    sample.push(next.value);
  }
  const sampled = inferrer.finish();
  const sensitivityOverride = new Map(
    (options.sensitivityOverrides ?? []).map((o) => [o.column, o.sensitivity]),
  );
  const provisional = pii.finish(sampled);
  const hidden = new Set(
    sampled
      .filter(
        (c, i) =>
          (sensitivityOverride.get(c.name) ?? (provisional[i]?.kind ? 'PII' : 'NONE')) !== 'NONE',
      )
      .map((c) => c.name),
  );
  const converter = createConverter(sampled, { hideValuesFor: hidden });
  const table = `dsv_${versionId.replaceAll('-', '')}`;

  await withLoadTransaction(ctx.database, async (tx) => {
    await tx.exec('select id from datasets where id = $1 for update', [dataset.id]);
    const [latest] = await tx.exec(
      'select coalesce(max(number), 0)::int as n from dataset_versions where dataset_id = $1',
      [dataset.id],
    );
    const number = Number(latest?.n ?? 0) + 1;
    const columnsSql = sampled.map((c, i) => `c${i} ${pgTypeFor(c.type)}`).join(', ');
    await tx.exec(`create table ${table} (${columnsSql})`);
    for (const batch of sample) await tx.copy(table, converter.convertBatch(batch));
    onProgress(parsed.stats());
    if (!exhausted) {
      for (let next = await rows.next(); !next.done; next = await rows.next()) {
        await tx.copy(table, converter.observeAndConvert(next.value, inferrer));
        onProgress(parsed.stats());
      }
    }
    await tx.endCopy();
    const final = inferrer.finish();
    const kinds = pii.finish(final);
    const stats = parsed.stats();
    const [version] = await tx.exec(
      `insert into dataset_versions
         (id, dataset_id, number, row_count, byte_size, checksum, source, table_name, created_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
      [
        versionId,
        dataset.id,
        number,
        stats.rows,
        stats.bytes,
        hash.digest('hex'),
        `${format}: ${input.filename}`.slice(0, 300),
        table,
        ctx.viewer.userId,
      ],
    );
    for (const [i, column] of final.entries()) {
      const kind = kinds[i]?.kind ?? null;
      await tx.exec(
        `insert into dataset_columns
           (version_id, position, name, type, nullable, sensitivity, pii_kind, distinct_estimate)
         values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          version!.id,
          i,
          column.name,
          column.type,
          column.nullable,
          sensitivityOverride.get(column.name) ?? (kind ? 'PII' : 'NONE'),
          kind,
          column.distinctEstimate,
        ],
      );
    }
    await tx.exec('update datasets set updated_at = now() where id = $1', [dataset.id]);
    ctx.log.info({ datasetId: dataset.id, versionId, rows: stats.rows }, 'dataset version loaded');
  });
  analyzeLater(ctx, table);
  // Read back outside the transaction: PGlite has one connection, and the transaction holds it.
  const [loaded] = await ctx.db
    .select()
    .from(datasetVersions)
    .where(eq(datasetVersions.id, versionId));
  return loaded!;
}

/**
 * Gathers planner statistics for a new version table after it is committed, without holding up
 * the answer: the first queries get good plans (PGlite has no autovacuum to do it).
 */
export function analyzeLater(ctx: AuthedContext, table: string): void {
  query(ctx.database, `analyze ${table}`).catch((error: unknown) =>
    ctx.log.warn({ err: error, table }, 'could not analyze a new version table'),
  );
}

export async function listDatasets(ctx: AuthedContext, page: { limit: number; offset: number }) {
  return ctx.db
    .select()
    .from(datasets)
    .where(datasetVisibleTo(ctx.viewer))
    .orderBy(asc(datasets.name), asc(datasets.id))
    .limit(page.limit)
    .offset(page.offset);
}

export async function loadDatasets(db: Db, viewer: Viewer, ids: readonly string[]) {
  return db
    .select()
    .from(datasets)
    .where(and(inArray(datasets.id, [...ids]), datasetVisibleTo(viewer)));
}

/** Versions of datasets the viewer can see, by id. */
export async function loadVersions(db: Db, viewer: Viewer, ids: readonly string[]) {
  const rows = await db
    .select({ version: datasetVersions })
    .from(datasetVersions)
    .innerJoin(datasets, eq(datasets.id, datasetVersions.datasetId))
    .where(and(inArray(datasetVersions.id, [...ids]), datasetVisibleTo(viewer)));
  return rows.map((r) => r.version);
}

/** Latest version of each dataset (datasets without versions are absent). */
export async function latestVersions(db: Db, datasetIds: readonly string[]) {
  const rows = await db
    .selectDistinctOn([datasetVersions.datasetId])
    .from(datasetVersions)
    .where(inArray(datasetVersions.datasetId, [...datasetIds]))
    .orderBy(datasetVersions.datasetId, desc(datasetVersions.number));
  return rows;
}

export async function versionsOf(db: Db, datasetIds: readonly string[]) {
  return db
    .select()
    .from(datasetVersions)
    .where(inArray(datasetVersions.datasetId, [...datasetIds]))
    .orderBy(desc(datasetVersions.number));
}

export async function columnsOf(db: Db, versionIds: readonly string[]): Promise<DatasetColumn[]> {
  return db
    .select()
    .from(datasetColumns)
    .where(inArray(datasetColumns.versionId, [...versionIds]))
    .orderBy(asc(datasetColumns.position));
}

/**
 * Columns of versions as a viewer may know them: each with the rule the access gate applies for
 * this viewer, and without the columns a policy hides from them (HIDE means not at all).
 */
export async function visibleColumnsOf(
  ctx: AppContext,
  versionIds: readonly string[],
): Promise<Array<DatasetColumn & { rule: ColumnRule }>> {
  const viewer = ctx.viewer;
  if (!viewer) return [];
  const columns = await columnsOf(ctx.db, versionIds);
  const versions = await ctx.db
    .select({ id: datasetVersions.id, datasetId: datasetVersions.datasetId })
    .from(datasetVersions)
    .where(inArray(datasetVersions.id, [...versionIds]));
  const datasetOf = new Map(versions.map((v) => [v.id, v.datasetId]));
  const policies = await ctx.db
    .select()
    .from(datasetPolicies)
    .where(inArray(datasetPolicies.datasetId, [...new Set(datasetOf.values())]));
  const out: Array<DatasetColumn & { rule: ColumnRule }> = [];
  for (const versionId of versionIds) {
    const own = columns.filter((c) => c.versionId === versionId);
    const datasetId = datasetOf.get(versionId);
    const access = resolveAccess(
      viewer,
      own,
      policies.filter((p) => p.datasetId === datasetId),
    );
    if (!access) continue;
    for (const [i, c] of own.entries()) {
      const rule = access.columns[i]!.rule;
      if (rule !== 'HIDE') out.push({ ...c, rule });
    }
  }
  return out;
}

export type { AppContext, Dataset, DatasetColumn, DatasetVersion };

export async function updateDataset(
  ctx: AuthedContext,
  input: {
    datasetId: string;
    name?: string | null;
    description?: string | null;
    tags?: string[] | null;
  },
): Promise<Dataset> {
  await findDataset(ctx, input.datasetId);
  const changes: Partial<Dataset> = {};
  if (input.name != null) changes.name = input.name;
  if (input.description != null) changes.description = input.description;
  if (input.tags != null) changes.tags = input.tags;
  try {
    const [dataset] = await ctx.db
      .update(datasets)
      .set({ ...changes, updatedAt: new Date() })
      .where(and(eq(datasets.id, input.datasetId), eq(datasets.orgId, ctx.viewer.orgId)))
      .returning();
    return dataset!;
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ConflictError(`A dataset named "${input.name}" exists.`);
    throw error;
  }
}

/** Deletes a dataset with every version and its stored rows, in one transaction. */
export async function deleteDataset(ctx: AuthedContext, datasetId: string): Promise<Dataset> {
  const dataset = await findDataset(ctx, datasetId);
  await withLoadTransaction(ctx.database, async (tx) => {
    const versions = await tx.exec(
      'select table_name from dataset_versions where dataset_id = $1',
      [dataset.id],
    );
    for (const v of versions) {
      const table = String(v.table_name);
      if (!/^dsv_[0-9a-f]{32}$/.test(table)) throw new Error(`unexpected storage table ${table}`);
      await tx.exec(`drop table if exists ${table}`);
    }
    await tx.exec('delete from datasets where id = $1', [dataset.id]);
  });
  ctx.log.info({ datasetId }, 'dataset deleted');
  return dataset;
}

/**
 * Sets the sensitivity of a column in every version of a dataset: marking data as sensitive
 * must not leave it readable through an older version.
 */
export async function setColumnSensitivity(
  ctx: AuthedContext,
  input: { datasetId: string; column: string; sensitivity: Sensitivity },
): Promise<Dataset> {
  const dataset = await findDataset(ctx, input.datasetId);
  const versionIds = ctx.db
    .select({ id: datasetVersions.id })
    .from(datasetVersions)
    .where(eq(datasetVersions.datasetId, dataset.id));
  const updated = await ctx.db
    .update(datasetColumns)
    .set({ sensitivity: input.sensitivity })
    .where(
      and(inArray(datasetColumns.versionId, versionIds), eq(datasetColumns.name, input.column)),
    )
    .returning({ id: datasetColumns.id });
  if (updated.length === 0) throw new InputError(`No column named "${input.column}".`, 'column');
  return dataset;
}

/** The two versions' visible columns and sizes, for `diffVersions`; both must be visible. */
export async function versionsForDiff(ctx: AuthedContext, baseId: string, targetId: string) {
  const versions = await loadVersions(ctx.db, ctx.viewer, [baseId, targetId]);
  const base = versions.find((v) => v.id === baseId);
  const target = versions.find((v) => v.id === targetId);
  if (!base || !target) throw new NotFoundError('DatasetVersion');
  // Columns as the viewer may know them: a hidden column is not named by a diff either.
  const columns = await visibleColumnsOf(ctx, [baseId, targetId]);
  return {
    base: { rowCount: base.rowCount, columns: columns.filter((c) => c.versionId === baseId) },
    target: { rowCount: target.rowCount, columns: columns.filter((c) => c.versionId === targetId) },
  };
}
