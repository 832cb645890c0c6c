/** Query.datasetQuery · Query.searchDataset · Query.askDataset · Query.savedQueries · Query.runSavedQuery · Query.queryHistory · Mutation.exportQuery · Mutation.createDatasetVersionFromQuery · Mutation.saveQuery · Mutation.deleteSavedQuery */

import { createContextCache } from '@pothos/core';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import DataLoader from 'dataloader';
import type {
  ParameterType,
  QueryHistoryEntry,
  QueryVisibility,
  SavedQuery as SavedQueryRow,
} from '../db/schema/queries';
import { builder } from '../schema/builder';
import { cursorOf, type GatedResult, gatedQuery, gatedSearch, openGate } from '../src/access/gate';
import type {
  Aggregate,
  AggregateFunction,
  Filter,
  GroupBy,
  OrderBy,
  QueryInput,
  TimeBucket,
} from '../src/access/language';
import { bindParameters } from '../src/access/parameters';
import type { AuthedContext } from '../src/context';
import { ConflictError, InputError, NotFoundError } from '../src/errors';
import { type AskResult, askDataset } from '../src/query/ask';
import { createExport } from '../src/query/export';
import { materializeQuery } from '../src/query/materialize';
import * as saved from '../src/query/saved';
import { listHistory } from '../src/query/service';
import { UserRef } from './auth';
import { ColumnRuleEnum, ColumnTypeEnum, DatasetRef, DatasetVersionRef } from './datasets';

const AggregateFunctionEnum = builder.enumType('AggregateFunction', {
  description: 'An aggregate over the rows of each group.',
  values: {
    COUNT: { description: 'Rows (without a column) or non-null values (with one).' },
    COUNT_DISTINCT: { description: 'Distinct non-null values.' },
    SUM: { description: 'Sum (INTEGER stays INTEGER).' },
    AVG: { description: 'Mean.' },
    MIN: { description: 'Smallest value.' },
    MAX: { description: 'Largest value.' },
    MEDIAN: { description: 'Median (continuous).' },
    STDDEV: { description: 'Sample standard deviation.' },
    PERCENTILE: { description: 'Continuous percentile; give `percentile` between 0 and 1.' },
  } as const satisfies Record<AggregateFunction, { description: string }>,
});

export const TimeBucketEnum = builder.enumType('TimeBucket', {
  description: 'Truncates a DATE or TIMESTAMP column to the start of its day, week or month.',
  values: {
    DAY: { description: 'Calendar day (UTC).' },
    WEEK: { description: 'ISO week, starting Monday (UTC).' },
    MONTH: { description: 'Calendar month (UTC).' },
  } as const satisfies Record<TimeBucket, { description: string }>,
});

const SortDirectionEnum = builder.enumType('SortDirection', {
  description: 'Ascending puts nulls first; descending puts them last.',
  values: {
    ASC: { description: 'Smallest first, nulls first.' },
    DESC: { description: 'Largest first, nulls last.' },
  } as const,
});

export const FilterInput = builder.inputRef<Filter>('Filter').implement({
  description:
    'A condition on rows: exactly one of `and`, `or`, `not`, or a `column` with one operator. Values are JSON scalars checked against the column type (dates as "YYYY-MM-DD", timestamps ISO 8601).',
  fields: (t) => ({
    and: t.field({ type: [FilterInput], description: 'All of these hold.' }),
    or: t.field({ type: [FilterInput], description: 'Any of these holds.' }),
    not: t.field({ type: FilterInput, description: 'This does not hold.' }),
    column: t.string({ description: 'The column (or, in `having`, the output) to test.' }),
    eq: t.field({ type: 'JSON', description: 'Equal to.' }),
    ne: t.field({ type: 'JSON', description: 'Not equal to (nulls never match).' }),
    lt: t.field({ type: 'JSON', description: 'Less than.' }),
    lte: t.field({ type: 'JSON', description: 'Less than or equal to.' }),
    gt: t.field({ type: 'JSON', description: 'Greater than.' }),
    gte: t.field({ type: 'JSON', description: 'Greater than or equal to.' }),
    in: t.field({ type: ['JSON'], description: 'One of these (at most 10,000).' }),
    notIn: t.field({ type: ['JSON'], description: 'None of these (at most 10,000).' }),
    contains: t.string({ description: 'Text contains this, ignoring case.' }),
    startsWith: t.string({ description: 'Text starts with this.' }),
    isNull: t.boolean({ description: 'true: is missing; false: is present.' }),
    between: t.field({ type: ['JSON'], description: 'Between two values, inclusive.' }),
  }),
});

