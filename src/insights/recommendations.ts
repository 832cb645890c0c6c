import type { KpiGroup, KpiMetric } from './kpis';

export const RECOMMENDATION_KINDS = [
  'SHIFT_BUDGET',
  'UNPROFITABLE',
  'CPA_RISING',
  'CTR_FALLING',
] as const;
export type RecommendationKind = (typeof RECOMMENDATION_KINDS)[number];

export interface Recommendation {
  kind: RecommendationKind;
  text: string;
  metric: KpiMetric;
  /** The dimension value budget moves from, or the one concerned. */
  from: string | null;
  /** The dimension value budget moves to (SHIFT_BUDGET only). */
  to: string | null;
  fromValue: number | null;
  toValue: number | null;
}

/** Least share of the window's cost a group needs before budget advice names it. */
export const MIN_COST_SHARE = 0.05;
/** Best ROAS at least this multiple of the worst before a shift is suggested. */
export const SHIFT_RATIO = 1.5;
/** Relative change that counts as rising or falling. */
export const CHANGE_THRESHOLD = 0.2;
const MAX_RECOMMENDATIONS = 10;

const two = (v: number) => v.toFixed(2);
const percent = (v: number) => `${Math.round(Math.abs(v) * 100)}%`;
const name = (key: string | null) => key ?? '(none)';

/**
 * Plain recommendations from the KPIs of each group over the current window: where to move
 * budget (lowest to highest ROAS among groups with a real share of the cost), groups spending
 * more than they return, and CPA or CTR moving the wrong way against the previous window.
 */
export function recommend(
  groups: readonly KpiGroup[],
  context: { dimension: string; window: string; previousWindow: boolean },
): Recommendation[] {
  const out: Recommendation[] = [];
  const totalCost = groups.reduce((s, g) => s + (g.current.cost ?? 0), 0);
  const spending = groups.filter(
    (g) =>
      g.current.roas !== null &&
      totalCost > 0 &&
      (g.current.cost ?? 0) / totalCost >= MIN_COST_SHARE,
  );
  if (spending.length >= 2) {
    const sorted = [...spending].sort((a, b) => a.current.roas! - b.current.roas!);
    const worst = sorted[0]!;
    const best = sorted[sorted.length - 1]!;
    if (best.current.roas! > 0 && best.current.roas! >= SHIFT_RATIO * worst.current.roas!)
      out.push({
        kind: 'SHIFT_BUDGET',
        metric: 'ROAS',
        from: worst.key,
        to: best.key,
        fromValue: worst.current.roas,
        toValue: best.current.roas,
        text: `Shift budget from ${context.dimension} ${name(worst.key)} to ${name(best.key)}: ROAS ${two(worst.current.roas!)} vs ${two(best.current.roas!)} over ${context.window}.`,
      });
  }
  for (const g of spending) {
    if (g.current.roas! < 1)
      out.push({
        kind: 'UNPROFITABLE',
        metric: 'ROAS',
        from: g.key,
        to: null,
        fromValue: g.current.roas,
        toValue: null,
        text: `Review ${context.dimension} ${name(g.key)}: ROAS ${two(g.current.roas!)} over ${context.window}, so it returns less revenue than it costs.`,
      });
  }
  if (context.previousWindow) {
    for (const g of groups) {
      for (const c of g.changes) {
        if (c.relativeChange === null || c.previous === null || c.current === null) continue;
        if (c.metric === 'CPA' && c.relativeChange >= CHANGE_THRESHOLD)
          out.push({
            kind: 'CPA_RISING',
            metric: 'CPA',
            from: g.key,
            to: null,
            fromValue: c.previous,
            toValue: c.current,
            text: `CPA of ${context.dimension} ${name(g.key)} rose ${percent(c.relativeChange)} (${two(c.previous)} to ${two(c.current)}) over ${context.window} against the window before.`,
          });
        if (c.metric === 'CTR' && c.relativeChange <= -CHANGE_THRESHOLD)
          out.push({
            kind: 'CTR_FALLING',
            metric: 'CTR',
            from: g.key,
            to: null,
            fromValue: c.previous,
            toValue: c.current,
            text: `CTR of ${context.dimension} ${name(g.key)} fell ${percent(c.relativeChange)} (${(c.previous * 100).toFixed(2)}% to ${(c.current * 100).toFixed(2)}%) over ${context.window} against the window before.`,
          });
      }
    }
  }
  return out.slice(0, MAX_RECOMMENDATIONS);
}
