import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { DatabaseTarget } from '../db/client';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .refine((v) => v === 'memory://' || /^postgres(ql)?:\/\//.test(v), {
        message: 'must be memory:// or a postgres:// URL',
      })
      .optional(),
  ),
  REDIS_URL: optionalString.pipe(
    z
      .string()
      .refine((v) => /^rediss?:\/\//.test(v), { message: 'must be a redis:// URL' })
      .optional(),
  ),
  PESO_SECRET: optionalString.pipe(
    z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  ),
  PESO_DATA_DIR: z.string().trim().min(1).default('.peso'),
  PESO_DEMO: z.enum(['on', 'off']).default('on'),
  PESO_JWT_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(60 * 60 * 24 * 30)
    .default(60 * 60 * 12),
  PESO_AUTH_RECHECK_MS: z.coerce.number().int().min(50).max(30_000).default(10_000),
  PESO_MAX_UPLOAD_MB: z.coerce.number().int().min(1).default(1024),
  PESO_UPLOAD_URL_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(60 * 60 * 24)
    .default(15 * 60),
  PESO_PUBLIC_URL: optionalString.pipe(
    z
      .url({ message: 'must be a URL such as https://peso.example.com' })
      .transform((v) => v.replace(/\/+$/, ''))
      .optional(),
  ),
  PESO_WORKERS: z.coerce.number().int().min(0).max(64).default(1),
  PESO_RUN_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(86_400).default(60),
  TF_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  OPENAI_MODEL: z.string().trim().min(1).default('gpt-4o-mini'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  NODE_ENV: z.string().default('development'),
});

export interface Config {
  port: number;
  host: string;
  database: DatabaseTarget;
  redisUrl: string | undefined;
  secret: string;
  dataDir: string;
  demo: boolean;
  jwtTtlSeconds: number;
  authRecheckMs: number;
  maxUploadBytes: number;
  uploadUrlTtlSeconds: number;
  /** Base URL clients reach this server at, for signed URLs; else taken from each request. */
  publicUrl: string | undefined;
  /** Training child processes `npm start` runs (0: leave jobs to standalone workers). */
  workers: number;
  /** A RUNNING run without a heartbeat for this long is marked FAILED. */
  runTimeoutSeconds: number;
  tfBackend: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  openai: { apiKey: string | undefined; baseUrl: string | undefined; model: string };
  logLevel: (typeof LOG_LEVELS)[number];
  production: boolean;
}

/** A configuration problem, reported as one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads and validates configuration from environment variables. In embedded mode without
 * `PESO_SECRET`, a secret is generated once and kept under the data directory so tokens survive
 * restarts; `memory://` gets an ephemeral one; PostgreSQL requires it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`Invalid ${variable}: ${issue.message}`);
  }
  const e = parsed.data;
  const database: DatabaseTarget =
    e.DATABASE_URL === undefined
      ? { kind: 'pglite', dataDir: join(e.PESO_DATA_DIR, 'db') }
      : e.DATABASE_URL === 'memory://'
        ? { kind: 'pglite', dataDir: null }
        : { kind: 'postgres', url: e.DATABASE_URL };

  let secret = e.PESO_SECRET;
  if (!secret) {
    if (database.kind === 'postgres') {
      throw new ConfigError('Invalid PESO_SECRET: required when DATABASE_URL points at PostgreSQL');
    }
    secret =
      database.dataDir === null
        ? randomBytes(32).toString('base64url')
        : readOrCreateSecret(e.PESO_DATA_DIR);
  }

  return {
    port: e.PORT,
    host: e.HOST,
    database,
    redisUrl: e.REDIS_URL,
    secret,
    dataDir: e.PESO_DATA_DIR,
    demo: e.PESO_DEMO === 'on',
    jwtTtlSeconds: e.PESO_JWT_TTL_SECONDS,
    authRecheckMs: e.PESO_AUTH_RECHECK_MS,
    maxUploadBytes: e.PESO_MAX_UPLOAD_MB * 1024 * 1024,
    uploadUrlTtlSeconds: e.PESO_UPLOAD_URL_TTL_SECONDS,
    publicUrl: e.PESO_PUBLIC_URL,
    workers: e.PESO_WORKERS,
    runTimeoutSeconds: e.PESO_RUN_TIMEOUT_SECONDS,
    tfBackend: e.TF_BACKEND,
    openai: { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL, model: e.OPENAI_MODEL },
    logLevel: e.LOG_LEVEL,
    production: e.NODE_ENV === 'production',
  };
}

function readOrCreateSecret(dataDir: string): string {
  const file = join(dataDir, 'secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}