const GroupByInput = builder.inputRef<GroupBy>('GroupBy').implement({
  description: 'A column to group by, optionally bucketed by time.',
  fields: (t) => ({
    column: t.string({ required: true, description: 'Column to group by.' }),
    timeBucket: t.field({ type: TimeBucketEnum, description: 'For DATE/TIMESTAMP columns.' }),
    as: t.string({ description: 'Output name; defaults to the column name.' }),
  }),
});

const AggregateInput = builder.inputRef<Aggregate>('Aggregate').implement({
  description: 'An aggregate to compute per group (or over all rows without groupBy).',
  fields: (t) => ({
    function: t.field({ type: AggregateFunctionEnum, required: true, description: 'Function.' }),
    column: t.string({ description: 'Column; leave out with COUNT to count rows.' }),
    percentile: t.float({ description: 'For PERCENTILE: between 0 and 1.' }),
    as: t.string({ description: 'Output name; defaults to e.g. "avg_delay" or "count".' }),
  }),
});

const OrderByInput = builder.inputRef<OrderBy>('OrderBy').implement({
  description: 'A sort key.',
  fields: (t) => ({
    column: t.string({
      required: true,
      description: 'A column for row queries; an output name for grouped queries.',
    }),
    direction: t.field({ type: SortDirectionEnum, description: 'Default ASC.' }),
  }),
});

export const QueryInputRef = builder.inputRef<QueryInput>('DatasetQueryInput').implement({
  description:
    'A query over one dataset version. Without groupBy/aggregates it returns rows; with them, one row per group with group columns then aggregates.',
  fields: (t) => ({
    select: t.stringList({ description: 'Columns of a row query; default all you may read.' }),
    where: t.field({ type: FilterInput, description: 'Rows to keep.' }),
    groupBy: t.field({ type: [GroupByInput], description: 'Group columns.' }),
    aggregates: t.field({ type: [AggregateInput], description: 'Aggregates per group.' }),
    having: t.field({ type: FilterInput, description: 'Groups to keep, by output name.' }),
    orderBy: t.field({ type: [OrderByInput], description: 'Sort keys, in order.' }),
  }),
});

const ResultColumn = builder.objectRef<GatedResult['columns'][number]>('ResultColumn').implement({
  description: 'A column of a query result.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Key of this column in each row.' }),
    type: t.field({
      type: ColumnTypeEnum,
      description: 'Type of its values (STRING for masked columns).',
      resolve: (c) => c.type,
    }),
    masked: t.exposeBoolean('masked', {
      description: 'Values are shown masked, hashed or partial rather than in clear.',
    }),
    rule: t.field({
      type: ColumnRuleEnum,
      nullable: true,
      description: 'Rule applied to the stored column behind it; null for computed outputs.',
      resolve: (c) => c.rule,
    }),
  }),
});

export const ResultPageInfo = builder
  .objectRef<{ hasNextPage: boolean; endCursor: string | null }>('ResultPageInfo')
  .implement({
    description: 'Where this page ends.',
    fields: (t) => ({
      hasNextPage: t.exposeBoolean('hasNextPage', { description: 'More rows follow.' }),
      endCursor: t.exposeString('endCursor', {
        nullable: true,
        description: 'Pass as `after` for the next page.',
      }),
    }),
  });

