import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmeans, seededRandom, silhouette } from '../../src/insights/segments';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { SET_POLICY } from '../query/fixtures';
import { close } from './campaigns';

/**
 * References computed with python3 and mpmath outside the project: the mean silhouette of ten
 * points under two labelings (mean distances by direct summation), and the means and sample
 * standard deviations of Horsepower, Weight_in_lbs and Miles_per_Gallon over the 392 cars of
 * vega-datasets cars.json that have all three.
 */
const POINTS = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
  [5, 5],
  [5, 6],
  [6, 5],
  [9, 0],
  [9, 1],
  [10, 0.5],
];
const SILHOUETTE = {
  natural: { labels: [0, 0, 0, 0, 1, 1, 1, 2, 2, 2], value: 0.8272053731627468 },
  mixed: { labels: [0, 0, 1, 1, 1, 1, 1, 2, 2, 2], value: 0.37602472384788344 },
};
const CARS = {
  rows: 392,
  means: [104.46938775510203, 2977.5841836734694, 23.445918367346938],
  sds: [38.49115993282849, 849.4025600429493, 7.805007486571799],
};

describe('k-means and silhouette', () => {
  it('computes the mean silhouette of the reference', () => {
    close(silhouette(POINTS, SILHOUETTE.natural.labels, 3), SILHOUETTE.natural.value);
    close(silhouette(POINTS, SILHOUETTE.mixed.labels, 3), SILHOUETTE.mixed.value);
  });

  it('finds separated groups, the same way for the same seed', () => {
    const a = kmeans(POINTS, 3, seededRandom(1));
    const b = kmeans(POINTS, 3, seededRandom(1));
    expect([...a.labels]).toEqual([...b.labels]);
    const groups = [...a.labels];
    // The three natural groups, whatever the numbering.
    expect(new Set(groups.slice(0, 4)).size).toBe(1);
    expect(new Set(groups.slice(4, 7)).size).toBe(1);
    expect(new Set(groups.slice(7)).size).toBe(1);
    expect(new Set([groups[0], groups[4], groups[7]]).size).toBe(3);
    // Squared distances to the group means: 4 × 1/2, then 2/9 + 5/9 + 5/9, then 13/36 × 2 + 4/9.
    close(a.inertia, 2 + 4 / 3 + 7 / 6);
  });
});

const SEGMENTS = `query($id: ID!, $features: [String!]!, $k: Int, $seed: Int) {
  segments(datasetId: $id, features: $features, k: $k, seed: $seed) {
  __typename
  ... on Segments { features k chosenBySilhouette silhouette candidates { k silhouette }
    rowsVisible sampleSize sampled seed means standardDeviations
    segments { index size share centroid standardized description
      distinguishing { feature deviation direction } } }
  ... on Error { code message } } }`;

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;

