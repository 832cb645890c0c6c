import { createHash, randomUUID } from 'node:crypto';
import { and, asc, desc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import { type Db, isUniqueViolation } from '../../db/client';
import {
  type ColumnType,
  type Dataset,
  type DatasetColumn,
  type DatasetVersion,
  datasetColumns,
  datasets,
  datasetVersions,
  type Sensitivity,
} from '../../db/schema/datasets';
import { accessChanged, BUMP_EPOCH_SQL, bumpAccessEpoch, cachedPage } from '../access/cache';
import { visibleRowCount } from '../access/gate';
import {
  accessOfVersions,
  datasetVisibility,
  findDataset,
  loadVersions,
  visibleColumnsOf,
} from '../access/visibility';
import { assertSensitivityKeepsAccess } from '../access/widening';
import type { AppContext, AuthedContext } from '../context';
import { ConflictError, InputError, NotFoundError, PesoError } from '../errors';
import { createConverter } from './copy';
import type { IngestionEvent } from './events';
import { createInferrer } from './infer';
import { type FileFormat, parseFile, type RawRow } from './parse';
import { createPiiDetector } from './pii';
import { withLoadTransaction } from './storage';
import { assertTable, insertDataset, writeVersion } from './writer';

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
  let id = '';
  let epoch = 0;
  try {
    await withLoadTransaction(ctx.database, async (tx) => {
      id = await insertDataset(tx, ctx.viewer, {
        name: input.name,
        description: input.description ?? '',
        tags: input.tags ?? [],
      });
      // A new dataset changes the lists that show it (cached until an access change).
      const [bumped] = await tx.exec(BUMP_EPOCH_SQL);
      epoch = Number(bumped?.n);
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ConflictError(`A dataset named "${input.name}" exists.`);
    throw error;
  }
  accessChanged(ctx, epoch, [{ kind: 'versions', datasetId: id }]);
  const [dataset] = await ctx.db.select().from(datasets).where(eq(datasets.id, id));
  return dataset!;
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

  return writeVersion(ctx, { versionId, target: { datasetId: dataset.id } }, async (sink) => {
    await sink.create(sampled);
    for (const batch of sample) await sink.copy(converter.convertBatch(batch));
    onProgress(parsed.stats());
    if (!exhausted) {
      for (let next = await rows.next(); !next.done; next = await rows.next()) {
        await sink.copy(converter.observeAndConvert(next.value, inferrer));
        onProgress(parsed.stats());
      }
    }
    const final = inferrer.finish();
    const kinds = pii.finish(final);
    const stats = parsed.stats();
    return {
      columns: final.map((column, i) => {
        const kind = kinds[i]?.kind ?? null;
        return {
          nullable: column.nullable,
          distinctEstimate: column.distinctEstimate,
          sensitivity: sensitivityOverride.get(column.name) ?? (kind ? 'PII' : 'NONE'),
          piiKind: kind,
        };
      }),
      rowCount: stats.rows,
      byteSize: stats.bytes,
      checksum: hash.digest('hex'),
      source: `${format}: ${input.filename}`,
    };
  });
}

/** Latest versions read with a page of datasets, per request, for `latestVersionsFor`. */
const latestRead = new WeakMap<object, Map<string, DatasetVersion | null>>();

/**
 * The statement behind `listDatasets`, built once per database and kind of viewer (a member, an
 * API key) with placeholders for the viewer and the page: the hottest read is not rebuilt per
 * request.
 */
function buildDatasetPage(db: Db, forApiKey: boolean) {
  const latest = db
    .select()
    .from(datasetVersions)
    .where(eq(datasetVersions.datasetId, datasets.id))
    .orderBy(desc(datasetVersions.number))
    .limit(1)
    .as('latest');
  const versionFields = Object.fromEntries(
    Object.keys(getTableColumns(datasetVersions)).map((k) => [k, latest[k as keyof typeof latest]]),
  ) as unknown as { id: typeof latest.id };
  return db
    .select({ dataset: datasets, latest: versionFields })
    .from(datasets)
    .leftJoinLateral(latest, sql`true`)
    .where(
      datasetVisibility(sql.placeholder('orgId'), forApiKey ? sql.placeholder('apiKeyId') : null),
    )
    .orderBy(asc(datasets.name), asc(datasets.id))
    .limit(sql.placeholder('limit'))
    .offset(sql.placeholder('offset'))
    .prepare(forApiKey ? 'datasets_page_api_key' : 'datasets_page');
}

const datasetPages = new WeakMap<
  Db,
  Record<'member' | 'apiKey', ReturnType<typeof buildDatasetPage>>
>();

function datasetPage(db: Db, forApiKey: boolean) {
  let pages = datasetPages.get(db);
  if (!pages) {
    pages = { member: buildDatasetPage(db, false), apiKey: buildDatasetPage(db, true) };
    datasetPages.set(db, pages);
  }
  return forApiKey ? pages.apiKey : pages.member;
}

/**
 * A page of the datasets the viewer can see, each read in the same statement as its latest
 * version (kept for `currentVersion` in this request: one statement instead of two), and kept in
 * the access caches until the next access change (`cachedPage`): every write that changes what a
 * page shows bumps the access epoch.
 */
export async function listDatasets(ctx: AuthedContext, page: { limit: number; offset: number }) {
  const apiKeyId = ctx.viewer.kind === 'API_KEY' ? ctx.viewer.apiKeyId : null;
  const { orgId } = ctx.viewer;
  const rows = await cachedPage(
    ctx,
    `${orgId}:${apiKeyId ?? 'member'}:${page.limit}:${page.offset}`,
    () =>
      datasetPage(ctx.db, apiKeyId !== null).execute({
        orgId,
        apiKeyId,
        limit: page.limit,
        offset: page.offset,
      }),
  );
  const known = latestRead.get(ctx) ?? new Map<string, DatasetVersion | null>();
  latestRead.set(ctx, known);
  for (const row of rows)
    known.set(row.dataset.id, row.latest?.id ? (row.latest as unknown as DatasetVersion) : null);
  return rows.map((row) => row.dataset);
}

/**
 * Latest version of each dataset (datasets without versions are absent): those read with the
 * request's dataset list, the rest in one statement.
 */
export async function latestVersionsFor(
  ctx: object & { db: Db },
  datasetIds: readonly string[],
): Promise<DatasetVersion[]> {
  const known = latestRead.get(ctx);
  const missing = datasetIds.filter((id) => !known?.has(id));
  const read = missing.length > 0 ? await latestVersions(ctx.db, missing) : [];
  const out = datasetIds.flatMap((id) => {
    const version = known?.get(id);
    return version ? [version] : [];
  });
  return [...out, ...read];
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
    const { dataset, epoch } = await ctx.db.transaction(async (tx) => {
      const [row] = await tx
        .update(datasets)
        .set({ ...changes, updatedAt: new Date() })
        .where(and(eq(datasets.id, input.datasetId), eq(datasets.orgId, ctx.viewer.orgId)))
        .returning();
      return { dataset: row!, epoch: await bumpAccessEpoch(tx) };
    });
    accessChanged(ctx, epoch, [{ kind: 'versions', datasetId: dataset.id }]);
    return dataset;
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ConflictError(`A dataset named "${input.name}" exists.`);
    throw error;
  }
}

/** Deletes a dataset with every version and its stored rows, in one transaction. */
export async function deleteDataset(ctx: AuthedContext, datasetId: string): Promise<Dataset> {
  const dataset = await findDataset(ctx, datasetId);
  const epoch = await withLoadTransaction(ctx.database, async (tx) => {
    const versions = await tx.exec(
      'select table_name from dataset_versions where dataset_id = $1',
      [dataset.id],
    );
    for (const v of versions) {
      const table = String(v.table_name);
      assertTable(table);
      await tx.exec(`drop table if exists ${table}`);
    }
    await tx.exec('delete from datasets where id = $1', [dataset.id]);
    const [bumped] = await tx.exec(BUMP_EPOCH_SQL);
    return Number(bumped?.n);
  });
  accessChanged(ctx, epoch, [{ kind: 'dataset', datasetId: dataset.id }]);
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
  // A column hidden from the caller answers as a missing one: success would confirm it exists.
  const visible = await visibleColumnsOf(
    ctx,
    (await versionIds).map((v) => v.id),
  );
  if (!visible.some((c) => c.name === input.column))
    throw new InputError(`No column named "${input.column}".`, 'column');
  await assertSensitivityKeepsAccess(ctx, dataset.id, input.column, input.sensitivity);
  const epoch = await ctx.db.transaction(async (tx) => {
    const updated = await tx
      .update(datasetColumns)
      .set({ sensitivity: input.sensitivity })
      .where(
        and(inArray(datasetColumns.versionId, versionIds), eq(datasetColumns.name, input.column)),
      )
      .returning({ id: datasetColumns.id });
    if (updated.length === 0) throw new InputError(`No column named "${input.column}".`, 'column');
    return bumpAccessEpoch(tx);
  });
  accessChanged(ctx, epoch, [{ kind: 'columns', datasetId: dataset.id }]);
  return dataset;
}

/** The two versions' visible columns and sizes, for `diffVersions`; both must be visible. */
export async function versionsForDiff(ctx: AuthedContext, baseId: string, targetId: string) {
  const versions = await loadVersions(ctx.db, ctx.viewer, [baseId, targetId]);
  const base = versions.find((v) => v.id === baseId);
  const target = versions.find((v) => v.id === targetId);
  if (!base || !target) throw new NotFoundError('DatasetVersion');
  // Columns as the viewer may know them: a hidden column is not named by a diff either, and
  // rows outside a row policy are not counted.
  const [columns, accesses] = await Promise.all([
    visibleColumnsOf(ctx, [baseId, targetId]),
    accessOfVersions(ctx, [baseId, targetId]),
  ]);
  const count = (version: DatasetVersion) => {
    const access = accesses.get(version.id);
    return access ? visibleRowCount(ctx, { version, access }) : null;
  };
  return {
    base: { rowCount: await count(base), columns: columns.filter((c) => c.versionId === baseId) },
    target: {
      rowCount: await count(target),
      columns: columns.filter((c) => c.versionId === targetId),
    },
  };
}