export const QueryResultRef = builder
  .objectRef<GatedResult & { versionId: string }>('QueryResult')
  .implement({
    description: 'Rows (or groups) a query returned, through the access gate.',
    fields: (t) => ({
      columns: t.field({
        type: [ResultColumn],
        description: 'Output columns in order.',
        resolve: (r) => r.columns,
      }),
      rows: t.field({
        type: ['JSONObject'],
        description: 'This page of rows, keyed by column name.',
        resolve: (r) => r.rows,
      }),
      totalCount: t.int({
        description: 'Rows (or groups) the query matches in all, within your access.',
        resolve: (r) => r.totalCount(),
      }),
      pageInfo: t.field({
        type: ResultPageInfo,
        description: 'Paging.',
        resolve: (r) => ({
          hasNextPage: r.hasNextPage,
          endCursor: r.rows.length ? cursorOf(r, r.rows.length - 1) : null,
        }),
      }),
      version: t.field({
        type: DatasetVersionRef,
        description: 'The version queried.',
        resolve: (r) => r.versionId,
      }),
    }),
  });

const errors = { types: [InputError, NotFoundError], directResult: true as const };

builder.queryFields((t) => ({
  datasetQuery: t.withAuth({ authenticated: true }).field({
    type: QueryResultRef,
    description:
      'Filters, sorts, groups and aggregates one version of a dataset (the newest unless `version` says), within your access: rows outside your policy do not exist, masked columns come back masked, and filtering, sorting, grouping or aggregating on a column you cannot read in clear is FORBIDDEN.',
    errors: { ...errors },
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      version: t.arg.int({ description: 'Version number; default the newest.' }),
      input: t.arg({ type: QueryInputRef, required: true }),
      first: t.arg.int({ description: 'Page size (default 100, at most 10,000).' }),
      after: t.arg.string({ description: 'Cursor from pageInfo.endCursor.' }),
    },
    resolve: async (_root, args, ctx) => {
      const started = performance.now();
      const gate = await openGate(ctx, { datasetId: args.datasetId.id, version: args.version });
      const result = await gatedQuery(ctx, gate, args.input, args, {
        history: { kind: 'QUERY', input: args.input, started },
      });
      return { ...result, versionId: gate.version.id };
    },
  }),
  searchDataset: t.withAuth({ authenticated: true }).field({
    type: QueryResultRef,
    description:
      'Full-text search over the text columns you may read in clear, best matches first. Every word must match (prefix-free, case-insensitive).',
    errors: { ...errors },
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      version: t.arg.int({ description: 'Version number; default the newest.' }),
      text: t.arg.string({ required: true, description: 'Words to look for.' }),
      first: t.arg.int({ description: 'Page size (default 100, at most 10,000).' }),
      after: t.arg.string({ description: 'Cursor from pageInfo.endCursor.' }),
    },
    resolve: async (_root, args, ctx) => {
      const started = performance.now();
      const gate = await openGate(ctx, { datasetId: args.datasetId.id, version: args.version });
      const result = await gatedSearch(ctx, gate, args.text, args, {
        kind: 'SEARCH',
        input: { search: args.text },
        started,
      });
      return { ...result, versionId: gate.version.id };
    },
  }),
}));

const ExportFormatEnum = builder.enumType('ExportFormat', {
  description: 'File format of an export.',
  values: {
    CSV: { description: 'RFC 4180 CSV with a header row.' },
    NDJSON: { description: 'One JSON object per line.' },
  } as const,
});

const ExportLink = builder
  .objectRef<{ url: string; expiresAt: Date; versionId: string }>('ExportLink')
  .implement({
    description: 'A short-lived link that streams a query result: `curl -o out.csv "<url>"`.',
    fields: (t) => ({
      url: t.exposeString('url', { description: 'GET it before it expires.' }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops working.' }),
      version: t.field({
        type: DatasetVersionRef,
        description: 'The version it reads (pinned when the link was made).',
        resolve: (e) => e.versionId,
      }),
    }),
  });

builder.mutationFields((t) => ({
  exportQuery: t.withAuth({ authenticated: true }).field({
    type: ExportLink,
    description:
      'Signs a 10-minute link to every row (or group) of a query as CSV or NDJSON, streamed through the access gate with masking applied. The download re-checks your rights.',
    errors: { ...errors },
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      version: t.arg.int({ description: 'Version number; default the newest.' }),
      input: t.arg({ type: QueryInputRef, required: true }),
      format: t.arg({ type: ExportFormatEnum, required: true }),
    },
    resolve: (_root, args, ctx) =>
      createExport(ctx, {
        datasetId: args.datasetId.id,
        version: args.version,
        query: args.input,
        format: args.format,
      }),
  }),
}));

