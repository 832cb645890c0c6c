import { describe, expect, it } from 'vitest';
import type { ColumnType } from '../../db/schema/datasets';
import { diffVersions } from '../../src/datasets/diff';

const col = (name: string, type: ColumnType) => ({ name, type });

describe('diffVersions', () => {
  it('reports added, removed and retyped columns and the row-count change', () => {
    const base = {
      rowCount: 10,
      columns: [col('id', 'INTEGER'), col('price', 'INTEGER'), col('legacy', 'STRING')],
    };
    const target = {
      rowCount: 7,
      columns: [col('id', 'INTEGER'), col('price', 'FLOAT'), col('region', 'CATEGORY')],
    };
    expect(diffVersions(base, target)).toEqual({
      added: [{ name: 'region', type: 'CATEGORY' }],
      removed: [{ name: 'legacy', type: 'STRING' }],
      retyped: [{ name: 'price', from: 'INTEGER', to: 'FLOAT' }],
      rowCountChange: -3,
    });
  });

  it('finds nothing between identical versions', () => {
    const v = { rowCount: 3, columns: [col('a', 'DATE')] };
    expect(diffVersions(v, v)).toEqual({ added: [], removed: [], retyped: [], rowCountChange: 0 });
  });
});
