import { Readable } from 'node:stream';
import { datasetPolicies } from '../../db/schema/access';
import type { DatasetVersion } from '../../db/schema/datasets';
import type { AuthedContext } from '../context';
import { createDataset, uploadVersion } from '../datasets/service';
import { seededRandom } from '../insights/segments';
import { setDatasetSemantics } from '../insights/semantics';

/**
 * The channels of the generated campaigns: traffic, rates and prices chosen so that their ROAS
 * differ on purpose (email and search pay back well, display does not), plus one channel whose
 * click-through falls and cost per acquisition rises over the last four weeks.
 */
export const CAMPAIGN_CHANNELS = [
  {
    channel: 'search',
    campaigns: ['brand-search', 'generic-search'],
    impressions: 9000,
    ctr: 0.045,
    cvr: 0.06,
    cpc: 0.9,
    order: 52,
  },
  {
    channel: 'social',
    campaigns: ['social-prospecting', 'social-retargeting'],
    impressions: 30000,
    ctr: 0.012,
    cvr: 0.025,
    cpc: 0.55,
    order: 26,
  },
  {
    channel: 'display',
    campaigns: ['display-awareness', 'display-partners'],
    impressions: 60000,
    ctr: 0.004,
    cvr: 0.012,
    cpc: 0.7,
    order: 44,
  },
  {
    channel: 'email',
    campaigns: ['newsletter', 'winback'],
    impressions: 12000,
    ctr: 0.03,
    cvr: 0.045,
    cpc: 0.35,
    order: 35,
  },
  {
    channel: 'video',
    campaigns: ['video-launch'],
    impressions: 25000,
    ctr: 0.008,
    cvr: 0.02,
    cpc: 0.8,
    order: 70,
  },
] as const;

/** First day of the generated data and how many days it covers (26 weeks). */
export const CAMPAIGNS_START = '2025-09-01';
export const CAMPAIGNS_DAYS = 182;
/** Channel whose CTR falls (and CPA rises) in the last four weeks. */
const FADING = 'social';
/** Busier on weekdays (Monday first). */
const WEEKDAY = [1.1, 1.12, 1.1, 1.05, 1.0, 0.8, 0.75];

/** A seeded stand-in for a real ad account: one row per campaign and day. */
export function campaignsCsv(seed = 7): string {
  const random = seededRandom(seed);
  const noise = (spread: number) => 1 + (random() * 2 - 1) * spread;
  const start = Date.parse(`${CAMPAIGNS_START}T00:00:00Z`);
  const lines = ['date,channel,campaign,impressions,clicks,conversions,cost,revenue'];
  for (let day = 0; day < CAMPAIGNS_DAYS; day++) {
    const date = new Date(start + day * 864e5);
    const weekday = WEEKDAY[(date.getUTCDay() + 6) % 7]!;
    const growth = 1 + day / CAMPAIGNS_DAYS / 4;
    const fading = day >= CAMPAIGNS_DAYS - 28;
    for (const c of CAMPAIGN_CHANNELS) {
      for (const campaign of c.campaigns) {
        const impressions = Math.round(
          (c.impressions / c.campaigns.length) * weekday * growth * noise(0.15),
        );
        const ctr = c.ctr * noise(0.1) * (fading && c.channel === FADING ? 0.6 : 1);
        const clicks = Math.round(impressions * ctr);
        const cvr = c.cvr * (fading && c.channel === FADING ? 0.7 : 1);
        const conversions = Math.round(clicks * cvr * noise(0.25));
        const cost = Math.round(clicks * c.cpc * noise(0.1) * 100) / 100;
        const revenue = Math.round(conversions * c.order * noise(0.2) * 100) / 100;
        lines.push(
          [
            date.toISOString().slice(0, 10),
            c.channel,
            campaign,
            impressions,
            clicks,
            conversions,
            cost,
            revenue,
          ].join(','),
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Loads the generated campaigns as a demo dataset (tagged `generated`), lets the demo API key
 * read it, and confirms its marketing semantics so KPIs work from the start.
 */
export async function seedDemoCampaigns(
  ctx: AuthedContext,
  demoKeyId: string | null,
): Promise<DatasetVersion> {
  const dataset = await createDataset(ctx, {
    name: 'campaigns',
    description:
      'Generated (seeded) marketing campaigns, not real data: daily impressions, clicks, conversions, cost and revenue per channel and campaign.',
    tags: ['demo', 'generated'],
  });
  if (demoKeyId) {
    await ctx.db.insert(datasetPolicies).values({
      datasetId: dataset.id,
      orgId: ctx.viewer.orgId,
      principalKind: 'API_KEY',
      principalApiKeyId: demoKeyId,
    });
  }
  const version = await uploadVersion(ctx, {
    datasetId: dataset.id,
    filename: 'campaigns.csv',
    source: Readable.from([Buffer.from(campaignsCsv())]),
    options: {
      typeOverrides: [
        { column: 'channel', type: 'CATEGORY' },
        { column: 'campaign', type: 'CATEGORY' },
        { column: 'cost', type: 'FLOAT' },
        { column: 'revenue', type: 'FLOAT' },
      ],
    },
  });
  await setDatasetSemantics(ctx, dataset.id, {
    impressions: 'impressions',
    clicks: 'clicks',
    conversions: 'conversions',
    cost: 'cost',
    revenue: 'revenue',
    date: 'date',
    dimensions: ['channel', 'campaign'],
  });
  return version;
}
