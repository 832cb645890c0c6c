/** Query.datasets · Query.dataset · Mutation.createDataset · Mutation.uploadDatasetVersion · Mutation.createUploadUrl · Mutation.updateDataset · Mutation.deleteDataset · Mutation.setColumnSensitivity · Subscription.datasetIngestion */
import { createContextCache } from '@pothos/core';
import { encodeGlobalID, resolveOffsetConnection } from '@pothos/plugin-relay';
import DataLoader from 'dataloader';
import { z } from 'zod';
import type { ColumnType, Sensitivity } from '../db/schema/datasets';
import { builder } from '../schema/builder';
import { visibleRowCount } from '../src/access/gate';
import type { Access, COLUMN_RULES, ColumnRule } from '../src/access/policy';
import * as visibility from '../src/access/visibility';
import type { AppContext, AuthedContext } from '../src/context';
import { diffVersions } from '../src/datasets/diff';
import type { IngestionEvent } from '../src/datasets/events';
import { DatasetInputError } from '../src/datasets/input-error';
import type { FileFormat } from '../src/datasets/parse';
import * as ds from '../src/datasets/service';
import * as uploads from '../src/datasets/uploads';
import { ConflictError, InputError, NotFoundError } from '../src/errors';
import { openStream } from '../src/events/stream';
import { predictionVisible } from '../src/models/batch';
import { UserRef } from './auth';
import { ErrorInterface } from './common';

export const ColumnTypeEnum = builder.enumType('ColumnType', {
  description: 'Storage type of a dataset column.',
  values: {
    INTEGER: { description: 'Whole numbers (bigint).' },
    FLOAT: { description: 'Numbers (double precision).' },
    BOOLEAN: { description: 'true / false.' },
    DATE: { description: 'Calendar dates, "YYYY-MM-DD".' },
    TIMESTAMP: { description: 'Instants, ISO 8601 in UTC.' },
    STRING: { description: 'Free text.' },
    CATEGORY: { description: 'Text with few distinct values (labels, codes).' },
  } as const satisfies Record<ColumnType, { description: string }>,
});

const SensitivityEnum = builder.enumType('Sensitivity', {
  description: 'How sensitive a column is; the access gate masks PII and SECRET columns.',
  values: {
    NONE: { description: 'Not sensitive.' },
    PII: { description: 'Personal data: masked for roles below ADMIN by default.' },
    SECRET: { description: 'Never shown in clear below ADMIN.' },
  } as const satisfies Record<Sensitivity, { description: string }>,
});

export const ColumnRuleEnum = builder.enumType('ColumnRule', {
  description:
    'How a viewer sees a column: CLEAR as stored; MASK as "***"; HASH as a keyed HMAC-SHA256 (equal values stay equal, so joins and distinct counts work); PARTIAL as a hint such as "j***@example.com" or "***1234"; HIDE not at all; AGGREGATE_ONLY only inside aggregates.',
  values: {
    CLEAR: { description: 'As stored.' },
    MASK: { description: 'Shown as "***".' },
    HASH: { description: 'A keyed HMAC-SHA256 of the value: equal values stay equal.' },
    PARTIAL: { description: 'A hint: "j***@example.com", "***1234".' },
    HIDE: { description: 'Not shown at all.' },
    AGGREGATE_ONLY: { description: 'Only inside COUNT, COUNT_DISTINCT, SUM, AVG and STDDEV.' },
  } as const satisfies Record<(typeof COLUMN_RULES)[number], { description: string }>,
});

const FileFormatEnum = builder.enumType('FileFormat', {
  description: 'Format of an uploaded file.',
  values: {
    CSV: { description: 'Comma-separated values with a header row (RFC 4180).' },
    TSV: { description: 'Tab-separated values.' },
    JSON: { description: 'A JSON array of objects.' },
    NDJSON: { description: 'One JSON object per line.' },
  } as const satisfies Record<FileFormat, { description: string }>,
});

