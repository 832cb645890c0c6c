import type { Plugin } from '@envelop/core';
import {
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { accessGeneration } from '../access/cache';
import { isUnrepeatable } from '../access/effects';
import type { AppContext } from '../context';

/**
 * Replaying a finished `datasetInsights` read. Insights of a version are computed once per
 * version and visibility and never change; what a viewer may see of them changes only with an
 * access change (a policy, a column's sensitivity, a membership, a new version for "latest"),
 * and every access change moves the access caches to a new generation. So the result of a query
 * that reads nothing but insights is the same for the same viewer, document and variables until
 * then, and is answered again from memory instead of executed again.
 *
 * A result is kept only when:
 * - the operation is a query, without directives, whose every field lies within the insights
 *   types below;
 * - it has no errors, and nothing during execution marked it unrepeatable: an insights state
 *   that is not READY, or any gated read (which writes the audit log or spends a privacy budget,
 *   effects a replay would skip) — see `unrepeatable` (src/access/effects.ts).
 * Keys hold the access generation (after the request's epoch sync), the viewer (kind, principal,
 * org, role) and the operation; entries are bounded in number.
 */

/**
 * The types a replayed result may reach (below `Query.datasetInsights`). Not among them: the
 * `Dataset` and `DatasetVersion` of `dataset` and `version`, the run of `progress` (live values)
 * and `InsightsNarrative` (written by an LLM).
 */
const INSIGHTS_TYPES = new Set([
  'DatasetInsights',
  'ColumnInsights',
  'HistogramBin',
  'CategoryShare',
  'Percentile',
  'CorrelationMatrix',
  'Correlation',
  'ColumnAnomalies',
  'SeasonalAnomalies',
  'SeasonalAnomaly',
]);

const MAX_ENTRIES = 500;

/** Reads answered from memory, and results kept, since the process started (for tests and metrics). */
export const replayStats = { replayed: 0, kept: 0 };

const replayable = new WeakMap<DocumentNode, Map<string | null, boolean>>();

/** Whether the named operation of the document is a query reading insights fields only. */
export function readsOnlyInsights(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
): boolean {
  let byOperation = replayable.get(document);
  if (!byOperation) {
    byOperation = new Map();
    replayable.set(document, byOperation);
  }
  const name = operationName ?? null;
  let answer = byOperation.get(name);
  if (answer === undefined) {
    answer = check(schema, document, name);
    byOperation.set(name, answer);
  }
  return answer;
}

function check(schema: GraphQLSchema, document: DocumentNode, name: string | null): boolean {
  const operation = getOperationAST(document, name);
  if (operation?.operation !== 'query') return false;
  // Directives (@include, @skip, or others) could change what runs: not replayed.
  let ok = true;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Directive() {
        ok = false;
      },
      Field(node) {
        const parent = typeInfo.getParentType();
        if (!parent) {
          ok = false;
          return;
        }
        if (node.name.value === '__typename') return;
        if (parent.name === schema.getQueryType()?.name) {
          if (node.name.value !== 'datasetInsights') ok = false;
          return;
        }
        if (!INSIGHTS_TYPES.has(parent.name)) ok = false;
        const type = typeInfo.getType();
        const named = type ? getNamedType(type) : null;
        // Leaves are scalars and enums; objects must be insights types themselves.
        if (named && 'getFields' in named && !INSIGHTS_TYPES.has(named.name)) ok = false;
      },
    }),
  );
  // Every operation of the document is checked: one that fails makes replay less likely, never
  // wrong.
  return ok;
}

function viewerKey(ctx: AppContext): string | null {
  const v = ctx.viewer;
  if (!v) return null;
  return `${v.kind}:${v.membershipId ?? v.apiKeyId ?? ''}:${v.orgId}:${v.role}`;
}

/** The envelop plugin: answers a replayable read from memory, and keeps the ones it executes. */
export function useInsightsReplay(): Plugin<AppContext> {
  // Oldest first: when full, the oldest entry makes room.
  const results = new Map<string, ExecutionResult>();
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as AppContext;
      if (!readsOnlyInsights(args.schema, args.document, args.operationName)) return;
      const who = viewerKey(ctx);
      if (who === null) return;
      const generation = await accessGeneration(ctx);
      if (generation === null) return;
      let documentId = documentIds.get(args.document);
      if (documentId === undefined) {
        documentId = nextDocumentId++;
        documentIds.set(args.document, documentId);
      }
      const key = `${generation}\u0000${who}\u0000${documentId}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
      const hit = results.get(key);
      if (hit) {
        replayStats.replayed++;
        setResultAndStopExecution(hit);
        return;
      }
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in result) return;
          const done = result as ExecutionResult;
          if (done.errors?.length || !done.data || isUnrepeatable(ctx)) return;
          if (results.size >= MAX_ENTRIES) results.delete(results.keys().next().value!);
          results.set(key, done);
          replayStats.kept++;
        },
      };
    },
  };
}
