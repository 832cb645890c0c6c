import type { ColumnType } from '../../db/schema/datasets';

interface ColumnShape {
  name: string;
  type: ColumnType;
}

export interface VersionDiff<C extends ColumnShape> {
  added: C[];
  removed: C[];
  retyped: Array<{ name: string; from: ColumnType; to: ColumnType }>;
  /** Null when the rows of either version cannot be counted by the viewer. */
  rowCountChange: number | null;
}

/**
 * What changed from `base` to `target`: columns added, removed (matched by name) and retyped,
 * and the change in row count (`target - base`).
 */
export function diffVersions<C extends ColumnShape>(
  base: { rowCount: number | null; columns: C[] },
  target: { rowCount: number | null; columns: C[] },
): VersionDiff<C> {
  const before = new Map(base.columns.map((c) => [c.name, c]));
  const after = new Map(target.columns.map((c) => [c.name, c]));
  const retyped: VersionDiff<C>['retyped'] = [];
  for (const column of target.columns) {
    const old = before.get(column.name);
    if (old && old.type !== column.type)
      retyped.push({ name: column.name, from: old.type, to: column.type });
  }
  return {
    added: target.columns.filter((c) => !before.has(c.name)),
    removed: base.columns.filter((c) => !after.has(c.name)),
    retyped,
    rowCountChange:
      target.rowCount === null || base.rowCount === null ? null : target.rowCount - base.rowCount,
  };
}
