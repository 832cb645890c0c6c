import type { Gate } from '../access/gate';
import { gatedCorrelations } from '../access/statistics';
import type { AuthedContext } from '../context';
import type { Summary } from './summary';

export interface Correlation {
  x: string;
  y: string;
  /** Rows where both columns have a value. */
  n: number;
  pearson: number | null;
  /** Two-sided p-value of Pearson's r (t = r√((n−2)/(1−r²)), Student t with n − 2 df). */
  pearsonP: number | null;
  spearman: number | null;
  /** Two-sided p-value of Spearman's ρ by the same t approximation (scipy's spearmanr). */
  spearmanP: number | null;
}

export interface Correlations {
  /** The numeric columns, in file order: the matrix's rows and columns. */
  columns: string[];
  pairs: Correlation[];
}

/** Columns correlated at most; pairs grow with the square. */
export const MAX_CORRELATED = 30;

/**
 * Pearson and Spearman matrices over the numeric columns the summary describes (clear columns
 * only: a masked column is in no pair), with p-values.
 */
export async function correlate(
  ctx: AuthedContext,
  gate: Gate,
  summary: Summary,
): Promise<Correlations> {
  const numeric = summary.columns
    .filter((c) => c.kind === 'NUMERIC' && c.count > 2 && (c.std ?? 0) > 0)
    .slice(0, MAX_CORRELATED);
  const columns = numeric.map((c) => c.name);
  const withNulls = new Set(numeric.filter((c) => c.nulls > 0).map((c) => c.name));
  const pairs = await gatedCorrelations(ctx, gate, columns, withNulls);
  return {
    columns,
    pairs: pairs.map((p) => ({
      ...p,
      pearsonP: p.pearson === null ? null : correlationPValue(p.pearson, p.n),
      spearmanP: p.spearman === null ? null : correlationPValue(p.spearman, p.n),
    })),
  };
}

/** Two-sided p-value of a correlation coefficient r over n pairs (t with n − 2 df). */
export function correlationPValue(r: number, n: number): number | null {
  const df = n - 2;
  if (df < 1) return null;
  const r2 = Math.min(1, r * r);
  if (r2 === 1) return 0;
  const t2 = (r2 * df) / (1 - r2);
  return studentTwoSided(t2, df);
}

/** P(|T| ≥ √t²) for Student's t with df degrees of freedom: I_{df/(df+t²)}(df/2, 1/2). */
export function studentTwoSided(t2: number, df: number): number {
  if (!Number.isFinite(t2)) return 0;
  return regularizedBeta(df / (df + t2), df / 2, 0.5);
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15.
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularized incomplete beta function I_x(a, b) (continued fraction, Lentz). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(x, a, b)) / a;
  return 1 - (front * betaFraction(1 - x, b, a)) / b;
}

function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let f = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    f *= d * c;
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return f;
}
