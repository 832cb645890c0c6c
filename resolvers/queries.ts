/** Query.datasetQuery · Query.searchDataset */
import { builder } from '../schema/builder';
import { cursorOf, type GatedResult, gatedQuery, gatedSearch, openGate } from '../src/access/gate';
import { COLUMN_RULES } from '../src/access/policy';
import { InputError, NotFoundError } from '../src/errors';
import {
  AGGREGATE_FUNCTIONS,
  type Aggregate,
  type Filter,
  type GroupBy,
  type OrderBy,
  type QueryInput,
  TIME_BUCKETS,
} from '../src/query/language';
import { recordHistory } from '../src/query/service';
import { ColumnTypeEnum, DatasetRef, DatasetVersionRef } from './datasets';

export const ColumnRuleEnum = builder.enumType('ColumnRule', {
  description:
    'How a viewer sees a column: CLEAR as stored; MASK as "***"; HASH as a keyed HMAC-SHA256 (equal values stay equal, so joins and distinct counts work); PARTIAL as a hint such as "j***@example.com" or "***1234"; HIDE not at all; AGGREGATE_ONLY only inside aggregates.',
  values: COLUMN_RULES,
});

const AggregateFunctionEnum = builder.enumType('AggregateFunction', {
  description: 'An aggregate over the rows of each group.',
  values: AGGREGATE_FUNCTIONS,
});

const TimeBucketEnum = builder.enumType('TimeBucket', {
  description: 'Truncates a DATE or TIMESTAMP column to the start of its day, week or month.',
  values: TIME_BUCKETS,
});

const SortDirectionEnum = builder.enumType('SortDirection', {
  description: 'Ascending puts nulls first; descending puts them last.',
  values: ['ASC', 'DESC'] as const,
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
      const result = await gatedQuery(ctx, gate, args.input, args);
      await recordHistory(ctx, gate, 'QUERY', args.input, result.rows.length, started);
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
      const result = await gatedSearch(ctx, gate, args.text, args);
      await recordHistory(ctx, gate, 'SEARCH', { search: args.text }, result.rows.length, started);
      return { ...result, versionId: gate.version.id };
    },
  }),
}));
