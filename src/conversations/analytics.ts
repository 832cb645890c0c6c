import { and, sql } from 'drizzle-orm';
import { conversations } from '../../db/schema/conversations';
import {
  conversationAccess,
  conversationVisibleTo,
  recordConversationRead,
} from '../access/conversations';
import type { AuthedContext } from '../context';
import { InputError } from '../errors';

export const GRANULARITIES = ['DAY', 'WEEK', 'MONTH'] as const;
export type Granularity = (typeof GRANULARITIES)[number];
export const ANALYTICS_GROUPS = ['TOPIC', 'INTENT', 'CHANNEL', 'LANGUAGE', 'SENTIMENT'] as const;
export type AnalyticsGroup = (typeof ANALYTICS_GROUPS)[number];

/** Chatwoot's response-time buckets, in seconds: 0–1 h, 1–4 h, 4–8 h, 8–24 h, 24 h+. */
export const TIME_BUCKETS = [
  { label: '0-1h', upTo: 3600 },
  { label: '1-4h', upTo: 4 * 3600 },
  { label: '4-8h', upTo: 8 * 3600 },
  { label: '8-24h', upTo: 24 * 3600 },
  { label: '24h+', upTo: null },
] as const;

export interface TimeStats {
  median: number | null;
  p90: number | null;
  /** Counts per `TIME_BUCKETS` label, in that order. */
  buckets: Array<{ label: string; count: number }>;
}

export interface AnalyticsPoint {
  /** Start of the period, as a local date (YYYY-MM-DD) in the requested time zone. */
  period: string;
  group: string | null;
  volume: number;
  sentiment: Array<{ label: string; count: number }>;
  averageSentiment: number | null;
  firstResponse: TimeStats;
  resolution: TimeStats;
}

export interface Analytics {
  series: AnalyticsPoint[];
  summary: Omit<AnalyticsPoint, 'period' | 'group'>;
}

const GROUP_EXPRESSIONS: Record<AnalyticsGroup, ReturnType<typeof sql>> = {
  TOPIC: sql`(${conversations.topics} -> 0 ->> 'topic')`,
  INTENT: sql`${conversations.intent}`,
  CHANNEL: sql`${conversations.channel}`,
  LANGUAGE: sql`${conversations.language}`,
  SENTIMENT: sql`${conversations.sentimentLabel}::text`,
};

const LABELS = ['POSITIVE', 'NEGATIVE', 'NEUTRAL', 'MIXED'];

function timeStatsSql(column: ReturnType<typeof sql>) {
  const buckets = TIME_BUCKETS.map((b, i) => {
    const lower = i === 0 ? 0 : TIME_BUCKETS[i - 1]!.upTo!;
    return b.upTo === null
      ? sql`count(*) filter (where ${column} >= ${lower})::int`
      : sql`count(*) filter (where ${column} >= ${lower} and ${column} < ${b.upTo})::int`;
  });
  return sql`json_build_array(
    percentile_cont(0.5) within group (order by ${column}),
    percentile_cont(0.9) within group (order by ${column}),
    ${sql.join(buckets, sql`, `)})`;
}

function timeStatsOf(raw: unknown[]): TimeStats {
  return {
    median: raw[0] === null ? null : Number(raw[0]),
    p90: raw[1] === null ? null : Number(raw[1]),
    buckets: TIME_BUCKETS.map((b, i) => ({ label: b.label, count: Number(raw[i + 2]) })),
  };
}

/**
 * Conversation analytics over `[from, to)`, bucketed by the conversation's start
 * (`startedAt`) in local periods of `timezone`: volume, sentiment distribution and average,
 * first-response and resolution times (median, p90, Chatwoot buckets) — every metric of a
 * conversation lands in the period it started in, so the summary's volume, sentiment counts
 * and bucket counts equal the sums of the series. Read through the gate and audited.
 */
export async function conversationAnalytics(
  ctx: AuthedContext,
  input: {
    from: Date;
    to: Date;
    granularity: Granularity;
    timezone: string;
    groupBy: AnalyticsGroup | null;
  },
): Promise<Analytics> {
  if (!(input.from < input.to)) throw new InputError('from must be before to.', 'from');
  try {
    new Intl.DateTimeFormat('en', { timeZone: input.timezone });
  } catch {
    throw new InputError(`Unknown time zone "${input.timezone}".`, 'timezone');
  }
  const empty = { series: [], summary: aggregateOf({}) };
  const access = await conversationAccess(ctx);
  if (!access) return empty;
  const c = conversations;
  const where = and(
    conversationVisibleTo(ctx.viewer, access),
    sql`${c.startedAt} >= ${input.from.toISOString()}::timestamptz`,
    sql`${c.startedAt} < ${input.to.toISOString()}::timestamptz`,
  );
  const unit = input.granularity.toLowerCase();
  const period = sql`to_char(date_trunc(${unit}::text, ${c.startedAt} at time zone ${input.timezone}::text), 'YYYY-MM-DD')`;
  const group = input.groupBy ? GROUP_EXPRESSIONS[input.groupBy] : sql`null::text`;
  const metrics = sql`count(*)::int as volume,
    ${sql.join(
      LABELS.map(
        (l) =>
          sql`count(*) filter (where ${c.sentimentLabel} = ${l})::int as ${sql.raw(`s_${l.toLowerCase()}`)}`,
      ),
      sql`, `,
    )},
    avg(${c.sentimentScore}) as average,
    ${timeStatsSql(sql`${c.firstResponseSeconds}`)} as first_response,
    ${timeStatsSql(sql`${c.resolutionSeconds}`)} as resolution`;
  const [seriesRows, summaryRows] = await Promise.all([
    ctx.db.execute(
      sql`select ${period} as period, ${group} as grp, ${metrics} from ${c} where ${where} group by 1, 2 order by 1, 2 nulls first`,
    ),
    ctx.db.execute(sql`select ${metrics} from ${c} where ${where}`),
  ]);
  const series = rowsOf(seriesRows).map((r) => ({
    period: String(r.period),
    group: r.grp === null || r.grp === undefined ? null : String(r.grp),
    ...aggregateOf(r),
  }));
  const summary = aggregateOf(rowsOf(summaryRows)[0] ?? {});
  await recordConversationRead(ctx, {
    action: 'conversations.analytics',
    access,
    filter: { ...input, from: input.from.toISOString(), to: input.to.toISOString() },
    rowCount: summary.volume,
  });
  return { series, summary };
}

function rowsOf(result: unknown): Array<Record<string, unknown>> {
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<
    Record<string, unknown>
  >;
}

function parse(value: unknown): unknown[] {
  if (value === undefined || value === null) return [null, null, 0, 0, 0, 0, 0];
  return (typeof value === 'string' ? JSON.parse(value) : value) as unknown[];
}

function aggregateOf(r: Record<string, unknown>): Analytics['summary'] {
  return {
    volume: Number(r.volume ?? 0),
    sentiment: LABELS.map((label) => ({
      label,
      count: Number(r[`s_${label.toLowerCase()}`] ?? 0),
    })),
    averageSentiment: r.average === null || r.average === undefined ? null : Number(r.average),
    firstResponse: timeStatsOf(parse(r.first_response)),
    resolution: timeStatsOf(parse(r.resolution)),
  };
}
