import { z } from 'zod';

/**
 * Peso's query language: one JSON shape shared by `datasetQuery`, saved queries, row policies
 * and the natural-language planner. It names columns and values, never SQL.
 */

export type Scalar = string | number | boolean;

/** Either a combination (`and`, `or`, `not`) or a leaf naming a `column` and one operator. */
export interface Filter {
  and?: Filter[] | null;
  or?: Filter[] | null;
  not?: Filter | null;
  column?: string | null;
  /** Values arrive as JSON; the compiler checks each against its column's type. */
  eq?: unknown;
  ne?: unknown;
  lt?: unknown;
  lte?: unknown;
  gt?: unknown;
  gte?: unknown;
  in?: unknown[] | null;
  notIn?: unknown[] | null;
  contains?: string | null;
  startsWith?: string | null;
  isNull?: boolean | null;
  between?: unknown[] | null;
}

export const COMPARISONS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'] as const;
export const OPERATORS = [
  ...COMPARISONS,
  'in',
  'notIn',
  'contains',
  'startsWith',
  'isNull',
  'between',
] as const;
export type Operator = (typeof OPERATORS)[number];

export const AGGREGATE_FUNCTIONS = [
  'COUNT',
  'COUNT_DISTINCT',
  'SUM',
  'AVG',
  'MIN',
  'MAX',
  'MEDIAN',
  'STDDEV',
  'PERCENTILE',
] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

export const TIME_BUCKETS = ['DAY', 'WEEK', 'MONTH'] as const;
export type TimeBucket = (typeof TIME_BUCKETS)[number];

export interface GroupBy {
  column: string;
  timeBucket?: TimeBucket | null;
  /**
   * IANA time zone whose calendar a TIMESTAMP column is bucketed in (default UTC); DATE columns
   * are calendar days already.
   */
  timeZone?: string | null;
  /** Output name; defaults to the column name. */
  as?: string | null;
}

export interface Aggregate {
  function: AggregateFunction;
  /** Absent only for COUNT, which then counts rows. */
  column?: string | null;
  /** For PERCENTILE: between 0 and 1. */
  percentile?: number | null;
  /** Output name; defaults to e.g. `avg_delay` or `count`. */
  as?: string | null;
}

export interface OrderBy {
  /** A column for row queries; an output name (group or aggregate) for grouped queries. */
  column: string;
  direction?: 'ASC' | 'DESC' | null;
}

export interface QueryInput {
  /** Columns of a row query; default: every column the viewer may read. */
  select?: string[] | null;
  where?: Filter | null;
  groupBy?: GroupBy[] | null;
  aggregates?: Aggregate[] | null;
  /** Filter on output names of a grouped query. */
  having?: Filter | null;
  orderBy?: OrderBy[] | null;
}

export interface Page {
  first?: number | null;
  after?: string | null;
}

/** Whether the query asks for groups or aggregates rather than rows. */
export function isAggregateQuery(input: QueryInput): boolean {
  return (input.groupBy?.length ?? 0) > 0 || (input.aggregates?.length ?? 0) > 0;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const filterSchema: z.ZodType<Filter> = z.lazy(() =>
  z
    .object({
      and: z.array(filterSchema).nullish(),
      or: z.array(filterSchema).nullish(),
      not: filterSchema.nullish(),
      column: z.string().nullish(),
      eq: scalar.nullish(),
      ne: scalar.nullish(),
      lt: scalar.nullish(),
      lte: scalar.nullish(),
      gt: scalar.nullish(),
      gte: scalar.nullish(),
      in: z.array(scalar).nullish(),
      notIn: z.array(scalar).nullish(),
      contains: z.string().nullish(),
      startsWith: z.string().nullish(),
      isNull: z.boolean().nullish(),
      between: z.array(scalar).nullish(),
    })
    .strict(),
);

/** Validates a query that arrives as JSON (saved queries, the LLM) rather than typed GraphQL. */
export const queryInputSchema: z.ZodType<QueryInput> = z
  .object({
    select: z.array(z.string()).nullish(),
    where: filterSchema.nullish(),
    groupBy: z
      .array(
        z
          .object({
            column: z.string(),
            timeBucket: z.enum(TIME_BUCKETS).nullish(),
            timeZone: z.string().nullish(),
            as: z.string().nullish(),
          })
          .strict(),
      )
      .nullish(),
    aggregates: z
      .array(
        z
          .object({
            function: z.enum(AGGREGATE_FUNCTIONS),
            column: z.string().nullish(),
            percentile: z.number().nullish(),
            as: z.string().nullish(),
          })
          .strict(),
      )
      .nullish(),
    having: filterSchema.nullish(),
    orderBy: z
      .array(
        z.object({ column: z.string(), direction: z.enum(['ASC', 'DESC']).nullish() }).strict(),
      )
      .nullish(),
  })
  .strict();

/** Columns a filter names, in order of appearance. */
export function filterColumns(filter: Filter | null | undefined, out: string[] = []): string[] {
  if (!filter) return out;
  for (const f of filter.and ?? []) filterColumns(f, out);
  for (const f of filter.or ?? []) filterColumns(f, out);
  filterColumns(filter.not, out);
  if (filter.column != null) out.push(filter.column);
  return out;
}