builder.mutationFields((t) => ({
  createDatasetVersionFromQuery: t.withAuth({ role: 'ANALYST' }).field({
    type: DatasetVersionRef,
    description:
      'Writes every row (or group) of a query, as you see it through the gate, as a new version of a dataset: an existing one (targetDatasetId) or a new one (newDatasetName). Masked columns are stored masked. All or nothing.',
    errors: { types: [InputError, NotFoundError, ConflictError], directResult: true },
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      version: t.arg.int({ description: 'Source version number; default the newest.' }),
      input: t.arg({ type: QueryInputRef, required: true }),
      targetDatasetId: t.arg.globalID({ for: [DatasetRef], description: 'Dataset to add to.' }),
      newDatasetName: t.arg.string({ description: 'Name of a new dataset to create.' }),
    },
    resolve: (_root, args, ctx) =>
      materializeQuery(ctx, {
        datasetId: args.datasetId.id,
        version: args.version,
        query: args.input,
        targetDatasetId: args.targetDatasetId?.id,
        newDatasetName: args.newDatasetName,
      }),
  }),
}));

const ParameterTypeEnum = builder.enumType('ParameterType', {
  description: 'Type of a saved-query parameter.',
  values: {
    STRING: { description: 'Text.' },
    INTEGER: { description: 'Whole number.' },
    FLOAT: { description: 'Number.' },
    BOOLEAN: { description: 'true or false.' },
    DATE: { description: '"YYYY-MM-DD".' },
    TIMESTAMP: { description: 'ISO 8601 date and time.' },
  } as const satisfies Record<ParameterType, { description: string }>,
});

const VisibilityEnum = builder.enumType('QueryVisibility', {
  description: 'Who sees a saved query.',
  values: {
    ORG: { description: 'Everyone in the organization who can see its dataset.' },
    PRIVATE: { description: 'Only you.' },
  } as const satisfies Record<QueryVisibility, { description: string }>,
});

const SavedQueryParameter = builder
  .objectRef<SavedQueryRow['parameters'][number]>('SavedQueryParameter')
  .implement({
    description: 'A named, typed parameter; the query refers to it as "$params.<name>".',
    fields: (t) => ({
      name: t.exposeString('name', { description: 'Name.' }),
      type: t.field({ type: ParameterTypeEnum, description: 'Type.', resolve: (p) => p.type }),
      required: t.exposeBoolean('required', { description: 'Must be given (unless defaulted).' }),
      default: t.field({
        type: 'JSON',
        nullable: true,
        description: 'Value when not given.',
        resolve: (p) => p.default,
      }),
    }),
  });

/** Which saved queries' text the viewer may read, decided together once per request. */
const readableLoader = createContextCache(
  (ctx: AuthedContext) =>
    new DataLoader<SavedQueryRow, boolean, string>(
      async (queries) => {
        const readable = await saved.readableQueries(ctx, queries);
        return queries.map((q) => readable.has(q.id));
      },
      { cacheKeyFn: (q) => q.id },
    ),
);