builder.objectType(DatasetInputError, {
  name: 'DatasetInputError',
  description: 'The uploaded file could not be loaded; nothing was stored.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof DatasetInputError,
  fields: (t) => ({
    reason: t.exposeString('reason', { description: 'What kind of problem, e.g. RAGGED_ROW.' }),
    line: t.int({
      nullable: true,
      description: 'Line of the file (1-based, header included).',
      resolve: (e) => e.line ?? null,
    }),
    column: t.string({
      nullable: true,
      description: 'Column at fault.',
      resolve: (e) => e.column ?? null,
    }),
  }),
});

const ColumnRef = builder
  .objectRef<ds.DatasetColumn & { rule?: ColumnRule; inClear?: boolean }>('Column')
  .implement({
    description: 'A column of a dataset version.',
    fields: (t) => ({
      name: t.exposeString('name', { description: 'Column name from the file.' }),
      position: t.exposeInt('position', { description: 'Zero-based position.' }),
      type: t.expose('type', { type: ColumnTypeEnum, description: 'Storage type.' }),
      nullable: t.exposeBoolean('nullable', { description: 'Whether any value is missing.' }),
      sensitivity: t.expose('sensitivity', { type: SensitivityEnum, description: 'Sensitivity.' }),
      piiKind: t.exposeString('piiKind', {
        nullable: true,
        description: 'Detected kind of personal data (EMAIL, PHONE, …), if any.',
      }),
      distinctEstimate: t.float({
        nullable: true,
        description:
          'Distinct non-null values (exact to 4096, then estimated within ~2%); null unless you read this column of every row in clear (it would count values and rows you may not see).',
        resolve: (c) => (c.inClear ? c.distinctEstimate : null),
      }),
      access: t.field({
        type: ColumnRuleEnum,
        description:
          'How the access gate shows it to you (never HIDE: hidden columns are left out).',
        resolve: (c) => c.rule ?? 'CLEAR',
      }),
    }),
  });

/** The viewer's access to many versions in one resolution per request. */
const accessLoader = createContextCache(
  (ctx: AuthedContext) =>
    new DataLoader<string, Access | null>(async (ids) => {
      const accesses = await visibility.accessOfVersions(ctx, ids);
      return ids.map((id) => accesses.get(id) ?? null);
    }),
);

/** Whether the viewer reads every column of every row of a version in clear. */
async function readsWholeFile(ctx: object, versionId: string): Promise<boolean> {
  const access = await accessLoader(ctx as AuthedContext).load(versionId);
  return Boolean(
    access &&
      visibility.readsInClear(
        access,
        access.columns.map((c) => c.name),
      ),
  );
}

const RetypedColumn = builder
  .objectRef<{ name: string; from: ds.DatasetColumn['type']; to: ds.DatasetColumn['type'] }>(
    'RetypedColumn',
  )
  .implement({
    description: 'A column whose type changed between two versions.',
    fields: (t) => ({
      name: t.exposeString('name', { description: 'Column name.' }),
      from: t.expose('from', { type: ColumnTypeEnum, description: 'Type in the other version.' }),
      to: t.expose('to', { type: ColumnTypeEnum, description: 'Type in this version.' }),
    }),
  });

const VersionDiff = builder
  .objectRef<ReturnType<typeof diffVersions<ds.DatasetColumn>>>('VersionDiff')
  .implement({
    description: 'How a version differs from another one.',
    fields: (t) => ({
      addedColumns: t.field({
        type: [ColumnRef],
        description: 'Only in this version.',
        resolve: (d) => d.added,
      }),
      removedColumns: t.field({
        type: [ColumnRef],
        description: 'Only in the other version.',
        resolve: (d) => d.removed,
      }),
      retypedColumns: t.field({
        type: [RetypedColumn],
        description: 'In both, with another type.',
        resolve: (d) => d.retyped,
      }),
      rowCountChange: t.float({
        nullable: true,
        description:
          'Rows in this version minus rows in the other (the rows you may see of each); null with aggregate-only access.',
        resolve: (d) => d.rowCountChange,
      }),
    }),
  });

