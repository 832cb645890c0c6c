import { z } from 'zod';
import type { AuthedContext } from '../context';
import { completeStructured } from '../llm/client';
import { readCache, writeCache } from './cache';
import type { ComputedInsights } from './service';
import { partKey } from './service';

/**
 * The facts a narrative may use: computed statistics of the columns the viewer reads in clear,
 * never a row. Anomalous rows (which carry other columns, masked or not) stay out; only the
 * counts and bounds of each rule go in.
 */
export interface NarrativeFacts {
  dataset: string;
  version: number;
  rows: number;
  columns: Array<{
    name: string;
    kind: string;
    nulls: number;
    distinct: number;
    mean?: number | null;
    median?: number | null;
    std?: number | null;
    min?: number | null;
    max?: number | null;
    skewness?: number | null;
    earliest?: string | null;
    latest?: string | null;
    top?: Array<{ value: string; share: number }>;
  }>;
  correlations: Array<{ x: string; y: string; pearson: number; spearman: number | null }>;
  anomalies: Array<{ column: string; rule: string; count: number; lower: number; upper: number }>;
  seasonal: Array<{ time: string; measure: string; unit: string; anomalies: string[] }>;
}

export interface Narrative {
  text: string;
  /** LLM: written by the configured model; FACTS: the deterministic summary of the same facts. */
  source: 'LLM' | 'FACTS';
}

const round = (x: number | null | undefined) =>
  x === null || x === undefined ? null : Number(x.toPrecision(4));

/** Strong correlations reported (|r| ≥ this, p < 0.01). */
const STRONG = 0.5;

export function factsOf(name: string, version: number, insights: ComputedInsights): NarrativeFacts {
  return {
    dataset: name,
    version,
    rows: insights.rows,
    columns: insights.summary.columns.map((c) => ({
      name: c.name,
      kind: c.kind,
      nulls: c.nulls,
      distinct: c.distinct,
      ...(c.kind === 'NUMERIC'
        ? {
            mean: round(c.mean),
            median: round(c.median),
            std: round(c.std),
            min: round(c.min),
            max: round(c.max),
            skewness: round(c.skewness),
          }
        : {}),
      ...(c.kind === 'TEMPORAL' ? { earliest: c.earliest, latest: c.latest } : {}),
      ...(c.kind === 'CATEGORICAL'
        ? {
            top: c.topCategories
              .slice(0, 3)
              .map((t) => ({ value: t.value, share: round(t.share) ?? 0 })),
          }
        : {}),
    })),
    correlations: insights.correlations.pairs
      .filter(
        (p) =>
          p.pearson !== null &&
          Math.abs(p.pearson) >= STRONG &&
          p.pearsonP !== null &&
          p.pearsonP < 0.01,
      )
      .sort((a, b) => Math.abs(b.pearson!) - Math.abs(a.pearson!))
      .slice(0, 5)
      .map((p) => ({ x: p.x, y: p.y, pearson: round(p.pearson)!, spearman: round(p.spearman) })),
    anomalies: insights.anomalies.columns
      .filter((a) => a.count > 0)
      .map((a) => ({
        column: a.column,
        rule: a.rule,
        count: a.count,
        lower: round(a.lower)!,
        upper: round(a.upper)!,
      })),
    seasonal: insights.anomalies.seasonal
      .filter((s) => s.anomalies.length > 0)
      .map((s) => ({
        time: s.time,
        measure: s.measure,
        unit: s.unit,
        anomalies: s.anomalies.slice(0, 5).map((a) => a.bucket),
      })),
  };
}

const pct = (share: number) => `${Math.round(share * 1000) / 10}%`;

/** The narrative written from the facts alone, the same for the same facts. */
export function factsNarrative(f: NarrativeFacts): string {
  const parts: string[] = [
    `${f.dataset} (version ${f.version}) has ${f.rows} rows and ${f.columns.length} columns you can read in clear.`,
  ];
  for (const c of f.columns) {
    const missing = c.nulls > 0 ? ` ${c.nulls} values are missing.` : '';
    if (c.kind === 'NUMERIC' && c.mean !== null && c.mean !== undefined)
      parts.push(
        `${c.name} averages ${c.mean} (median ${c.median}, standard deviation ${c.std}) and ranges from ${c.min} to ${c.max}${
          c.skewness !== null && c.skewness !== undefined && Math.abs(c.skewness) >= 1
            ? `, skewed ${c.skewness > 0 ? 'right' : 'left'} (${c.skewness})`
            : ''
        }.${missing}`,
      );
    else if (c.kind === 'TEMPORAL' && c.earliest)
      parts.push(`${c.name} runs from ${c.earliest} to ${c.latest}.${missing}`);
    else if (c.kind === 'CATEGORICAL' && c.top && c.top.length > 0)
      parts.push(
        `${c.name} has ${c.distinct} distinct values; the most common ${
          c.top.length === 1 ? 'is' : 'are'
        } ${c.top.map((t) => `${t.value} (${pct(t.share)})`).join(', ')}.${missing}`,
      );
  }
  for (const r of f.correlations)
    parts.push(
      `${r.x} and ${r.y} are ${r.pearson > 0 ? 'positively' : 'negatively'} correlated (Pearson ${r.pearson}, Spearman ${r.spearman}).`,
    );
  for (const a of f.anomalies.filter((x) => x.rule === 'TUKEY'))
    parts.push(
      `${a.count} values of ${a.column} fall outside the Tukey fences ${a.lower} to ${a.upper}.`,
    );
  for (const s of f.seasonal)
    parts.push(
      `${s.measure} breaks its seasonal pattern (by ${s.unit} of ${s.time}) at ${s.anomalies.join(', ')}.`,
    );
  return parts.join(' ');
}

const NarrativeAnswer = z.object({ narrative: z.string() });

const SYSTEM = `You write a short plain-language summary (at most 120 words) of a dataset for a business reader.
Use only the facts given as JSON: do not invent numbers, columns or values, and do not speculate about causes.
Answer with {"narrative": "..."}.`;

/**
 * The narrative of computed insights for the viewer, cached beside them (same version and
 * visibility): written by the LLM from the facts when one is configured, else from the facts
 * directly. A failing model falls back to the deterministic text, which is not cached, so a
 * later request tries the model again.
 */
export async function narrativeOf(
  ctx: AuthedContext,
  input: { versionId: string; fingerprint: string; dataset: string; version: number },
  insights: ComputedInsights,
): Promise<Narrative> {
  const key = partKey(input.fingerprint, 'narrative');
  const cached = await readCache<Narrative>(ctx, input.versionId, key);
  if (cached) return cached;
  const facts = factsOf(input.dataset, input.version, insights);
  if (!ctx.config.openai.apiKey) {
    const narrative: Narrative = { text: factsNarrative(facts), source: 'FACTS' };
    await writeCache(ctx, input.versionId, key, narrative);
    return narrative;
  }
  try {
    const { value } = await completeStructured(ctx, {
      name: 'insights_narrative',
      system: SYSTEM,
      user: JSON.stringify(facts),
      schema: NarrativeAnswer,
    });
    const narrative: Narrative = { text: value.narrative.trim(), source: 'LLM' };
    await writeCache(ctx, input.versionId, key, narrative);
    return narrative;
  } catch (error) {
    ctx.log.warn({ err: (error as Error).message }, 'insights narrative fell back to the facts');
    return { text: factsNarrative(facts), source: 'FACTS' };
  }
}
