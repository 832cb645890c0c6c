import { readFileSync } from 'node:fs';
import { type DefinitionNode, Kind, type OperationDefinitionNode, parse } from 'graphql';

/**
 * The examples of a Markdown file or a `.graphql` file, as a reader would run them. The marking
 * conventions are described in CONTRIBUTING.md (Examples):
 *
 * - Markdown: every ```graphql block, and every ```sh block that calls `curl`, is an example. A
 *   ```json block right after a ```graphql block (blank lines between at most) holds its
 *   variables. `<!-- example: skip <reason> -->` on the line before a block (blank lines between
 *   at most) leaves it out, with the reason.
 * - `.graphql` files: every operation; `# example: variables {…}` and `# example: skip <reason>`
 *   in the comment lines right above an operation.
 * - `<!-- example: as owner -->` (Markdown) or `# example: as owner` runs it signed in as the demo
 *   owner instead of with the demo API key (what only a member may do: create keys, policies).
 * - `<…>` placeholders (`<penguins id>`, `<run id>`, …) are filled in by the runner.
 */

export interface GraphQLOperation {
  /** The operation, with the fragments of its document, as text. */
  text: string;
  kind: 'query' | 'mutation' | 'subscription';
  name: string | null;
  /** Declared variable names. */
  variables: string[];
  /** Those that must be given: non-null, without a default. */
  required: string[];
}

export interface Example {
  /** `README.md:100`: where the block starts (1-based line). */
  where: string;
  kind: 'graphql' | 'curl';
  /** GraphQL: its operations in order. */
  operations: GraphQLOperation[];
  /** curl: the shell commands, continuation lines joined, comment lines dropped. */
  commands: string[];
  /** Variables as written (placeholders not yet filled in). */
  variables: string | null;
  skip: string | null;
  /** Who runs it: the demo API key, or the demo owner signed in. */
  as: 'key' | 'owner';
}

const SKIP = /^<!--\s*example:\s*skip\b\s*(.*?)\s*-->$/;
const AS_OWNER = /^<!--\s*example:\s*as owner\s*-->$/;
const FENCE = /^```(\w*)\s*$/;

/** The operations of a GraphQL document, each with every fragment the document defines. */
export function operationsOf(source: string): GraphQLOperation[] {
  const document = parse(source);
  const fragments = document.definitions
    .filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)
    .map((d) => textOf(source, d))
    .join('\n');
  return document.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((op) => ({
      text: fragments ? `${textOf(source, op)}\n${fragments}` : textOf(source, op),
      kind: op.operation as GraphQLOperation['kind'],
      name: op.name?.value ?? null,
      variables: (op.variableDefinitions ?? []).map((v) => v.variable.name.value),
      required: (op.variableDefinitions ?? [])
        .filter((v) => v.type.kind === Kind.NON_NULL_TYPE && !v.defaultValue)
        .map((v) => v.variable.name.value),
    }));
}

const textOf = (source: string, node: DefinitionNode) =>
  source.slice(node.loc!.start, node.loc!.end);

/** Shell commands of a block: `\`-continued lines joined, blank and comment lines dropped. */
function commandsOf(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

export function markdownExamples(file: string, label = file): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const examples: Example[] = [];
  let previousGraphQL: { example: Example; endLine: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const lang = open[1]!.toLowerCase();
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    const body = lines.slice(i + 1, end).join('\n');
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const skip = before >= 0 ? SKIP.exec(lines[before]!.trim()) : null;
    const as = before >= 0 && AS_OWNER.test(lines[before]!.trim()) ? 'owner' : 'key';
    const where = `${label}:${i + 1}`;
    if (lang === 'json' && previousGraphQL && previousGraphQL.endLine === before) {
      previousGraphQL.example.variables = body;
    } else if (lang === 'graphql') {
      const example: Example = {
        where,
        kind: 'graphql',
        operations: skip ? [] : operationsOf(body),
        commands: [],
        variables: null,
        skip: skip ? skip[1] || 'no reason given' : null,
        as,
      };
      examples.push(example);
      previousGraphQL = { example, endLine: end };
    } else if (['sh', 'bash', 'shell', 'console'].includes(lang) && /\bcurl\b/.test(body)) {
      examples.push({
        where,
        kind: 'curl',
        operations: [],
        commands: commandsOf(body),
        variables: null,
        skip: skip ? skip[1] || 'no reason given' : null,
        as,
      });
    }
    if (lang !== 'graphql') previousGraphQL = null;
    i = end;
  }
  return examples;
}

/** Each operation of a `.graphql` file as its own example, with its `# example:` comments. */
export function graphqlFileExamples(file: string, label = file): Example[] {
  const source = readFileSync(file, 'utf8');
  const document = parse(source);
  return document.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((op) => {
      const line = source.slice(0, op.loc!.start).split('\n').length;
      const comments: string[] = [];
      const lines = source.split('\n');
      for (let l = line - 2; l >= 0 && lines[l]!.trim().startsWith('#'); l--)
        comments.unshift(lines[l]!.trim().replace(/^#\s*/, ''));
      const directive = (name: string) =>
        comments
          .map((c) => new RegExp(`^example:\\s*${name}\\b\\s*(.*)$`).exec(c))
          .find(Boolean)?.[1];
      const skip = directive('skip');
      const [operation] = operationsOf(
        // The operation with every fragment of the file.
        [
          textOf(source, op),
          ...document.definitions
            .filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)
            .map((d) => textOf(source, d)),
        ].join('\n'),
      );
      return {
        where: `${label}:${line}`,
        kind: 'graphql' as const,
        operations: [operation!],
        commands: [],
        variables: directive('variables') ?? null,
        skip: skip === undefined ? null : skip || 'no reason given',
        as: directive('as') === 'owner' ? ('owner' as const) : ('key' as const),
      };
    });
}