export const DatasetVersionRef = builder.loadableNode('DatasetVersion', {
  description: 'An immutable, fully loaded version of a dataset.',
  id: { resolve: (v: ds.DatasetVersion) => v.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer ? visibility.loadVersions(ctx.db, ctx.viewer, ids) : [],
  sort: (v) => v.id,
  fields: (t) => ({
    number: t.exposeInt('number', { description: 'Version number, from 1.' }),
    rowCount: t.float({
      nullable: true,
      description:
        'Rows loaded — under a row policy, the rows it lets you see; null with aggregate-only access (count with an aggregate).',
      resolve: async (v, _args, ctx) => {
        const access = await accessLoader(ctx as AuthedContext).load(v.id);
        return access ? visibleRowCount(ctx as AuthedContext, { version: v, access }) : null;
      },
    }),
    byteSize: t.float({
      nullable: true,
      description:
        'Size of the uploaded file in bytes; null unless you read every column of every row in clear.',
      resolve: async (v, _args, ctx) => ((await readsWholeFile(ctx, v.id)) ? v.byteSize : null),
    }),
    checksum: t.string({
      nullable: true,
      description:
        'SHA-256 of the uploaded bytes; null unless you read every column of every row in clear (a hash of the file lets a hidden value be guessed and checked).',
      resolve: async (v, _args, ctx) => ((await readsWholeFile(ctx, v.id)) ? v.checksum : null),
    }),
    source: t.exposeString('source', { description: 'Format and file name it came from.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was loaded.' }),
    createdBy: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who uploaded it.',
      resolve: (v) => v.createdBy,
    }),
    diff: t.withAuth({ authenticated: true }).field({
      type: VersionDiff,
      description: 'Columns added, removed and retyped since `against`, and the row-count change.',
      args: {
        against: t.arg.globalID({ required: true, description: 'The version to compare with.' }),
      },
      resolve: async (v, { against }, ctx) => {
        if (against.typename !== 'DatasetVersion')
          throw new InputError('against must be a DatasetVersion ID.', 'against');
        const { base, target } = await ds.versionsForDiff(ctx, against.id, v.id);
        return diffVersions(base, target);
      },
    }),
    columns: t.loadableGroup({
      type: ColumnRef,
      description:
        'Columns in file order, as you may see them: a column a policy hides from you is left out.',
      load: (ids: string[], ctx) => visibility.visibleColumnsOf(ctx, ids),
      group: (column) => column.versionId,
      resolve: (v) => v.id,
    }),
  }),
});

export const DatasetRef = builder.loadableNode('Dataset', {
  description: 'A named table of data with immutable versions.',
  id: { resolve: (d: ds.Dataset) => d.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer ? visibility.loadDatasets(ctx.db, ctx.viewer, ids) : [],
  sort: (d) => d.id,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique name within the organization.' }),
    description: t.exposeString('description', { description: 'What the data is.' }),
    tags: t.exposeStringList('tags', { description: 'Free-form labels.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last change or upload.' }),
    createdBy: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who created it.',
      resolve: (d) => d.createdBy,
    }),
    currentVersion: t.loadable({
      type: DatasetVersionRef,
      nullable: true,
      description: 'The newest version; null before the first upload.',
      load: async (ids: string[], ctx) => {
        const latest = await ds.latestVersionsFor(ctx, ids);
        const byDataset = new Map(latest.map((v) => [v.datasetId, v]));
        return ids.map((id) => byDataset.get(id) ?? null);
      },
      resolve: (d) => d.id,
    }),
    versions: t.loadableGroup({
      type: DatasetVersionRef,
      description: 'All versions, newest first.',
      load: (ids: string[], ctx) => ds.versionsOf(ctx.db, ids),
      group: (v) => (v as ds.DatasetVersion).datasetId,
      resolve: (d) => d.id,
    }),
  }),
});

const name = z.string().trim().min(1, { message: 'must not be empty' }).max(200);

const CreateDatasetInput = builder.inputType('CreateDatasetInput', {
  description: 'A new, empty dataset.',
  fields: (t) => ({
    name: t.string({
      required: true,
      validate: name,
      description: 'Unique within the organization.',
    }),
    description: t.string({ validate: z.string().max(5000), description: 'What the data is.' }),
    tags: t.stringList({ validate: z.array(z.string().max(100)).max(50), description: 'Labels.' }),
  }),
});

