import { eq } from 'drizzle-orm';
import type { ColumnType } from '../../db/schema/datasets';
import {
  datasetSemantics,
  MEASURE_ROLES,
  type MeasureRole,
  type SemanticMapping,
} from '../../db/schema/semantics';
import { type Gate, openGate } from '../access/gate';
import type { GateColumn } from '../access/policy';
import type { AuthedContext } from '../context';
import { InputError, PesoError } from '../errors';

/**
 * A column the request needs is shown to the viewer masked (or only inside aggregates where a
 * row read is needed): nothing derived from it is computed. Names the column, which the viewer
 * already knows.
 */
export class ColumnNotReadableError extends PesoError {
  readonly code = 'COLUMN_NOT_READABLE';
  constructor(
    readonly column: string,
    readonly rule: string,
  ) {
    super(`Column "${column}" is shown to you ${rule}: nothing is computed from it.`);
  }
}

const NUMERIC: readonly ColumnType[] = ['INTEGER', 'FLOAT'];

/** A column as the viewer knows it; a hidden one is answered exactly like a missing one. */
export function knownColumn(gate: Gate, name: string, field: string): GateColumn {
  const c = gate.access.columns.find((x) => x.name === name);
  if (!c || c.rule === 'HIDE') throw new InputError(`No column named "${name}".`, field);
  return c;
}

/**
 * A column a statistic may be computed from: read in clear, or (where only aggregates are
 * needed) aggregate-only. Anything masked is refused naming the column.
 */
export function readableColumn(
  gate: Gate,
  name: string,
  field: string,
  options: { numeric?: boolean; rows?: boolean } = {},
): GateColumn {
  const c = knownColumn(gate, name, field);
  const allowed = c.rule === 'CLEAR' || (!options.rows && c.rule === 'AGGREGATE_ONLY');
  if (!allowed) throw new ColumnNotReadableError(c.name, c.rule);
  if (options.numeric && !NUMERIC.includes(c.type))
    throw new InputError(`"${c.name}" is ${c.type}, not a number.`, field);
  return c;
}

/** A DATE or TIMESTAMP column read in clear (buckets group on it). */
export function temporalColumn(gate: Gate, name: string, field: string): GateColumn {
  const c = readableColumn(gate, name, field, { rows: true });
  if (c.type !== 'DATE' && c.type !== 'TIMESTAMP')
    throw new InputError(`"${c.name}" is ${c.type}, not a DATE or TIMESTAMP.`, field);
  return c;
}

/** Names that suggest each role (whole words of a snake/camel/kebab-cased column name). */
const ROLE_WORDS: Record<MeasureRole, RegExp> = {
  impressions: /^(impressions?|imps?|views|reach)$/,
  clicks: /^(clicks?|link_clicks)$/,
  conversions: /^(conversions?|convs?|purchases|orders|signups|leads)$/,
  cost: /^(cost|spend|spent|amount_spent|ad_spend|media_cost)$/,
  revenue: /^(revenue|sales|conversion_value|purchase_value|income|gmv)$/,
};
const DATE_WORDS = /^(date|day|week|month|timestamp|time|ts|period)$/;
const DIMENSION_WORDS =
  /^(channel|campaign|campaign_name|source|medium|ad_group|adgroup|ad_set|creative|country|region|device|platform|network|placement|audience|keyword)$/;

/** snake_case of a column name, for matching. */
function normalized(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[\s-]+/g, '_')
    .toLowerCase();
}

/**
 * A mapping inferred from the names and types of the columns the viewer knows, offered for
 * confirmation (it is not stored until someone sets it).
 */
export function suggestMapping(columns: readonly GateColumn[]): SemanticMapping {
  const known = columns.filter((c) => c.rule !== 'HIDE');
  const mapping: SemanticMapping = { dimensions: [] };
  const used = new Set<string>();
  for (const role of MEASURE_ROLES) {
    const match = known.find(
      (c) =>
        NUMERIC.includes(c.type) && !used.has(c.name) && ROLE_WORDS[role].test(normalized(c.name)),
    );
    if (match) {
      mapping[role] = match.name;
      used.add(match.name);
    }
  }
  const temporal = known.filter((c) => c.type === 'DATE' || c.type === 'TIMESTAMP');
  mapping.date = (temporal.find((c) => DATE_WORDS.test(normalized(c.name))) ?? temporal[0])?.name;
  mapping.dimensions = known
    .filter(
      (c) =>
        (c.type === 'CATEGORY' || c.type === 'STRING') && DIMENSION_WORDS.test(normalized(c.name)),
    )
    .map((c) => c.name);
  return mapping;
}

