import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_TABS } from '../../src/http/graphiql-tabs';
import { type DemoServer, startDemoServer } from './demo';
import { type Example, graphqlFileExamples, markdownExamples, operationsOf } from './extract';
import { exampleRunner } from './runner';

const ROOT = join(import.meta.dirname, '../..');

/** Every example a reader may copy: README.md, docs/*.md, examples/*.graphql, GraphiQL's tabs. */
const EXAMPLES: Example[] = [
  ...markdownExamples(join(ROOT, 'README.md'), 'README.md'),
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) => markdownExamples(join(ROOT, 'docs', f), `docs/${f}`)),
  ...readdirSync(join(ROOT, 'examples'))
    .filter((f) => f.endsWith('.graphql'))
    .flatMap((f) => graphqlFileExamples(join(ROOT, 'examples', f), `examples/${f}`)),
  ...GRAPHIQL_TABS.map(
    (tab): Example => ({
      where: `GraphiQL tab "${tab.name}"`,
      kind: 'graphql',
      operations: operationsOf(tab.query),
      commands: [],
      variables: tab.variables ? JSON.stringify(tab.variables) : null,
      skip: null,
      as: 'key',
    }),
  ),
];

describe('extraction', () => {
  it('finds GraphQL and curl blocks, their variables and skip marks, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peso-extract-'));
    const file = join(dir, 'doc.md');
    writeFileSync(
      file,
      [
        '```sh',
        'npm start',
        '```',
        '```sh',
        'curl -s http://localhost:4000/graphql \\',
        "  -d '{}'   # a comment",
        '# a comment line',
        'curl -T a.csv "<url>"',
        '```',
        '```graphql',
        'query A($x: ID!) { node(id: $x) { id } }',
        'subscription { heartbeat { at } }',
        '```',
        '',
        '```json',
        '{ "x": "<penguins id>" }',
        '```',
        '<!-- example: as owner -->',
        '```graphql',
        'mutation { createApiKey(input: { name: "k", role: VIEWER }) { __typename } }',
        '```',
        '<!-- example: skip needs a second organization -->',
        '',
        '```graphql',
        'query { viewer { id } }',
        '```',
        '```ts',
        'await fetch()',
        '```',
      ].join('\n'),
    );
    const examples = markdownExamples(file, 'doc.md');
    expect(examples.map((e) => [e.where, e.kind, e.skip, e.as])).toEqual([
      ['doc.md:4', 'curl', null, 'key'],
      ['doc.md:10', 'graphql', null, 'key'],
      ['doc.md:19', 'graphql', null, 'owner'],
      ['doc.md:24', 'graphql', 'needs a second organization', 'key'],
    ]);
    expect(examples[0]!.commands).toEqual([
      "curl -s http://localhost:4000/graphql -d '{}'   # a comment",
      'curl -T a.csv "<url>"',
    ]);
    expect(examples[1]!.operations.map((o) => [o.kind, o.name, o.variables])).toEqual([
      ['query', 'A', ['x']],
      ['subscription', null, []],
    ]);
    expect(examples[1]!.variables).toBe('{ "x": "<penguins id>" }');

    const graphqlFile = join(dir, 'ops.graphql');
    writeFileSync(
      graphqlFile,
      [
        '# example: variables {"x": "1"}',
        'query A($x: ID!) { node(id: $x) { ...F } }',
        '',
        '# example: skip needs a model',
        'query B { viewer { id } }',
        'fragment F on Node { id }',
      ].join('\n'),
    );
    const ops = graphqlFileExamples(graphqlFile, 'ops.graphql');
    expect(ops.map((e) => [e.where, e.variables, e.skip])).toEqual([
      ['ops.graphql:2', '{"x": "1"}', null],
      ['ops.graphql:5', null, 'needs a model'],
    ]);
    expect(ops[0]!.operations[0]!.text).toContain('fragment F on Node');
  });

  it('finds the examples of README.md and examples/', () => {
    const where = EXAMPLES.map((e) => e.where);
    expect(where.filter((w) => w.startsWith('README.md')).length).toBeGreaterThanOrEqual(9);
    expect(where.filter((w) => w.startsWith('examples/')).length).toBeGreaterThanOrEqual(8);
    expect(EXAMPLES.filter((e) => e.kind === 'curl').length).toBeGreaterThanOrEqual(3);
  });
});

describe('examples run as written against the demo data', () => {
  let demo: DemoServer;
  let runner: ReturnType<typeof exampleRunner>;

  beforeAll(async () => {
    demo = await startDemoServer();
    runner = exampleRunner(demo);
  }, 300_000);

  afterAll(() => demo?.server.close());

  for (const example of EXAMPLES) {
    const title = `${example.where} (${example.kind})`;
    if (example.skip) {
      it.skip(`${title}: skipped, ${example.skip}`, () => {});
      continue;
    }
    it(title, async () => {
      const outcomes = await runner.run(example);
      expect(outcomes.length).toBeGreaterThan(0);
    }, 180_000);
  }

  it('predict errors name the alias asked for and count rows from 1, as uploads count lines', async () => {
    const modelId = runner.state.get('model id');
    expect(modelId, 'the README trains and predicts with a model').toBeTruthy();
    const row = {
      Island: 'Biscoe',
      'Beak Length (mm)': 45.1,
      'Beak Depth (mm)': 14.5,
      'Flipper Length (mm)': 215,
      'Body Mass (g)': 5000,
      Sex: 'FEMALE',
    };
    const predict = async (alias: string, rows: unknown[]) =>
      (
        await demo.server.gql(
          `query($m: ID!, $a: String!, $rows: [JSON!]!) { predict(modelId: $m, alias: $a, rows: $rows) {
            __typename ... on PredictionResult { predictions { value } } ... on Error { code message } } }`,
          { m: modelId, a: alias, rows },
          demo.apiKey,
        )
      ).data?.predict;
    expect(await predict('production', [row])).toMatchObject({ __typename: 'PredictionResult' });
    expect(await predict('staging', [row])).toEqual({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
      message: 'A version of this model with the alias "staging" not found.',
    });
    const { Sex: _, ...withoutSex } = row;
    expect(await predict('production', [row, withoutSex])).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Row 2 has no feature "Sex".',
    });
    const wrong = await predict('production', [row, row, { ...row, 'Body Mass (g)': 'heavy' }]);
    expect(wrong.code).toBe('BAD_USER_INPUT');
    expect(wrong.message).toMatch(
      /^Row 3: Feature "Body Mass \(g\)" \(\w+\) has a value of the wrong type/,
    );
    expect(await predict('production', [row, 7])).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Row 2 is not an object of feature values.',
    });
  });
});
