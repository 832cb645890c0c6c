import { expect } from 'vitest';
import type { TestServer } from '../helpers/server';

export const REGIONS = ['north', 'south', 'east', 'west'] as const;
const NAMES = ['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda'];

export interface Customer {
  id: number;
  name: string;
  email: string;
  region: (typeof REGIONS)[number];
  spend: number;
  signup: string;
  notes: string;
}

/** 40 deterministic customers; region north has 13, the others 9. */
export function customers(): Customer[] {
  return Array.from({ length: 40 }, (_, i) => ({
    id: i + 1,
    name: NAMES[i % NAMES.length]!,
    email: `${NAMES[i % NAMES.length]!.toLowerCase()}${i}@example.com`,
    region: i < 13 ? 'north' : REGIONS[1 + (i % 3)]!,
    spend: Math.round(((i * 37) % 101) * 10 + 5) / 10,
    signup: `2026-0${1 + (i % 6)}-${String(1 + (i % 27)).padStart(2, '0')}`,
    notes: i % 5 === 0 ? `likes red shoes, account ${i}` : `prefers email; tier ${i % 3}`,
  }));
}

export function customersCsv(rows = customers()): string {
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return `id,name,email,region,spend,signup,notes\n${rows
    .map((r) =>
      [r.id, r.name, r.email, r.region, r.spend, r.signup, r.notes]
        .map((v) => quote(String(v)))
        .join(','),
    )
    .join('\n')}\n`;
}

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!, $options: UploadOptions) {
  uploadDatasetVersion(datasetId: $datasetId, file: $file, options: $options) {
    __typename ... on DatasetVersion { id } ... on Error { code message } } }`;

/** Creates a dataset and loads `csv` into it; name and email are marked PII. */
export async function loadCustomers(server: TestServer, token: string, name = 'customers') {
  const created = await server.gql(CREATE, { input: { name } }, token);
  expect(created.data?.createDataset.__typename, JSON.stringify(created)).toBe('Dataset');
  const datasetId = created.data!.createDataset.id as string;
  const uploaded = await server.upload(
    UPLOAD,
    {
      datasetId,
      options: {
        typeOverrides: [{ column: 'region', type: 'CATEGORY' }],
        sensitivityOverrides: [
          { column: 'name', sensitivity: 'PII' },
          { column: 'email', sensitivity: 'PII' },
        ],
      },
    },
    { name: 'customers.csv', content: customersCsv() },
    token,
  );
  expect(uploaded.data?.uploadDatasetVersion.__typename, JSON.stringify(uploaded)).toBe(
    'DatasetVersion',
  );
  return { datasetId, versionId: uploaded.data!.uploadDatasetVersion.id as string };
}

export const QUERY = `query($id: ID!, $input: DatasetQueryInput!, $first: Int, $after: String, $version: Int) {
  datasetQuery(datasetId: $id, input: $input, first: $first, after: $after, version: $version) {
    __typename
    ... on QueryResult { columns { name type masked rule } rows totalCount pageInfo { hasNextPage endCursor } }
    ... on Error { code message }
  } }`;

export const SEARCH = `query($id: ID!, $text: String!, $first: Int) {
  searchDataset(datasetId: $id, text: $text, first: $first) {
    __typename
    ... on QueryResult { columns { name masked } rows totalCount }
    ... on Error { code message }
  } }`;

export const SET_POLICY = `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) {
  __typename ... on DatasetPolicy { id access minGroupSize columnRules { column rule } rowFilter }
  ... on Error { code message } } }`;
