import { randomBytes } from 'node:crypto';
import { count } from 'drizzle-orm';
import { generateApiKey } from '../src/auth/api-keys';
import { hashPassword } from '../src/auth/passwords';
import type { Db } from './client';
import { apiKeys, memberships, organizations, users } from './schema/auth';

export interface DemoCredentials {
  orgId: string;
  userId: string;
  email: string;
  password: string;
  apiKey: string;
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
    await tx.insert(apiKeys).values({
      orgId: org!.id,
      createdBy: user!.id,
      name: 'Demo key',
      prefix: key.prefix,
      secretHash: key.secretHash,
      role: 'ADMIN',
    });
    return { orgId: org!.id, userId: user!.id, email: DEMO_EMAIL, password, apiKey: key.key };
  });
}