const SavedQueryRef = builder.objectRef<SavedQueryRow>('SavedQuery').implement({
  description: 'A named query over a dataset, with typed parameters, shared or private.',
  fields: (t) => ({
    id: t.id({ description: 'Global ID.', resolve: (q) => encodeGlobalID('SavedQuery', q.id) }),
    name: t.exposeString('name', { description: 'Name.' }),
    description: t.exposeString('description', { description: 'What it answers.' }),
    dataset: t.field({ type: DatasetRef, description: 'Dataset.', resolve: (q) => q.datasetId }),
    query: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'The DatasetQueryInput, with "$params.<name>" placeholders; null (withheld) when it filters, groups or sorts on a column you cannot read in clear, or names one a policy hides from you. Its owner always sees it.',
      resolve: async (q, _args, ctx) =>
        (await readableLoader(ctx as AuthedContext).load(q)) ? q.query : null,
    }),
    parameters: t.field({
      type: [SavedQueryParameter],
      description: 'Parameters (their defaults null where the query is withheld).',
      resolve: async (q, _args, ctx) =>
        (await readableLoader(ctx as AuthedContext).load(q))
          ? q.parameters
          : q.parameters.map((p) => ({ ...p, default: null })),
    }),
    visibility: t.field({
      type: VisibilityEnum,
      description: 'Who sees it.',
      resolve: (q) => q.visibility,
    }),
    owner: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who saved it.',
      resolve: (q) => q.ownerId,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was saved.' }),
  }),
});

const ParameterInput = builder.inputType('SavedQueryParameterInput', {
  description: 'Declares a parameter.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Name (letters, digits, _).' }),
    type: t.field({ type: ParameterTypeEnum, required: true, description: 'Type.' }),
    required: t.boolean({ description: 'Default true.' }),
    default: t.field({ type: 'JSON', description: 'Value when not given.' }),
  }),
});

const SaveQueryInput = builder.inputType('SaveQueryInput', {
  description: 'A query to save.',
  fields: (t) => ({
    datasetId: t.globalID({ for: [DatasetRef], required: true, description: 'Dataset.' }),
    name: t.string({ required: true, description: 'Name.' }),
    description: t.string({ description: 'What it answers.' }),
    query: t.field({
      type: QueryInputRef,
      required: true,
      description: 'The query; filter values may be "$params.<name>".',
    }),
    parameters: t.field({ type: [ParameterInput], description: 'Parameters it uses.' }),
    visibility: t.field({ type: VisibilityEnum, description: 'Default ORG.' }),
  }),
});

const HistoryEntry = builder.objectRef<QueryHistoryEntry>('QueryHistoryEntry').implement({
  description: 'A query you ran.',
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'QUERY, SEARCH, SAVED_QUERY or ASK.' }),
    dataset: t.field({
      type: DatasetRef,
      nullable: true,
      description: 'Dataset.',
      resolve: (h) => h.datasetId,
    }),
    query: t.field({ type: 'JSON', description: 'What was asked.', resolve: (h) => h.query }),
    rowCount: t.exposeInt('rowCount', { description: 'Rows returned.' }),
    ms: t.exposeInt('ms', { description: 'Time taken in milliseconds.' }),
    at: t.expose('at', { type: 'DateTime', description: 'When.' }),
  }),
});

const AskAnswer = builder.objectRef<AskResult>('AskAnswer').implement({
  description: 'A question answered by a query the model proposed and the gate ran.',
  fields: (t) => ({
    question: t.exposeString('question', { description: 'The question.' }),
    query: t.field({
      type: 'JSON',
      description: 'The DatasetQueryInput that ran.',
      resolve: (a) => a.query,
    }),
    explanation: t.exposeString('explanation', { description: 'What the query does.' }),
    cached: t.exposeBoolean('cached', { description: 'Answered from the cache.' }),
    result: t.field({ type: QueryResultRef, description: 'Its rows.', resolve: (a) => a.result }),
  }),
});

function savedQueryId(id: string | number): string {
  try {
    const decoded = decodeGlobalID(String(id));
    if (decoded.typename === 'SavedQuery' && /^[0-9a-f-]{36}$/i.test(decoded.id)) return decoded.id;
  } catch {}
  throw new InputError('Not a SavedQuery ID.', 'id');
}