/** Checks a mapping against the columns the caller knows (types and no column twice). */
function checkedMapping(gate: Gate, mapping: SemanticMapping): SemanticMapping {
  const out: SemanticMapping = { dimensions: [] };
  const seen = new Set<string>();
  const take = (name: string, field: string) => {
    if (seen.has(name))
      throw new InputError(`"${name}" is mapped twice: one role per column.`, field);
    seen.add(name);
    return knownColumn(gate, name, field);
  };
  for (const role of MEASURE_ROLES) {
    const name = mapping[role];
    if (name == null) continue;
    const c = take(name, role);
    if (!NUMERIC.includes(c.type))
      throw new InputError(`${role} must be a numeric column; "${c.name}" is ${c.type}.`, role);
    out[role] = c.name;
  }
  if (mapping.date != null) {
    const c = take(mapping.date, 'date');
    if (c.type !== 'DATE' && c.type !== 'TIMESTAMP')
      throw new InputError(
        `date must be a DATE or TIMESTAMP column; "${c.name}" is ${c.type}.`,
        'date',
      );
    out.date = c.name;
  }
  for (const name of mapping.dimensions ?? []) out.dimensions!.push(take(name, 'dimensions').name);
  if (!MEASURE_ROLES.some((r) => out[r]))
    throw new InputError(
      'Map at least one of impressions, clicks, conversions, cost, revenue.',
      'mapping',
    );
  return out;
}

/** Stores the semantics of a dataset, checked against its latest version as the caller sees it. */
export async function setDatasetSemantics(
  ctx: AuthedContext,
  datasetId: string,
  mapping: SemanticMapping,
): Promise<{ datasetId: string; mapping: SemanticMapping; confirmed: boolean }> {
  const gate = await openGate(ctx, { datasetId });
  const checked = checkedMapping(gate, mapping);
  await ctx.db
    .insert(datasetSemantics)
    .values({
      datasetId: gate.dataset.id,
      orgId: gate.dataset.orgId,
      mapping: checked,
      updatedBy: ctx.viewer.userId,
    })
    .onConflictDoUpdate({
      target: datasetSemantics.datasetId,
      set: { mapping: checked, updatedBy: ctx.viewer.userId, updatedAt: new Date() },
    });
  return { datasetId: gate.dataset.id, mapping: visibleMapping(gate, checked), confirmed: true };
}

/** A stored mapping without the columns hidden from the viewer. */
export function visibleMapping(gate: Gate, mapping: SemanticMapping): SemanticMapping {
  const known = (name: string | null | undefined) =>
    name != null && gate.access.columns.some((c) => c.name === name && c.rule !== 'HIDE');
  const out: SemanticMapping = {
    dimensions: (mapping.dimensions ?? []).filter((d) => known(d)),
  };
  for (const role of [...MEASURE_ROLES, 'date'] as const)
    if (known(mapping[role])) out[role] = mapping[role];
  return out;
}

/** The stored semantics of a dataset as the viewer may know them; null when none are set. */
export async function storedSemantics(
  ctx: AuthedContext,
  gate: Gate,
): Promise<SemanticMapping | null> {
  const [row] = await ctx.db
    .select()
    .from(datasetSemantics)
    .where(eq(datasetSemantics.datasetId, gate.dataset.id));
  return row ? visibleMapping(gate, row.mapping) : null;
}

/** Stored semantics when set (confirmed), else a suggestion from the column names. */
export async function datasetSemanticsOf(
  ctx: AuthedContext,
  datasetId: string,
  options: { suggestion: boolean },
): Promise<{ datasetId: string; mapping: SemanticMapping; confirmed: boolean } | null> {
  const gate = await openGate(ctx, { datasetId });
  if (options.suggestion)
    return {
      datasetId: gate.dataset.id,
      mapping: suggestMapping(gate.access.columns),
      confirmed: false,
    };
  const stored = await storedSemantics(ctx, gate);
  return stored ? { datasetId: gate.dataset.id, mapping: stored, confirmed: true } : null;
}