async function load(name: string, file: string, content: string) {
  const created = await server.gql(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { __typename ... on Dataset { id } } }`,
    { input: { name } },
    owner.token,
  );
  const datasetId = created.data!.createDataset.id as string;
  const uploaded = await server.upload(
    `mutation($id: ID!, $file: File!) { uploadDatasetVersion(datasetId: $id, file: $file) {
      __typename ... on DatasetVersion { id } ... on Error { message } } }`,
    { id: datasetId },
    { name: file, content },
    owner.token,
  );
  expect(uploaded.data?.uploadDatasetVersion.__typename, JSON.stringify(uploaded)).toBe(
    'DatasetVersion',
  );
  return datasetId;
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'segments');
}, 60_000);

afterAll(() => server?.close());

describe('Query.segments', () => {
  it('segments the cars on standardized features, centroids in their own units', async () => {
    const dataDir = join(createRequire(import.meta.url).resolve('vega-datasets'), '../../data');
    const id = await load('cars', 'cars.json', readFileSync(join(dataDir, 'cars.json'), 'utf8'));
    const features = ['Horsepower', 'Weight_in_lbs', 'Miles_per_Gallon'];
    const res = await server.gql(SEGMENTS, { id, features }, owner.token);
    const s = res.data?.segments;
    expect(s?.__typename, JSON.stringify(res)).toBe('Segments');
    expect(s).toMatchObject({
      features,
      chosenBySilhouette: true,
      rowsVisible: CARS.rows,
      sampleSize: CARS.rows,
      sampled: false,
      seed: 42,
    });
    CARS.means.forEach((m, j) => {
      close(s.means[j], m);
    });
    CARS.sds.forEach((sd, j) => {
      close(s.standardDeviations[j], sd);
    });
    // k is the candidate with the best silhouette.
    const best = [...s.candidates].sort(
      (a: { silhouette: number }, b: { silhouette: number }) => b.silhouette - a.silhouette,
    )[0];
    expect(s.k).toBe(best.k);
    close(s.silhouette, best.silhouette);
    // Centroids are member means, so their weighted mean is the overall mean.
    expect(s.segments.reduce((n: number, g: { size: number }) => n + g.size, 0)).toBe(CARS.rows);
    for (let j = 0; j < 3; j++) {
      const weighted = s.segments.reduce(
        (sum: number, g: { share: number; centroid: number[] }) => sum + g.share * g.centroid[j]!,
        0,
      );
      close(weighted, CARS.means[j]!);
      for (const g of s.segments)
        close(g.centroid[j], CARS.means[j]! + g.standardized[j] * CARS.sds[j]!);
    }
    for (const g of s.segments) {
      const deviations = g.distinguishing.map((d: { deviation: number }) => Math.abs(d.deviation));
      expect([...deviations].sort((a, b) => b - a)).toEqual(deviations);
      expect(deviations.every((d: number) => d >= 0.5)).toBe(true);
    }
    const again = await server.gql(SEGMENTS, { id, features }, owner.token);
    expect(again.data?.segments).toEqual(s);
    const three = await server.gql(SEGMENTS, { id, features, k: 3 }, owner.token);
    expect(three.data?.segments).toMatchObject({ k: 3, chosenBySilhouette: false, candidates: [] });
  });

  it('samples a large table in SQL through the gate, and a row policy limits the rows', async () => {
    const lines = ['grp,x,y'];
    for (let i = 0; i < 12_000; i++) {
      const mine = i < 6000;
      const x = mine ? 5 : 105;
      const y = (i % 2 ? 50 : 0) + ((i * 104_729) % 100) / 50;
      lines.push(`${mine ? 'a' : 'b'},${x},${y}`);
    }
    const id = await load('points', 'points.csv', `${lines.join('\n')}\n`);
    const res = await server.gql(SEGMENTS, { id, features: ['x', 'y'] }, owner.token);
    const s = res.data?.segments;
    expect(s?.__typename, JSON.stringify(res)).toBe('Segments');
    expect(s.rowsVisible).toBe(12_000);
    expect(s.sampled).toBe(true);
    expect(s.sampleSize).toBeGreaterThan(4500);
    expect(s.sampleSize).toBeLessThan(5500);
    // Four blobs: x at 5 or 105, y near 1 or 51.
    expect(s.k).toBe(4);
    const again = await server.gql(SEGMENTS, { id, features: ['x', 'y'] }, owner.token);
    expect(again.data?.segments.sampleSize).toBe(s.sampleSize);
    expect(again.data?.segments.means).toEqual(s.means);

    const member = await inviteMember(server, owner.token, 'VIEWER');
    const policy = await server.gql(
      SET_POLICY,
      { input: { datasetId: id, role: 'VIEWER', rowFilter: { column: 'grp', eq: 'a' } } },
      owner.token,
    );
    expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
    const theirs = await server.gql(SEGMENTS, { id, features: ['x', 'y'] }, member.token);
    const t = theirs.data?.segments;
    expect(t?.__typename, JSON.stringify(theirs)).toBe('Segments');
    expect(t.rowsVisible).toBe(6000);
    expect(t.sampled).toBe(true);
    expect(t.sampleSize).toBeGreaterThan(4500);
    expect(t.sampleSize).toBeLessThanOrEqual(6000);
    // Only their rows: x is 5 throughout (a constant feature, left at 0 sd), two blobs in y.
    expect(t.means[0]).toBe(5);
    expect(t.standardDeviations[0]).toBe(0);
    expect(t.k).toBe(2);
    for (const g of t.segments) expect(g.centroid[0]).toBe(5);
  });

  it('names bad input', async () => {
    const id = await load('tiny', 'tiny.csv', 'name,v\na,1\nb,2\nc,3\n');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ features: ['name'] }, /not a number/],
      [{ features: [] }, /1 to 20 features/],
      [{ features: ['v', 'v'] }, /twice/],
      [{ features: ['v'], k: 0 }, /k is a whole number/],
      [{ features: ['v'] }, /at least 4 rows/],
    ];
    for (const [args, message] of cases) {
      const res = await server.gql(SEGMENTS, { id, ...args }, owner.token);
      expect(res.data?.segments, JSON.stringify(args)).toMatchObject({
        __typename: 'InputError',
        message: expect.stringMatching(message),
      });
    }
  });
});