builder.queryFields((t) => ({
  askDataset: t.withAuth({ authenticated: true }).field({
    type: AskAnswer,
    description:
      'Answers a question in plain language: the model (OPENAI_*) proposes a query in Peso’s query language from the column names and types you may read (never values, never SQL), and it runs through the access gate as you. LLM_NOT_CONFIGURED without OPENAI_API_KEY.',
    errors: { ...errors },
    args: {
      datasetId: t.arg.globalID({ for: [DatasetRef], required: true }),
      version: t.arg.int({ description: 'Version number; default the newest.' }),
      question: t.arg.string({ required: true, description: 'The question.' }),
    },
    resolve: async (_root, args, ctx) => {
      const started = performance.now();
      const answer = await askDataset(ctx, {
        datasetId: args.datasetId.id,
        question: args.question,
        version: args.version,
        started,
      });
      return answer;
    },
  }),
  savedQueries: t.withAuth({ authenticated: true }).field({
    type: [SavedQueryRef],
    description: 'Saved queries you can see, by name (optionally of one dataset).',
    args: { datasetId: t.arg.globalID({ for: [DatasetRef] }) },
    resolve: (_root, args, ctx) => saved.listSavedQueries(ctx, args.datasetId?.id ?? null),
  }),
  runSavedQuery: t.withAuth({ authenticated: true }).field({
    type: QueryResultRef,
    description: 'Runs a saved query with arguments for its parameters, through the gate as you.',
    errors: { ...errors },
    args: {
      id: t.arg.id({ required: true, description: 'SavedQuery ID.' }),
      params: t.arg({ type: 'JSONObject', description: 'Arguments by parameter name.' }),
      version: t.arg.int({ description: 'Version number; default the newest.' }),
      first: t.arg.int({ description: 'Page size (default 100, at most 10,000).' }),
      after: t.arg.string({ description: 'Cursor from pageInfo.endCursor.' }),
    },
    resolve: async (_root, args, ctx) => {
      const started = performance.now();
      const q = await saved.findSavedQuery(ctx, savedQueryId(args.id));
      const input = bindParameters(q.query as QueryInput, q.parameters, args.params ?? {});
      const gate = await openGate(ctx, { datasetId: q.datasetId, version: args.version });
      const result = await gatedQuery(ctx, gate, input, args, {
        action: 'SAVED_QUERY',
        history: {
          kind: 'SAVED_QUERY',
          input: { savedQuery: q.id, params: args.params ?? {} },
          started,
        },
      });
      return { ...result, versionId: gate.version.id };
    },
  }),
  queryHistory: t.withAuth({ authenticated: true }).field({
    type: [HistoryEntry],
    description: 'Your own recent queries, newest first.',
    args: {
      first: t.arg.int({ description: 'How many (default 50, at most 500).' }),
      before: t.arg({ type: 'DateTime', description: 'Only runs before this time (paging).' }),
    },
    resolve: (_root, args, ctx) => {
      const first = args.first ?? 50;
      if (first < 1 || first > 500)
        throw new InputError('first must be between 1 and 500.', 'first');
      return listHistory(ctx, { first, before: args.before ?? null });
    },
  }),
}));

builder.mutationFields((t) => ({
  saveQuery: t.withAuth({ authenticated: true }).field({
    type: SavedQueryRef,
    description: 'Saves a query with named, typed parameters, for the org or just you.',
    errors: { ...errors },
    args: { input: t.arg({ type: SaveQueryInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      saved.saveQuery(ctx, {
        datasetId: input.datasetId.id,
        name: input.name,
        description: input.description,
        query: input.query,
        parameters: input.parameters,
        visibility: input.visibility,
      }),
  }),
  deleteSavedQuery: t.withAuth({ authenticated: true }).field({
    type: SavedQueryRef,
    description: 'Deletes a saved query (its owner or an admin).',
    errors: { ...errors },
    args: { id: t.arg.id({ required: true, description: 'SavedQuery ID.' }) },
    resolve: (_root, { id }, ctx) => saved.deleteSavedQuery(ctx, savedQueryId(id)),
  }),
}));
