import { expect } from 'vitest';
import { vegaFile } from '../datasets/sources';
import type { TestServer } from '../helpers/server';

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!, $options: UploadOptions) {
  uploadDatasetVersion(datasetId: $datasetId, file: $file, options: $options) {
    __typename ... on DatasetVersion { id number } ... on Error { code message } } }`;

/** Creates a dataset and uploads a vega-datasets file into it as it is. */
export async function loadVega(
  server: TestServer,
  token: string,
  file: string,
  name = file.replace(/\..*$/, ''),
  options: Record<string, unknown> = {},
): Promise<{ datasetId: string; versionId: string }> {
  const created = await server.gql(CREATE, { input: { name } }, token);
  expect(created.data?.createDataset.__typename, JSON.stringify(created)).toBe('Dataset');
  const datasetId = created.data!.createDataset.id as string;
  const versionId = await uploadVersion(server, token, datasetId, file, vegaFile(file), options);
  return { datasetId, versionId };
}

export async function uploadVersion(
  server: TestServer,
  token: string,
  datasetId: string,
  name: string,
  content: Uint8Array | string,
  options: Record<string, unknown> = {},
): Promise<string> {
  const uploaded = await server.upload(UPLOAD, { datasetId, options }, { name, content }, token);
  expect(uploaded.data?.uploadDatasetVersion.__typename, JSON.stringify(uploaded)).toBe(
    'DatasetVersion',
  );
  return uploaded.data!.uploadDatasetVersion.id as string;
}

/** Version 2: the cars not from Japan, without Acceleration, with a new Rating column. */
export function carsSecondVersion(): string {
  const cars = JSON.parse(Buffer.from(vegaFile('cars.json')).toString('utf8')) as Array<
    Record<string, unknown>
  >;
  return JSON.stringify(
    cars
      .filter((c) => c.Origin !== 'Japan')
      .map(({ Acceleration: _, ...rest }, i) => ({ ...rest, Rating: i % 5 })),
  );
}

export const INSIGHTS = `query($id: ID!, $version: Int) { datasetInsights(datasetId: $id, version: $version) {
  status rows computedAt progress { status step totalSteps phase }
  columns { name type kind count nulls distinct min max earliest latest mean median std q1 q3 iqr mad
    skewness kurtosis percentiles { p value } histogram { lower upper count share }
    topCategories { value count share } }
  correlations { columns pearson spearman pairs { x y n pearson pearsonP spearman spearmanP } }
  anomalies { column rule lower upper count rows }
  seasonalAnomalies { time measure unit period points anomalies { bucket value trend seasonal residual score } }
} }`;

/** |actual − expected| ≤ tol·max(1, |expected|). */
export function close(actual: number | null | undefined, expected: number, tol = 1e-9) {
  expect(actual, `expected ${expected}`).not.toBeNull();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(
    tol * Math.max(1, Math.abs(expected)),
  );
}
