import { createComplexityRule } from '@pothos/plugin-complexity';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { and, eq, inArray, max } from 'drizzle-orm';
import {
  type DocumentNode,
  type GraphQLSchema,
  Kind,
  type SelectionSetNode,
  type ValueNode,
  validate,
  valueFromASTUntyped,
} from 'graphql';
import type { Db } from '../../db/client';
import { datasets, datasetVersions } from '../../db/schema/datasets';
import { savedQueries } from '../../db/schema/queries';
import { datasetVisibleTo } from '../access/visibility';
import type { Viewer } from '../auth/viewer';

/**
 * Root fields that read dataset rows inside the request, and the argument that says how many
 * rows they may touch: a dataset (its rows), a saved query (its dataset's rows) or rows given
 * to predict. Reads that run as jobs (exports, batch predictions) are not in the request.
 */
const READS: Record<string, 'datasetId' | 'savedQuery' | 'rows'> = {
  datasetQuery: 'datasetId',
  searchDataset: 'datasetId',
  askDataset: 'datasetId',
  createDatasetVersionFromQuery: 'datasetId',
  runSavedQuery: 'savedQuery',
  predict: 'rows',
};

interface Read {
  kind: 'datasetId' | 'savedQuery' | 'rows';
  value: unknown;
}

/** The dataset reads among the root fields of the operation that will run (fragments followed). */
function readsOf(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
): Read[] {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations[0];
  if (!operation) return [];
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [],
    ),
  );
  const reads: Read[] = [];
  const seen = new Set<string>();
  const argument = (value: ValueNode) => valueFromASTUntyped(value, variables);
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const kind = READS[selection.name.value];
        if (!kind) continue;
        const name = kind === 'datasetId' ? 'datasetId' : kind === 'savedQuery' ? 'id' : 'rows';
        const arg = selection.arguments?.find((a) => a.name.value === name);
        reads.push({ kind, value: arg ? argument(arg.value) : null });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  return reads;
}

function uuidOf(globalId: unknown, typename: string): string | null {
  if (typeof globalId !== 'string') return null;
  try {
    const decoded = decodeGlobalID(globalId);
    return decoded.typename === typename ? decoded.id : null;
  } catch {
    return null;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Rows each dataset (or saved query's dataset) may scan: its largest version, among those the
 * viewer can see — an invisible one costs nothing here and is NOT_FOUND when it runs, so the
 * estimate tells nothing about datasets the caller cannot see.
 */
async function rowsOf(db: Db, viewer: Viewer, datasetIds: string[], savedIds: string[]) {
  const rows = new Map<string, number>();
  const ids = datasetIds.filter((id) => UUID.test(id));
  const saved = savedIds.filter((id) => UUID.test(id));
  const [byDataset, bySaved] = await Promise.all([
    ids.length
      ? db
          .select({ id: datasets.id, rows: max(datasetVersions.rowCount) })
          .from(datasets)
          .innerJoin(datasetVersions, eq(datasetVersions.datasetId, datasets.id))
          .where(and(inArray(datasets.id, ids), datasetVisibleTo(viewer)))
          .groupBy(datasets.id)
      : [],
    saved.length
      ? db
          .select({ id: savedQueries.id, rows: max(datasetVersions.rowCount) })
          .from(savedQueries)
          .innerJoin(datasets, eq(datasets.id, savedQueries.datasetId))
          .innerJoin(datasetVersions, eq(datasetVersions.datasetId, datasets.id))
          .where(and(inArray(savedQueries.id, saved), datasetVisibleTo(viewer)))
          .groupBy(savedQueries.id)
      : [],
  ]);
  for (const r of [...byDataset, ...bySaved]) rows.set(r.id, Number(r.rows ?? 0));
  return rows;
}

/**
 * Field points of each parsed document (the parser cache hands the same object for the same
 * text) per operation name and variables: they depend on nothing else (no complexity in the
 * schema reads the context), so a repeated operation is not walked again. Variables longer than
 * `MAX_KEY` are not remembered.
 */
const complexities = new WeakMap<DocumentNode, Map<string, number>>();
const MAX_KEY = 2_048;
const MAX_PER_DOCUMENT = 256;

function fieldComplexity(input: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName: string | null | undefined;
  variables: Record<string, unknown>;
  context: object;
}): number {
  let key: string | null = null;
  try {
    key = `${input.operationName ?? ''}\u0000${JSON.stringify(input.variables)}`;
  } catch {
    // A variable that cannot be written as JSON: computed every time.
  }
  if (key !== null && key.length > MAX_KEY) key = null;
  const known = complexities.get(input.document);
  const hit = key === null ? undefined : known?.get(key);
  if (hit !== undefined) return hit;
  let fields = 0;
  validate(input.schema, input.document, [
    createComplexityRule({
      context: input.context,
      variableValues: input.variables,
      operationName: input.operationName,
      onResult: (result) => {
        fields = result.complexity;
      },
    }),
  ]);
  if (key !== null) {
    const map = known ?? new Map<string, number>();
    if (map.size >= MAX_PER_DOCUMENT) map.clear();
    map.set(key, fields);
    if (!known) complexities.set(input.document, map);
  }
  return fields;
}

/**
 * What an operation costs before it runs: one point per field as the complexity plugin counts
 * it (lists by their page size), plus for each dataset read one point per `rowsPerPoint` rows it
 * may scan, plus one point per row given to `predict`. Looks rows up only when the operation
 * reads a dataset, in one or two indexed statements.
 */
export async function operationCost(input: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName: string | null | undefined;
  variables: Record<string, unknown>;
  context: object;
  db: Db;
  viewer: Viewer | null;
  rowsPerPoint: number;
}): Promise<number> {
  const fields = fieldComplexity(input);
  const reads = readsOf(input.document, input.operationName, input.variables);
  if (reads.length === 0) return fields;
  let cost = fields;
  for (const read of reads)
    if (read.kind === 'rows' && Array.isArray(read.value)) cost += read.value.length;
  if (!input.viewer) return cost;
  const datasetIds = reads.flatMap((r) =>
    r.kind === 'datasetId' ? [uuidOf(r.value, 'Dataset')] : [],
  );
  const savedIds = reads.flatMap((r) =>
    r.kind === 'savedQuery' ? [uuidOf(r.value, 'SavedQuery')] : [],
  );
  const present = (ids: Array<string | null>) => ids.filter((id): id is string => id !== null);
  if (present(datasetIds).length + present(savedIds).length === 0) return cost;
  const rows = await rowsOf(input.db, input.viewer, present(datasetIds), present(savedIds));
  for (const id of [...datasetIds, ...savedIds])
    if (id) cost += Math.ceil((rows.get(id) ?? 0) / input.rowsPerPoint);
  return cost;
}
