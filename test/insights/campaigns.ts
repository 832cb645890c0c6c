import { expect } from 'vitest';
import { campaignsCsv } from '../../src/demo/campaigns';
import type { TestServer } from '../helpers/server';

/** One generated campaign row, parsed from the CSV the demo loads. */
export interface CampaignRow {
  day: number;
  date: string;
  channel: string;
  campaign: string;
  impressions: number;
  clicks: number;
  conversions: number;
  cost: number;
  revenue: number;
}

export const CSV = campaignsCsv();

export const ROWS: CampaignRow[] = CSV.trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [date, channel, campaign, impressions, clicks, conversions, cost, revenue] =
      line.split(',');
    return {
      day: Math.round(
        (Date.parse(`${date}T00:00:00Z`) - Date.parse('2025-09-01T00:00:00Z')) / 864e5,
      ),
      date: date!,
      channel: channel!,
      campaign: campaign!,
      impressions: Number(impressions),
      clicks: Number(clicks),
      conversions: Number(conversions),
      cost: Number(cost),
      revenue: Number(revenue),
    };
  });

/** Sums of rows, with the KPIs computed here (independently of the SQL path). */
export function kpisOf(rows: CampaignRow[]) {
  const s = { impressions: 0, clicks: 0, conversions: 0, cost: 0, revenue: 0 };
  for (const r of rows) {
    s.impressions += r.impressions;
    s.clicks += r.clicks;
    s.conversions += r.conversions;
    s.cost += r.cost;
    s.revenue += r.revenue;
  }
  return {
    ...s,
    ctr: s.clicks / s.impressions,
    conversionRate: s.conversions / s.clicks,
    cpc: s.cost / s.clicks,
    cpa: s.cost / s.conversions,
    roas: s.revenue / s.cost,
  };
}

/** 2025-09-01 is a Monday: ISO weeks are whole blocks of 7 days; 26 weeks in all. */
export const week = (r: CampaignRow) => Math.floor(r.day / 7);
export const CURRENT = (r: CampaignRow) => week(r) >= 22;
export const PREVIOUS = (r: CampaignRow) => week(r) >= 18 && week(r) < 22;

export const MAPPING = {
  impressions: 'impressions',
  clicks: 'clicks',
  conversions: 'conversions',
  cost: 'cost',
  revenue: 'revenue',
  date: 'date',
  dimensions: ['channel', 'campaign'],
};

export const SET_SEMANTICS = `mutation($id: ID!, $mapping: SemanticMappingInput!) { setDatasetSemantics(datasetId: $id, mapping: $mapping) {
  __typename ... on DatasetSemantics { confirmed mapping { impressions clicks conversions cost revenue date dimensions } }
  ... on Error { code message } ... on InputError { field } } }`;

/** Creates the campaigns dataset in the owner's org and loads the generated rows. */
export async function loadCampaigns(server: TestServer, token: string, name = 'campaigns') {
  const created = await server.gql(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { __typename ... on Dataset { id } } }`,
    { input: { name } },
    token,
  );
  const datasetId = created.data!.createDataset.id as string;
  const uploaded = await server.upload(
    `mutation($id: ID!, $file: File!, $options: UploadOptions) { uploadDatasetVersion(datasetId: $id, file: $file, options: $options) {
      __typename ... on DatasetVersion { id } ... on Error { message } } }`,
    {
      id: datasetId,
      options: {
        typeOverrides: [
          { column: 'date', type: 'DATE' },
          { column: 'channel', type: 'CATEGORY' },
          { column: 'campaign', type: 'CATEGORY' },
          { column: 'cost', type: 'FLOAT' },
          { column: 'revenue', type: 'FLOAT' },
        ],
      },
    },
    { name: 'campaigns.csv', content: CSV },
    token,
  );
  expect(uploaded.data?.uploadDatasetVersion.__typename, JSON.stringify(uploaded)).toBe(
    'DatasetVersion',
  );
  return datasetId;
}

/** |actual − expected| ≤ 1e-9 · |expected|. */
export function close(actual: number | null | undefined, expected: number, tolerance = 1e-9) {
  expect(actual, `${actual} vs ${expected}`).not.toBeNull();
  expect(Math.abs((actual as number) - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(
    tolerance * Math.max(Math.abs(expected), Number.MIN_VALUE),
  );
}
