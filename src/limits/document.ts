import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import {
  type ASTNode,
  GraphQLError,
  Kind,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { DocumentLimits } from '../config';

/** Which limit a document went over, as clients read it in `extensions`. */
export type LimitName =
  | 'documentBytes'
  | 'tokens'
  | 'aliases'
  | 'directives'
  | 'depth'
  | 'listLength'
  | 'cost';

/** The one error every document limit answers with: `LIMIT_EXCEEDED`, naming the limit. */
export function limitError(limit: LimitName, max: number, message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'LIMIT_EXCEEDED', limit, max, http: { status: 400 } },
  });
}

/** graphql-armor reports with its own uncoded error; report ours (with the code) instead. */
function rejectAs(limit: LimitName, max: number, what: string): GraphQLArmorRejectCallback[] {
  return [
    (context) => {
      const coded = limitError(limit, max, `The document has more ${what} than allowed (${max}).`);
      if (context) context.reportError(coded);
      else throw coded;
    },
  ];
}

/**
 * Value lists of the filter operators `in` and `notIn`: the query language bounds them itself
 * (10,000 values, `BAD_USER_INPUT` naming `where`), so they are left to it.
 */
const LANGUAGE_BOUNDED = new Set(['in', 'notIn']);

/** A list written in the document longer than the limit (lists in variables: `longListIn`). */
function listLengthRule(max: number): ValidationRule {
  return (context: ValidationContext) => ({
    ListValue(node, _key, parent) {
      const field = parent && !Array.isArray(parent) ? (parent as ASTNode) : null;
      if (field?.kind === Kind.OBJECT_FIELD && LANGUAGE_BOUNDED.has(field.name.value)) return;
      if (node.values.length > max)
        context.reportError(
          limitError('listLength', max, `A list in the document has more than ${max} items.`),
        );
    },
  });
}

/** The first list in variable values longer than `max`, as a path (`ids`, `input.where.in`). */
export function longListIn(value: unknown, max: number, path = ''): string | null {
  if (Array.isArray(value)) {
    if (value.length > max) return path || '(variables)';
    for (const [i, item] of value.entries()) {
      const found = longListIn(item, max, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (LANGUAGE_BOUNDED.has(key) && Array.isArray(item)) continue;
      const found = longListIn(item, max, path ? `${path}.${key}` : key);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Size, token, alias, directive, depth and list-literal limits, checked while a document is
 * parsed and validated — before any context or resolver runs. graphql-ws validates through the
 * same envelop pipeline, so WebSocket operations meet the same limits as HTTP and SSE.
 */
export function useDocumentLimits(limits: DocumentLimits): Plugin {
  const common = { propagateOnRejection: false, exposeLimits: true } as const;
  const rules = [
    maxAliasesRule({
      ...common,
      n: limits.maxAliases,
      onReject: rejectAs('aliases', limits.maxAliases, 'aliases'),
    }),
    maxDirectivesRule({
      ...common,
      n: limits.maxDirectives,
      onReject: rejectAs('directives', limits.maxDirectives, 'directives'),
    }),
    maxDepthRule({
      ...common,
      n: limits.maxDepth,
      ignoreIntrospection: true,
      onReject: rejectAs('depth', limits.maxDepth, 'levels of nesting'),
    }),
    listLengthRule(limits.maxListLength),
  ];
  return {
    onParse({ params, setParseFn }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      if (Buffer.byteLength(source, 'utf8') > limits.maxDocumentBytes)
        throw limitError(
          'documentBytes',
          limits.maxDocumentBytes,
          `The document is larger than ${limits.maxDocumentBytes} bytes.`,
        );
      setParseFn((src, options) =>
        new MaxTokensParserWLexer(src, {
          ...options,
          ...common,
          n: limits.maxTokens,
          onReject: rejectAs('tokens', limits.maxTokens, 'tokens'),
        }).parseDocument(),
      );
    },
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
  };
}