const UpdateDatasetInput = builder.inputType('UpdateDatasetInput', {
  description: 'Changes to a dataset; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ validate: name, description: 'New unique name.' }),
    description: t.string({ validate: z.string().max(5000), description: 'New description.' }),
    tags: t.stringList({
      validate: z.array(z.string().max(100)).max(50),
      description: 'New labels.',
    }),
  }),
});

const TypeOverrideInput = builder.inputType('ColumnTypeOverride', {
  description: 'Forces the type of one column.',
  fields: (t) => ({
    column: t.string({ required: true, description: 'Column name as in the file.' }),
    type: t.field({ type: ColumnTypeEnum, required: true, description: 'Type to use.' }),
  }),
});

const SensitivityOverrideInput = builder.inputType('ColumnSensitivityOverride', {
  description: 'Sets the sensitivity of one column instead of the detected one.',
  fields: (t) => ({
    column: t.string({ required: true, description: 'Column name as in the file.' }),
    sensitivity: t.field({ type: SensitivityEnum, required: true, description: 'Sensitivity.' }),
  }),
});

const UploadOptionsInput = builder.inputType('UploadOptions', {
  description: 'How to read an uploaded file.',
  fields: (t) => ({
    format: t.field({
      type: FileFormatEnum,
      description: 'Default: from the file name, else CSV.',
    }),
    delimiter: t.string({
      validate: z.string().length(1, { message: 'must be one character' }),
      description: 'Field delimiter for CSV (default ",") or TSV (default tab).',
    }),
    header: t.boolean({ description: 'First row names the columns (default true).' }),
    typeOverrides: t.field({
      type: [TypeOverrideInput],
      description: 'Types that win over inference.',
    }),
    sensitivityOverrides: t.field({
      type: [SensitivityOverrideInput],
      description: 'Sensitivities that win over PII detection.',
    }),
  }),
});

const UploadUrl = builder
  .objectRef<{ url: string; versionId: string; expiresAt: Date }>('UploadUrl')
  .implement({
    description:
      'Where to PUT a file: `curl -T flights.csv "<url>"`. The answer is 201 with the new version as JSON, or a JSON error with its code.',
    fields: (t) => ({
      url: t.exposeString('url', { description: 'Signed URL; single use.' }),
      method: t.string({ description: 'Always PUT.', resolve: () => 'PUT' }),
      versionId: t.id({
        description: 'ID the version will have once loaded.',
        resolve: (u) => encodeGlobalID('DatasetVersion', u.versionId),
      }),
      expiresAt: t.expose('expiresAt', {
        type: 'DateTime',
        description: 'The upload must start before this time.',
      }),
    }),
  });

const errors = { types: [InputError, ConflictError, NotFoundError, DatasetInputError] };

builder.queryFields((t) => ({
  datasets: t.withAuth({ authenticated: true }).connection({
    type: DatasetRef,
    description: "The organization's datasets, by name.",
    resolve: (_root, args, ctx) =>
      resolveOffsetConnection({ args }, (page) => ds.listDatasets(ctx, page)),
  }),
  dataset: t.withAuth({ authenticated: true }).field({
    type: DatasetRef,
    nullable: true,
    description: 'One dataset by ID; null when not visible.',
    args: { id: t.arg.globalID({ for: [DatasetRef], required: true }) },
    resolve: (_root, { id }) => id.id,
  }),
}));

