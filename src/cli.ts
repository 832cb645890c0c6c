import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { eq, or, sql } from 'drizzle-orm';
import { type Database, openDatabase } from '../db/client';
import { apiKeys, organizations, ROLES, type Role, users } from '../db/schema/auth';
import { generateApiKey } from './auth/api-keys';
import { hashPassword } from './auth/passwords';
import { type Config, ConfigError, loadConfig } from './config';
import { InstanceLockedError, lockDataDir } from './instance-lock';

/**
 * `npm run peso -- <command>`: what an operator needs without GraphQL, on the database the
 * environment names (the same variables as `npm start`). Each command prints its result on
 * stdout; a problem is one line on stderr and exit status 1 (2 for a usage error).
 */

const USAGE = `Usage: npm run peso -- <command>

Commands:
  reset-password <email>                 Sets a new generated password and prints it once.
  create-api-key <org> <name> [--role R] Creates an API key in an organization (its slug or id);
                                         R is ${ROLES.join(', ')} (default VIEWER). Prints the key once.
  migrate                                Applies pending database migrations.
  config                                 Prints the configuration, secrets redacted.

The database and the rest come from the same environment variables as npm start
(DATABASE_URL, PESO_DATA_DIR, PESO_SECRET, ...).`;

class UsageError extends Error {}
class CommandError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A URL with its password replaced: `postgres://peso:***@db/peso`. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '***';
  }
}

/** Names of settings that hold a secret, whoever adds them to Config. */
const SECRET_NAME = /(secret|token|password|apikey|credential)s?$/i;

/**
 * The configuration with every secret replaced by `[redacted]`, and the password of any URL
 * (`postgres://peso:***@db/peso`).
 */
function redactedConfig(value: unknown, name = ''): unknown {
  if (typeof value === 'string') {
    if (SECRET_NAME.test(name)) return '[redacted]';
    return /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value) ? redactUrl(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => redactedConfig(v));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactedConfig(v, k)]));
  return value ?? null;
}

/** Opens the database (applying migrations), holding the embedded data folder's lock meanwhile. */
async function withDatabase<T>(config: Config, work: (db: Database) => Promise<T>): Promise<T> {
  const lock =
    config.database.kind === 'pglite' && config.database.dataDir !== null
      ? lockDataDir(config.dataDir)
      : null;
  try {
    const database = await openDatabase(config.database);
    try {
      return await work(database);
    } finally {
      await database.close();
    }
  } finally {
    lock?.release();
  }
}

async function resetPassword(config: Config, email: string): Promise<string> {
  const password = randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  const updated = await withDatabase(config, (database) =>
    database.db
      .update(users)
      .set({ passwordHash })
      .where(eq(sql`lower(${users.email})`, email.toLowerCase()))
      .returning({ id: users.id }),
  );
  if (updated.length === 0) throw new CommandError(`no user with the email ${email}`);
  return `New password for ${email} (shown only this once):\n  ${password}\n`;
}

async function createApiKey(config: Config, org: string, name: string, role: string) {
  if (!ROLES.includes(role as Role))
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}, not ${role}`);
  if (!name.trim()) throw new UsageError('the key needs a name');
  const key = generateApiKey();
  const created = await withDatabase(config, async (database) => {
    const [organization] = await database.db
      .select()
      .from(organizations)
      .where(
        UUID.test(org)
          ? or(eq(organizations.id, org), eq(organizations.slug, org))
          : eq(organizations.slug, org),
      );
    if (!organization) throw new CommandError(`no organization with the slug or id ${org}`);
    const [row] = await database.db
      .insert(apiKeys)
      .values({
        orgId: organization.id,
        createdBy: null,
        name: name.trim(),
        prefix: key.prefix,
        secretHash: key.secretHash,
        role: role as Role,
      })
      .returning();
    return { organization, row: row! };
  });
  return [
    `API key "${created.row.name}" (${created.row.role}) for ${created.organization.name} (shown only this once):`,
    `  ${key.key}`,
    'It sees no dataset until a policy names it (setDatasetPolicy with principalKind: API_KEY).',
    '',
  ].join('\n');
}

async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { role: { type: 'string', default: 'VIEWER' }, help: { type: 'boolean' } },
    allowPositionals: true,
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) return USAGE;
  const config = loadConfig(env);
  const args = (count: number, names: string) => {
    if (rest.length !== count) throw new UsageError(`${command} takes ${names}`);
    return rest;
  };
  switch (command) {
    case 'reset-password':
      return resetPassword(config, args(1, '<email>')[0]!);
    case 'create-api-key': {
      const [org, name] = args(2, '<org> <name>');
      return createApiKey(config, org!, name!, values.role!.toUpperCase());
    }
    case 'migrate':
      args(0, 'no arguments');
      await withDatabase(config, async () => {});
      return `Migrations applied (${config.database.kind === 'postgres' ? redactUrl(config.database.url) : (config.database.dataDir ?? 'memory')}).\n`;
    case 'config':
      args(0, 'no arguments');
      return `${JSON.stringify(redactedConfig(config), null, 2)}\n`;
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

runCli(process.argv.slice(2)).then(
  (output) => process.stdout.write(output.endsWith('\n') ? output : `${output}\n`),
  (error: unknown) => {
    const usage =
      error instanceof UsageError ||
      String((error as { code?: unknown } | null)?.code).startsWith('ERR_PARSE_ARGS');
    const known =
      usage ||
      error instanceof CommandError ||
      error instanceof ConfigError ||
      error instanceof InstanceLockedError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`peso: ${known ? message : `failed: ${message}`}\n`);
    if (usage) process.stderr.write(`\n${USAGE}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
