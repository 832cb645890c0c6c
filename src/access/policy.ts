import type { DatasetPolicy, StoredColumnBounds } from '../../db/schema/access';
import type { ColumnType, Sensitivity } from '../../db/schema/datasets';
import { roleAtLeast } from '../auth/roles';
import type { Viewer } from '../auth/viewer';
import type { Filter } from './language';
import { visibleUnder } from './visibility';

export const COLUMN_RULES = ['CLEAR', 'MASK', 'HASH', 'PARTIAL', 'HIDE', 'AGGREGATE_ONLY'] as const;
/**
 * How a viewer sees a column: CLEAR as stored; MASK a fixed redaction; HASH a stable keyed hash
 * (equal values hash equal, so joins and distinct counts still work); PARTIAL a hint such as
 * `j***@example.com` or `***1234`; HIDE not at all; AGGREGATE_ONLY only inside aggregates.
 */
export type ColumnRule = (typeof COLUMN_RULES)[number];

export interface GateColumn {
  name: string;
  type: ColumnType;
  position: number;
  sensitivity: Sensitivity;
  rule: ColumnRule;
}

/** What one viewer may do with one dataset version. */
export interface Access {
  /** ROWS: rows may be read (subject to the rules); AGGREGATE_ONLY: only aggregates. */
  mode: 'ROWS' | 'AGGREGATE_ONLY';
  /** Rows outside this filter do not exist for the viewer. Null: all rows. */
  rowFilter: Filter | null;
  columns: GateColumn[];
  /** Smallest group an aggregate may report where aggregate-only access applies. */
  minGroupSize: number;
  /** The policy that applied, if any. */
  policyId: string | null;
  /** Set when aggregate-only reads are differentially private under the policy. */
  privacy?: Privacy | null;
}

/** A policy's differential-privacy settings, as the gate applies them. */
export interface Privacy {
  epsilon: number;
  delta: number;
  epsilonBudget: number;
  budgetPeriodSeconds: number;
  bounds: StoredColumnBounds[];
}

/** Default rule for a column with no policy rule: sensitive data is masked below ADMIN. */
export function defaultRule(viewer: Viewer, sensitivity: Sensitivity): ColumnRule {
  if (sensitivity === 'NONE') return 'CLEAR';
  return viewer.kind === 'USER' && roleAtLeast(viewer.role, 'ADMIN') ? 'CLEAR' : 'MASK';
}

/**
 * The one policy that applies to a viewer: for an API key, only a policy naming that key; for a
 * member, one naming them, else one naming their role. Null when none does.
 */
export function applicablePolicy(
  policies: readonly DatasetPolicy[],
  viewer: Viewer,
): DatasetPolicy | null {
  if (viewer.kind === 'API_KEY') {
    return (
      policies.find(
        (p) => p.principalKind === 'API_KEY' && p.principalApiKeyId === viewer.apiKeyId,
      ) ?? null
    );
  }
  return (
    policies.find((p) => p.principalKind === 'USER' && p.principalUserId === viewer.userId) ??
    policies.find((p) => p.principalKind === 'ROLE' && p.principalRole === viewer.role) ??
    null
  );
}

/**
 * What a viewer may see of a version with these columns under these policies; null when the
 * dataset is not visible at all (an API key no policy names).
 */
export function resolveAccess(
  viewer: Viewer,
  columns: ReadonlyArray<Omit<GateColumn, 'rule'>>,
  policies: readonly DatasetPolicy[],
): Access | null {
  const policy = applicablePolicy(policies, viewer);
  if (!visibleUnder(viewer, policy)) return null;
  const rules = new Map((policy?.columnRules ?? []).map((r) => [r.column, r.rule]));
  return {
    mode: policy?.access ?? 'ROWS',
    rowFilter: (policy?.rowFilter as Filter | null | undefined) ?? null,
    columns: columns.map((c) => ({
      ...c,
      rule: rules.get(c.name) ?? defaultRule(viewer, c.sensitivity),
    })),
    minGroupSize: policy?.minGroupSize ?? 5,
    policyId: policy?.id ?? null,
    privacy: policy?.differentialPrivacy
      ? {
          epsilon: policy.epsilon,
          delta: policy.delta,
          epsilonBudget: policy.epsilonBudget,
          budgetPeriodSeconds: policy.budgetPeriodSeconds,
          bounds: policy.columnBounds,
        }
      : null,
  };
}
