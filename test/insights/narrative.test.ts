import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vegaFile } from '../datasets/sources';
import { type OpenAiServer, startOpenAiServer } from '../helpers/openai-server';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { SET_POLICY } from '../query/fixtures';
import { loadVega } from './insights-fixtures';

const NARRATIVE = `query($id: ID!) { datasetInsights(datasetId: $id) { narrative { text source } } }`;
const CARS = JSON.parse(Buffer.from(vegaFile('cars.json')).toString('utf8')) as Array<{
  Name: string;
  Horsepower: number | null;
}>;

interface Setup {
  server: TestServer;
  owner: Awaited<ReturnType<typeof signUpOwner>>;
  viewer: Awaited<ReturnType<typeof inviteMember>>;
  carsId: string;
}

/** cars, with Name and Horsepower masked for viewers. */
async function setUp(env: Record<string, string>): Promise<Setup> {
  const server = await startTestServer(env);
  const owner = await signUpOwner(server, 'narrative');
  const viewer = await inviteMember(server, owner.token, 'VIEWER');
  const { datasetId: carsId } = await loadVega(server, owner.token, 'cars.json');
  const policy = await server.gql(
    SET_POLICY,
    {
      input: {
        datasetId: carsId,
        role: 'VIEWER',
        columnRules: [
          { column: 'Name', rule: 'MASK' },
          { column: 'Horsepower', rule: 'MASK' },
        ],
      },
    },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
  return { server, owner, viewer, carsId };
}

async function narrative(s: Setup, token: string) {
  const res = await s.server.gql(NARRATIVE, { id: s.carsId }, token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.datasetInsights.narrative as { text: string; source: string };
}

/** Nothing of a masked column: its name, any car name. */
function expectNothingMasked(text: string) {
  expect(text).not.toContain('Horsepower');
  for (const car of CARS) expect(text).not.toContain(car.Name);
}

describe('narrative written by the LLM from computed facts', () => {
  let openai: OpenAiServer;
  let s: Setup;

  beforeAll(async () => {
    openai = await startOpenAiServer(() =>
      JSON.stringify({ narrative: 'Fuel economy falls as weight rises.' }),
    );
    s = await setUp({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.baseUrl });
  }, 120_000);

  afterAll(async () => {
    await s?.server.close();
    await openai?.close();
  });

  it('the prompt of a viewer with masked columns holds no value or name derived from them', async () => {
    const n = await narrative(s, s.viewer.token);
    expect(n).toEqual({ text: 'Fuel economy falls as weight rises.', source: 'LLM' });
    expect(openai.requests).toHaveLength(1);
    const prompt = openai.requests[0]!.messages.map((m) => m.content).join('\n');
    expectNothingMasked(prompt);
    // Facts, not rows: the clear columns' statistics are there.
    const facts = JSON.parse(openai.requests[0]!.messages.at(-1)!.content);
    expect(facts.rows).toBe(406);
    expect(facts.columns.map((c: any) => c.name)).toEqual([
      'Miles_per_Gallon',
      'Cylinders',
      'Displacement',
      'Weight_in_lbs',
      'Acceleration',
      'Year',
      'Origin',
    ]);
    expect(facts.columns.find((c: any) => c.name === 'Miles_per_Gallon').mean).toBe(23.51);
  });

  it('is cached per version and visibility: the viewer again costs no call, the owner gets their own', async () => {
    await narrative(s, s.viewer.token);
    expect(openai.requests).toHaveLength(1);
    await narrative(s, s.owner.token);
    expect(openai.requests).toHaveLength(2);
    const ownerPrompt = openai.requests[1]!.messages.at(-1)!.content;
    expect(ownerPrompt).toContain('Horsepower');
  });
});

describe('narrative without OPENAI_API_KEY', () => {
  let s: Setup;

  beforeAll(async () => {
    s = await setUp({ OPENAI_API_KEY: '' });
  }, 120_000);

  afterAll(() => s?.server.close());

  it('is written deterministically from the same facts, without masked columns', async () => {
    const n = await narrative(s, s.viewer.token);
    expect(n.source).toBe('FACTS');
    expect(n.text).toContain('cars (version 1) has 406 rows and 7 columns you can read in clear.');
    expect(n.text).toContain(
      'Miles_per_Gallon averages 23.51 (median 23, standard deviation 7.816) and ranges from 9 to 46.6. 8 values are missing.',
    );
    expect(n.text).toContain('Origin has 3 distinct values; the most common are USA (62.6%)');
    expectNothingMasked(n.text);
    expect(await narrative(s, s.viewer.token)).toEqual(n);
    const mine = await narrative(s, s.owner.token);
    expect(mine.text).toContain('Horsepower averages 105.1');
  });
});
