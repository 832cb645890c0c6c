import {
  type ASTNode,
  type DocumentNode,
  GraphQLError,
  Kind,
  type ValueNode,
  type VariableDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Input validation at the edge, for every transport (HTTP, SSE and graphql-ws all execute through
 * the same envelop pipeline): variables and inline argument values are walked before graphql-js
 * coerces them, and refused with `BAD_USER_INPUT` naming the field when they could only end as an
 * internal error further in — a NUL character (PostgreSQL text and jsonb cannot hold one), a
 * lone surrogate (not Unicode), a non-finite number, or nesting deeper than `maxDepth` (deep values overflow the stack of
 * recursive code: coercion, the query compiler, jsonb encoding).
 */
export interface InputLimits {
  /** Deepest nesting of objects and lists in one variable or inline argument. */
  maxDepth: number;
}

function refuse(field: string, problem: string): GraphQLError {
  return new GraphQLError(`Invalid input at ${field}: ${problem}`, {
    extensions: { code: 'BAD_USER_INPUT', field, http: { status: 400 } },
  });
}

const tooDeep = (limits: InputLimits) =>
  `nested deeper than ${limits.maxDepth} levels (PESO_MAX_INPUT_DEPTH).`;

/** A UTF-16 surrogate without its pair: no UTF-8 text (nor PostgreSQL's json) can hold it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkString(value: string, field: string): GraphQLError | null {
  if (value.includes('\u0000')) return refuse(field, 'contains a NUL character.');
  if (LONE_SURROGATE.test(value)) return refuse(field, 'is not valid Unicode (a lone surrogate).');
  return null;
}

const isFile = (value: object): value is File =>
  typeof (value as File).stream === 'function' && typeof (value as File).name === 'string';

/** The first problem in a raw (JSON-decoded) variable value; the walk never goes past the limit. */
export function checkValue(
  value: unknown,
  field: string,
  limits: InputLimits,
  depth = 0,
): GraphQLError | null {
  if (typeof value === 'string') return checkString(value, field);
  if (typeof value === 'number') {
    return Number.isFinite(value) ? null : refuse(field, 'numbers must be finite.');
  }
  if (value === null || typeof value !== 'object') return null;
  // An uploaded file's name is stored as the version's filename.
  if (isFile(value)) return checkString(value.name, `${field}.name`);
  if (depth >= limits.maxDepth) return refuse(field, tooDeep(limits));
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const error = checkValue(value[i], `${field}.${i}`, limits, depth + 1);
      if (error) return error;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    const error =
      checkString(key, `${field}.<key>`) ?? checkValue(item, `${field}.${key}`, limits, depth + 1);
    if (error) return error;
  }
  return null;
}

function checkLiteral(
  node: ValueNode,
  field: string,
  limits: InputLimits,
  depth = 0,
): GraphQLError | null {
  switch (node.kind) {
    case Kind.STRING:
      return checkString(node.value, field);
    case Kind.FLOAT:
      return Number.isFinite(Number(node.value)) ? null : refuse(field, 'numbers must be finite.');
    case Kind.LIST:
      if (depth >= limits.maxDepth) return refuse(field, tooDeep(limits));
      for (let i = 0; i < node.values.length; i++) {
        const error = checkLiteral(node.values[i]!, `${field}.${i}`, limits, depth + 1);
        if (error) return error;
      }
      return null;
    case Kind.OBJECT:
      if (depth >= limits.maxDepth) return refuse(field, tooDeep(limits));
      for (const entry of node.fields) {
        const error = checkLiteral(entry.value, `${field}.${entry.name.value}`, limits, depth + 1);
        if (error) return error;
      }
      return null;
    default:
      return null;
  }
}

/** The first problem among the inline argument values and variable defaults of a document. */
export function checkDocument(document: DocumentNode, limits: InputLimits): GraphQLError | null {
  // Selections are walked with an explicit stack: their depth is bounded by the complexity
  // limits, which run later, not here.
  const stack: ASTNode[] = [...document.definitions];
  for (let node = stack.pop(); node; node = stack.pop()) {
    switch (node.kind) {
      case Kind.OPERATION_DEFINITION:
        for (const definition of node.variableDefinitions ?? []) stack.push(definition);
        for (const directive of node.directives ?? []) stack.push(directive);
        stack.push(node.selectionSet);
        break;
      case Kind.FRAGMENT_DEFINITION:
      case Kind.INLINE_FRAGMENT:
        for (const directive of node.directives ?? []) stack.push(directive);
        stack.push(node.selectionSet);
        break;
      case Kind.SELECTION_SET:
        stack.push(...node.selections);
        break;
      case Kind.FRAGMENT_SPREAD:
        for (const directive of node.directives ?? []) stack.push(directive);
        break;
      case Kind.VARIABLE_DEFINITION: {
        const definition = node as VariableDefinitionNode;
        const error =
          definition.defaultValue &&
          checkLiteral(definition.defaultValue, definition.variable.name.value, limits);
        if (error) return error;
        break;
      }
      case Kind.FIELD:
      case Kind.DIRECTIVE:
        for (const argument of node.arguments ?? []) {
          const error = checkLiteral(
            argument.value,
            `${node.name.value}.${argument.name.value}`,
            limits,
          );
          if (error) return error;
        }
        if (node.kind === Kind.FIELD) {
          for (const directive of node.directives ?? []) stack.push(directive);
          if (node.selectionSet) stack.push(node.selectionSet);
        }
        break;
    }
  }
  return null;
}

/** The first problem among the raw variables of a request. */
export function checkVariables(
  variables: Record<string, unknown> | null | undefined,
  limits: InputLimits,
): GraphQLError | null {
  if (!variables || typeof variables !== 'object') return null;
  for (const [name, value] of Object.entries(variables)) {
    const error = checkValue(value, name, limits);
    if (error) return error;
  }
  return null;
}

const tooComplex = () =>
  new GraphQLError('The document is nested too deeply to be read.', {
    extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
  });

/** graphql-js parses and validates recursively: a hostile document must not end as a 500. */
function stackSafe<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return fn(...args);
    } catch (error) {
      if (error instanceof RangeError) throw tooComplex();
      throw error;
    }
  };
}

/**
 * The envelop plugin: checks every operation before it executes or subscribes, over any
 * transport, and makes parsing and validation of over-deep documents a typed error.
 */
export function useInputGuard(limits: InputLimits): Plugin {
  const refused = (args: { document: DocumentNode; variableValues?: unknown }) =>
    checkDocument(args.document, limits) ??
    checkVariables(args.variableValues as Record<string, unknown> | undefined, limits);
  return {
    // Whichever parser ends up chosen (other plugins may replace it), its overflow becomes a
    // typed error here.
    onParse:
      () =>
      ({ result, replaceParseResult }) => {
        if (result instanceof RangeError) replaceParseResult(tooComplex());
      },
    onValidate({ validateFn, setValidationFn }) {
      const safe = stackSafe(validateFn);
      setValidationFn((...args) => {
        try {
          return safe(...args);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
      });
    },
    onExecute({ args, setResultAndStopExecution }) {
      const error = refused(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refused(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
