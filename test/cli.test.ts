import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../db/client';
import { users } from '../db/schema/auth';
import { scratchDatabase } from '../db/scratch';
import { verifyPassword } from '../src/auth/passwords';
import { resolveViewer } from '../src/auth/viewer';
import { loadConfig } from '../src/config';
import { DEMO_EMAIL, seedDemoOrganization } from '../src/demo/seed';
import { lockDataDir } from '../src/instance-lock';

const exec = promisify(execFile);
// Not from helpers/server: the CLI needs no schema, and neither does its test.
const usingPostgres = Boolean(process.env.TEST_DATABASE_URL);
const ROOT = join(import.meta.dirname, '..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

/**
 * `npm run peso -- …` as an operator runs it: a child process on the database the environment
 * names — an embedded data folder, or PostgreSQL with TEST_DATABASE_URL.
 */
describe(`peso CLI on ${usingPostgres ? 'PostgreSQL' : 'an embedded data folder'}`, () => {
  let env: Record<string, string>;
  let drop: () => Promise<void> = async () => {};
  const openSame = () => openDatabase(loadConfig(env).database);
  const secretOpenAiKey = `sk-${randomBytes(8).toString('hex')}`;

  const peso = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await exec(TSX, [join(ROOT, 'src/cli.ts'), ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH!, ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    const common = {
      OPENAI_API_KEY: secretOpenAiKey,
      REDIS_URL: 'redis://peso:hunter2-redis@127.0.0.1:6399',
    };
    if (usingPostgres) {
      const scratch = await scratchDatabase(process.env.TEST_DATABASE_URL);
      drop = scratch.drop;
      env = { ...common, DATABASE_URL: scratch.url, PESO_SECRET: randomBytes(32).toString('hex') };
    } else {
      env = { ...common, PESO_DATA_DIR: mkdtempSync(join(tmpdir(), 'peso-cli-')) };
    }
  });

  afterAll(() => drop());

  it('migrates an empty database', async () => {
    const migrated = await peso('migrate');
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/^Migrations applied/);
    const database = await openSame();
    try {
      // The tables exist: seeding the demo organization works on what migrate left.
      expect(await seedDemoOrganization(database.db)).not.toBeNull();
    } finally {
      await database.close();
    }
  });

  it('resets a password: the printed one matches the stored hash, which is new', async () => {
    let database: Database = await openSame();
    const [before] = await database.db.select().from(users).where(eq(users.email, DEMO_EMAIL));
    await database.close();

    const reset = await peso('reset-password', 'OWNER@demo.peso.local');
    expect(reset.code, reset.stderr).toBe(0);
    const password = /^ {2}(\S+)$/m.exec(reset.stdout)![1]!;

    database = await openSame();
    try {
      const [after] = await database.db.select().from(users).where(eq(users.email, DEMO_EMAIL));
      expect(after!.passwordHash).not.toBe(before!.passwordHash);
      expect(await verifyPassword(password, after!.passwordHash)).toBe(true);
    } finally {
      await database.close();
    }

    const unknown = await peso('reset-password', 'nobody@example.com');
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toBe('peso: no user with the email nobody@example.com\n');
  });

  it('creates an API key with the role asked for, in the organization named by slug', async () => {
    const created = await peso('create-api-key', 'demo', 'partner feed', '--role', 'analyst');
    expect(created.code, created.stderr).toBe(0);
    const key = /\b(peso_\S+)/.exec(created.stdout)![1]!;
    expect(created.stdout).toContain('"partner feed" (ANALYST) for Demo');

    const database = await openSame();
    try {
      const viewer = await resolveViewer(database.db, loadConfig(env).secret, `Bearer ${key}`);
      expect(viewer).toMatchObject({ kind: 'API_KEY', role: 'ANALYST' });
    } finally {
      await database.close();
    }

    const badRole = await peso('create-api-key', 'demo', 'x', '--role', 'ROOT');
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/^peso: --role must be one of OWNER, ADMIN, ANALYST, VIEWER/);
    const noOrg = await peso('create-api-key', 'no-such-org', 'x');
    expect(noOrg.code).toBe(1);
    expect(noOrg.stderr).toBe('peso: no organization with the slug or id no-such-org\n');
  });

  it('prints the configuration with every secret redacted', async () => {
    const printed = await peso('config');
    expect(printed.code, printed.stderr).toBe(0);
    const config = JSON.parse(printed.stdout);
    const secret = loadConfig(env).secret;
    expect(config.secret).toBe('[redacted]');
    expect(config.openai.apiKey).toBe('[redacted]');
    expect(config.redisUrl).toBe('redis://peso:***@127.0.0.1:6399');
    for (const leaked of [secret, secretOpenAiKey, 'hunter2-redis'])
      expect(printed.stdout).not.toContain(leaked);
    if (!usingPostgres) {
      expect(readFileSync(join(env.PESO_DATA_DIR!, 'secret'), 'utf8').trim()).toBe(secret);
      expect(config.database).toEqual({ kind: 'pglite', dataDir: join(env.PESO_DATA_DIR!, 'db') });
    } else {
      expect(config.database.url).toBe(env.DATABASE_URL);
    }
  });

  it('answers usage errors with the usage and status 2, never a stack trace', async () => {
    const none = await peso();
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/^Usage: npm run peso -- <command>/);
    const unknown = await peso('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^peso: unknown command frobnicate\n\nUsage:/);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    const extra = await peso('migrate', 'now');
    expect(extra.code).toBe(2);
  });

  it.skipIf(usingPostgres)(
    'refuses an embedded data folder another Peso holds, naming it',
    async () => {
      const lock = lockDataDir(env.PESO_DATA_DIR!);
      lock.serving('http://localhost:4999');
      try {
        const refused = await peso('migrate');
        expect(refused.code).toBe(1);
        expect(refused.stderr).toBe(
          `peso: another Peso is running on the data folder ${env.PESO_DATA_DIR} (pid ${process.pid} at http://localhost:4999). Stop it first, or set PESO_DATA_DIR to another folder.\n`,
        );
      } finally {
        lock.release();
      }
      expect((await peso('migrate')).code).toBe(0);
    },
  );
});