builder.mutationFields((t) => ({
  createDataset: t.withAuth({ role: 'ANALYST' }).field({
    type: DatasetRef,
    description: 'Creates an empty dataset (analysts and up).',
    errors: { ...errors, directResult: true },
    args: { input: t.arg({ type: CreateDatasetInput, required: true }) },
    resolve: (_root, { input }, ctx) => ds.createDataset(ctx, input),
  }),
  uploadDatasetVersion: t.withAuth({ role: 'ANALYST' }).field({
    type: DatasetVersionRef,
    description:
      'Loads a CSV, TSV, JSON or NDJSON file (GraphQL multipart request) as a new version. All or nothing: a bad row anywhere leaves no version behind.',
    errors: { ...errors, directResult: true },
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      file: t.arg({ type: 'File', required: true }),
      options: t.arg({ type: UploadOptionsInput }),
    },
    resolve: (_root, args, ctx) =>
      ds.uploadVersion(ctx, {
        datasetId: args.datasetId.id,
        filename: args.file.name ?? 'upload',
        source: args.file.stream() as unknown as AsyncIterable<Uint8Array>,
        totalBytes: args.file.size,
        options: args.options,
      }),
  }),
  createUploadUrl: t.withAuth({ role: 'ANALYST' }).field({
    type: UploadUrl,
    description:
      'Signs a single-use URL to PUT a large file to; the server streams the body straight into a new version (no size limit but PESO_MAX_UPLOAD_MB, nothing buffered). Follow it with `datasetIngestion(versionId:)`.',
    errors: { ...errors, directResult: true },
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      filename: t.arg.string({
        required: true,
        description: 'Name of the file; its extension picks the format unless options say.',
      }),
      options: t.arg({ type: UploadOptionsInput }),
    },
    resolve: async (_root, args, ctx) => {
      const { upload, url } = await uploads.createUploadUrl(ctx, {
        datasetId: args.datasetId.id,
        filename: args.filename,
        options: args.options,
        origin: ctx.origin,
      });
      return { url, versionId: upload.id, expiresAt: upload.expiresAt };
    },
  }),
  updateDataset: t.withAuth({ role: 'ANALYST' }).field({
    type: DatasetRef,
    description: "Changes a dataset's name, description or tags (analysts and up).",
    errors: { ...errors, directResult: true },
    args: {
      id: t.arg.globalID({ for: [DatasetRef], required: true }),
      input: t.arg({ type: UpdateDatasetInput, required: true }),
    },
    resolve: (_root, { id, input }, ctx) => ds.updateDataset(ctx, { datasetId: id.id, ...input }),
  }),
  deleteDataset: t.withAuth({ role: 'ADMIN' }).field({
    type: DatasetRef,
    description: 'Deletes a dataset with all its versions and rows (admins).',
    errors: { ...errors, directResult: true },
    args: { id: t.arg.globalID({ for: [DatasetRef], required: true }) },
    resolve: (_root, { id }, ctx) => ds.deleteDataset(ctx, id.id),
  }),
  setColumnSensitivity: t.withAuth({ role: 'ADMIN' }).field({
    type: DatasetRef,
    description: 'Sets the sensitivity of a column in every version of a dataset (admins).',
    errors: { ...errors, directResult: true },
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      column: t.arg.string({ required: true }),
      sensitivity: t.arg({ type: SensitivityEnum, required: true }),
    },
    resolve: (_root, args, ctx) =>
      ds.setColumnSensitivity(ctx, {
        datasetId: args.datasetId.id,
        column: args.column,
        sensitivity: args.sensitivity,
      }),
  }),
}));

const IngestionStatusEnum = builder.enumType('IngestionStatus', {
  description: 'Where an upload stands.',
  values: {
    LOADING: { description: 'Rows are being loaded.' },
    READY: { description: 'The version is loaded and visible.' },
    FAILED: { description: 'The upload failed; nothing was stored.' },
  } as const satisfies Record<IngestionEvent['status'], { description: string }>,
});

