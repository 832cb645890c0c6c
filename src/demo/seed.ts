import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { count } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { datasetPolicies } from '../../db/schema/access';
import { apiKeys, memberships, organizations, users } from '../../db/schema/auth';
import type { DatasetVersion } from '../../db/schema/datasets';
import { generateApiKey } from '../auth/api-keys';
import { hashPassword } from '../auth/passwords';
import type { AuthedContext } from '../context';
import { createDataset, uploadVersion } from '../datasets/service';
import { seedDemoCampaigns } from './campaigns';

export interface DemoCredentials {
  orgId: string;
  userId: string;
  email: string;
  password: string;
  apiKey: string;
  apiKeyId: string;
}

export const DEMO_EMAIL = 'owner@demo.peso.local';

/**
 * On a database with no organization yet, creates the demo organization, its owner and an ADMIN
 * API key, and returns their credentials (the only time the password and key exist in clear).
 * Returns null when the database already has data.
 */
export async function seedDemoOrganization(db: Db): Promise<DemoCredentials | null> {
  const [existing] = await db.select({ n: count() }).from(organizations);
  if (existing && existing.n > 0) return null;
  const password = randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  const key = generateApiKey();
  return db.transaction(async (tx) => {
    const [org] = await tx.insert(organizations).values({ name: 'Demo', slug: 'demo' }).returning();
    const [user] = await tx
      .insert(users)
      .values({ email: DEMO_EMAIL, name: 'Demo Owner', passwordHash })
      .returning();
    await tx.insert(memberships).values({ orgId: org!.id, userId: user!.id, role: 'OWNER' });
    const [apiKey] = await tx
      .insert(apiKeys)
      .values({
        orgId: org!.id,
        createdBy: user!.id,
        name: 'Demo key',
        prefix: key.prefix,
        secretHash: key.secretHash,
        role: 'ADMIN',
      })
      .returning();
    return {
      orgId: org!.id,
      userId: user!.id,
      email: DEMO_EMAIL,
      password,
      apiKey: key.key,
      apiKeyId: apiKey!.id,
    };
  });
}

/** Real datasets shipped by the `vega-datasets` package, loaded into the demo organization. */
export const DEMO_DATASETS = [
  {
    name: 'penguins',
    file: 'penguins.json',
    description: 'Palmer Archipelago penguin measurements.',
  },
  { name: 'cars', file: 'cars.json', description: 'Fuel economy and specs of 1970s–80s cars.' },
  {
    name: 'seattle-weather',
    file: 'seattle-weather.csv',
    description: 'Daily Seattle weather, 2012–2015.',
  },
  { name: 'stocks', file: 'stocks.csv', description: 'Monthly prices of five tech stocks.' },
  {
    name: 'flights-200k',
    file: 'flights-200k.json',
    description: '200,000 US flights: delay, distance and time of day.',
  },
] as const;

/**
 * Loads the demo datasets through the same upload path users take, as the demo owner, and lets
 * the demo API key read them (API keys see only datasets a policy names).
 */
export async function seedDemoDatasets(
  ctx: AuthedContext,
  demoKeyId: string | null = null,
): Promise<DatasetVersion[]> {
  const dataDir = join(createRequire(import.meta.url).resolve('vega-datasets'), '../../data');
  const versions: DatasetVersion[] = [];
  for (const demo of DEMO_DATASETS) {
    const dataset = await createDataset(ctx, {
      name: demo.name,
      description: demo.description,
      tags: ['demo', 'vega-datasets'],
    });
    if (demoKeyId) {
      await ctx.db.insert(datasetPolicies).values({
        datasetId: dataset.id,
        orgId: ctx.viewer.orgId,
        principalKind: 'API_KEY',
        principalApiKeyId: demoKeyId,
      });
    }
    versions.push(
      await uploadVersion(ctx, {
        datasetId: dataset.id,
        filename: demo.file,
        source: createReadStream(join(dataDir, demo.file)),
      }),
    );
  }
  versions.push(await seedDemoCampaigns(ctx, demoKeyId));
  return versions;
}
