import { z } from 'zod';
import { type GatedResult, gatedQuery, openGate } from '../access/gate';
import {
  AGGREGATE_FUNCTIONS,
  type Filter,
  OPERATORS,
  type QueryInput,
  TIME_BUCKETS,
} from '../access/language';
import type { AuthedContext } from '../context';
import { InputError } from '../errors';
import { completeStructured, LlmOutputError } from '../llm/client';

/**
 * What the model must answer: a query in Peso's own language (a conjunction of conditions,
 * groups, aggregates, order, limit) — never SQL — and one line explaining it. Every field is
 * present (nullable) so the schema works in strict structured-output mode.
 */
const plannedQuery = z.object({
  select: z.array(z.string()).nullable(),
  where: z
    .array(
      z.object({
        column: z.string(),
        operator: z.enum([...OPERATORS, 'isNotNull']),
        value: z.union([z.string(), z.number(), z.boolean()]).nullable(),
        values: z.array(z.union([z.string(), z.number(), z.boolean()])).nullable(),
      }),
    )
    .nullable(),
  groupBy: z
    .array(z.object({ column: z.string(), timeBucket: z.enum(TIME_BUCKETS).nullable() }))
    .nullable(),
  aggregates: z
    .array(
      z.object({
        function: z.enum(AGGREGATE_FUNCTIONS),
        column: z.string().nullable(),
        percentile: z.number().nullable(),
      }),
    )
    .nullable(),
  orderBy: z.array(z.object({ column: z.string(), direction: z.enum(['ASC', 'DESC']) })).nullable(),
  limit: z.number().int().nullable(),
  explanation: z.string(),
});
export type PlannedQuery = z.infer<typeof plannedQuery>;

/** Turns the model's plan into a query of the language; shape errors name the condition. */
export function toQueryInput(plan: PlannedQuery): QueryInput {
  const where: Filter[] = (plan.where ?? []).map((c) => {
    switch (c.operator) {
      case 'isNull':
        return { column: c.column, isNull: true };
      case 'isNotNull':
        return { column: c.column, isNull: false };
      case 'in':
      case 'notIn':
      case 'between':
        return { column: c.column, [c.operator]: c.values ?? [] };
      case 'contains':
      case 'startsWith':
        return { column: c.column, [c.operator]: String(c.value ?? '') };
      default:
        return { column: c.column, [c.operator]: c.value };
    }
  });
  return {
    select: plan.select?.length ? plan.select : null,
    where: where.length === 0 ? null : where.length === 1 ? where[0] : { and: where },
    groupBy: plan.groupBy?.map((g) => ({ column: g.column, timeBucket: g.timeBucket })) ?? null,
    aggregates: plan.aggregates ?? null,
    orderBy: plan.orderBy ?? null,
  };
}

const SYSTEM = `You turn questions about one table into a query for Peso. Never write SQL.
Answer with JSON matching the schema: conditions in "where" are ANDed; use groupBy and
aggregates for totals, averages and counts ("count" is the output name of COUNT without a column,
"<function>_<column>" otherwise, e.g. "avg_delay"); orderBy names a column for row queries or an
output name for grouped ones; limit caps the rows (default 20). Use only the columns listed. A
column marked "masked" may be selected but not filtered, sorted, grouped or aggregated; one marked
"aggregate-only" may only be aggregated with COUNT, COUNT_DISTINCT, SUM, AVG or STDDEV.
Dates are "YYYY-MM-DD". "explanation" is one plain sentence saying what the query does.`;

export interface AskResult {
  question: string;
  query: QueryInput;
  explanation: string;
  cached: boolean;
  result: GatedResult & { versionId: string };
}

/**
 * Answers a question about a dataset: the model sees the question and the columns the caller may
 * read (names and types, never values), proposes a query in Peso's language, and the query runs
 * through the gate as the caller — so the answer can never include more than they may see.
 */
export async function askDataset(
  ctx: AuthedContext,
  input: { datasetId: string; question: string; version?: number | null; started?: number },
): Promise<AskResult> {
  const question = input.question.trim();
  if (!question || question.length > 1000)
    throw new InputError('question must be 1 to 1000 characters.', 'question');
  const gate = await openGate(ctx, { datasetId: input.datasetId, version: input.version });
  const columns = gate.access.columns
    .filter((c) => c.rule !== 'HIDE')
    .map((c) => {
      const note =
        c.rule === 'CLEAR' ? '' : c.rule === 'AGGREGATE_ONLY' ? ' (aggregate-only)' : ' (masked)';
      return `- ${JSON.stringify(c.name)}: ${c.type}${note}`;
    })
    .join('\n');
  const access =
    gate.access.mode === 'AGGREGATE_ONLY'
      ? '\nThe caller may only aggregate this table: always use aggregates, and only COUNT, COUNT_DISTINCT, SUM, AVG or STDDEV.'
      : '';
  const { value, cached } = await completeStructured(ctx, {
    name: 'peso_query',
    system: SYSTEM,
    user: `Table ${JSON.stringify(gate.dataset.name)} has these columns:\n${columns}${access}\n\nQuestion: ${question}`,
    schema: plannedQuery,
  });
  const query = toQueryInput(value);
  const first = Math.min(Math.max(value.limit ?? 20, 1), 1000);
  let result: GatedResult;
  try {
    result = await gatedQuery(
      ctx,
      gate,
      query,
      { first },
      {
        action: 'ASK',
        history: {
          kind: 'ASK',
          input: { question, query },
          started: input.started ?? performance.now(),
        },
      },
    );
  } catch (error) {
    // The model named a column that does not exist or misused an operator: say so plainly.
    if (error instanceof InputError)
      throw new LlmOutputError(`The model proposed a query Peso cannot run: ${error.message}`);
    throw error;
  }
  return {
    question,
    query,
    explanation: value.explanation,
    cached,
    result: { ...result, versionId: gate.version.id },
  };
}