const IngestionProgress = builder.objectRef<IngestionEvent>('IngestionProgress').implement({
  description: 'Progress of an upload into a dataset.',
  fields: (t) => ({
    datasetId: t.id({
      description: 'The dataset.',
      resolve: (e) => encodeGlobalID('Dataset', e.datasetId),
    }),
    versionId: t.id({
      description: 'The version being loaded (it exists once READY).',
      resolve: (e) => encodeGlobalID('DatasetVersion', e.versionId),
    }),
    status: t.field({
      type: IngestionStatusEnum,
      description: 'Status.',
      resolve: (e) => e.status,
    }),
    rows: t.float({
      nullable: true,
      description:
        'Rows processed so far; null for a caller under a row filter or aggregate-only access.',
      resolve: async (e, _args, ctx) => ((await mayCount(ctx, e)) ? e.rows : null),
    }),
    bytes: t.float({
      nullable: true,
      description:
        'Bytes read so far; null for a caller under a row filter or aggregate-only access.',
      resolve: async (e, _args, ctx) => ((await mayCount(ctx, e)) ? e.bytes : null),
    }),
    totalBytes: t.float({
      nullable: true,
      description:
        'Size of the upload, when known; null for a caller under a row filter or aggregate-only access.',
      resolve: async (e, _args, ctx) => ((await mayCount(ctx, e)) ? e.totalBytes : null),
    }),
    percent: t.float({
      nullable: true,
      description: 'Bytes read as a percentage of the upload size, when known.',
      resolve: (e) =>
        e.status === 'READY'
          ? 100
          : e.totalBytes
            ? Math.min(100, (100 * e.bytes) / e.totalBytes)
            : null,
    }),
    rowsPerSecond: t.float({
      nullable: true,
      description:
        'Average load rate so far; null for a caller under a row filter or aggregate-only access.',
      resolve: async (e, _args, ctx) => ((await mayCount(ctx, e)) ? e.rowsPerSecond : null),
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed, for FAILED.' }),
  }),
});

builder.subscriptionFields((t) => ({
  datasetIngestion: t.withAuth({ authenticated: true }).field({
    type: IngestionProgress,
    description:
      'Upload progress: LOADING events at most every 250 ms, then READY or FAILED. With `versionId` (from `createUploadUrl`), follows that one upload — starting with its current state if it already ended — and completes after its terminal event; with `datasetId`, every upload into the dataset.',
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef] }),
      versionId: t.arg.globalID({ for: [DatasetVersionRef] }),
    },
    subscribe: async (_root, { datasetId, versionId }, ctx) => {
      if ((datasetId == null) === (versionId == null))
        throw new InputError('Give exactly one of datasetId and versionId.', 'datasetId');
      if (datasetId) {
        const dataset = await visibility.findDataset(ctx, datasetId.id);
        return openStream(ctx, {
          source: ctx.events.subscribe(`datasetIngestion:${dataset.id}`),
          access: datasetAccess(dataset.id),
        });
      }
      // One upload: its current state first (an upload that already ended is answered at once).
      const state = await uploads.uploadState(ctx, versionId!.id);
      if (!state) throw new NotFoundError('DatasetVersion');
      return openStream(ctx, {
        source: ctx.events.subscribe(`datasetIngestion:${state.datasetId}`),
        current: async () =>
          state.terminal ?? (await uploads.uploadState(ctx, versionId!.id))?.terminal ?? null,
        accept: (e) => e.versionId === versionId!.id,
        access: {
          resource: `upload:${versionId!.id}`,
          // A failed batch prediction removes the dataset made for it: its run still shows.
          check: async (c: AuthedContext) =>
            (await visibility.findDataset(c, state.datasetId).then(
              () => true,
              () => false,
            )) || predictionVisible(c, versionId!.id),
        },
        terminal: (e) => e.status !== 'LOADING',
      });
    },
    resolve: (event) => event,
  }),
}));

/** Per subscriber context and event: whether its counts may be shown (one check for all fields). */
const counting = new WeakMap<object, WeakMap<IngestionEvent, Promise<boolean>>>();

function mayCount(ctx: AppContext, event: IngestionEvent): Promise<boolean> {
  if (!ctx.viewer) return Promise.resolve(false);
  let byEvent = counting.get(ctx);
  if (!byEvent) {
    byEvent = new WeakMap();
    counting.set(ctx, byEvent);
  }
  let allowed = byEvent.get(event);
  if (!allowed) {
    allowed = visibility.countsRowsOf(ctx as AuthedContext, event.datasetId);
    byEvent.set(event, allowed);
  }
  return allowed;
}

/** What an ingestion event needs: the dataset, visible to the subscriber as its rights are now. */
function datasetAccess(datasetId: string) {
  return {
    resource: `dataset:${datasetId}`,
    check: (ctx: AuthedContext) => visibility.findDataset(ctx, datasetId),
  };
}
