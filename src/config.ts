import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { DatabaseTarget } from '../db/client';
import { ROLES, type Role } from '../db/schema/auth';

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
  /** Bytes a WebSocket may have waiting to be sent before it is closed as a slow consumer. */
  PESO_WS_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
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
  PESO_INSIGHTS_JOB_ROWS: z.coerce.number().int().min(0).default(200_000),
  TF_BACKEND: z
    .enum(['auto', 'webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'])
    .default('auto'),
  PESO_MAX_DOCUMENT_BYTES: z.coerce.number().int().min(100).default(100_000),
  PESO_MAX_TOKENS: z.coerce.number().int().min(10).default(5000),
  PESO_MAX_ALIASES: z.coerce.number().int().min(0).default(15),
  PESO_MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  PESO_MAX_DEPTH: z.coerce.number().int().min(2).default(12),
  PESO_MAX_LIST_LENGTH: z.coerce.number().int().min(1).default(1000),
  PESO_MAX_COST: z.coerce.number().int().min(1).default(10_000),
  PESO_COST_ROWS_PER_POINT: z.coerce.number().int().min(1).default(1000),
  PESO_QUERY_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  PESO_QUERY_TIMEOUT_MS_BY_ROLE: z
    .string()
    .trim()
    .default('')
    .transform((v, ctx) => {
      const byRole: Partial<Record<Role, number>> = {};
      for (const part of v.split(',').filter((p) => p.trim())) {
        const [role, ms] = part.split('=').map((x) => x.trim());
        if (!ROLES.includes(role as Role) || !/^\d+$/.test(ms ?? '')) {
          ctx.addIssue({ code: 'custom', message: 'must look like VIEWER=5000,ANALYST=15000' });
          return z.NEVER;
        }
        byRole[role as Role] = Number(ms);
      }
      return byRole;
    }),
  PESO_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  PESO_RATE_LIMIT_PER_KEY: z.coerce.number().int().min(1).default(100),
  PESO_RATE_LIMIT_PER_USER: z.coerce.number().int().min(1).default(100),
  PESO_RATE_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).default(300),
  PESO_LOGIN_FREE_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(5),
  PESO_LOGIN_FREE_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(20),
  PESO_LOGIN_BACKOFF_BASE_MS: z.coerce.number().int().min(1).default(1000),
  PESO_LOGIN_BACKOFF_MAX_SECONDS: z.coerce.number().int().min(1).default(900),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  OPENAI_MODEL: z.string().trim().min(1).default('gpt-4o-mini'),
  PESO_MAX_INPUT_DEPTH: z.coerce.number().int().min(2).max(1000).default(32),
  PESO_INTROSPECTION: z.enum(['authenticated', 'on', 'off']).default('authenticated'),
  PESO_SUGGESTIONS: z.enum(['on', 'off']).default('off'),
  PESO_GRAPHIQL: z.enum(['on', 'off']).optional(),
  PESO_ALLOWED_ORIGINS: z
    .string()
    .trim()
    .default('')
    .transform((v, ctx): string[] | '*' => {
      if (v === '*') return '*';
      const origins = v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean);
      for (const origin of origins) {
        if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
          ctx.addIssue({
            code: 'custom',
            message: `${origin} is not an origin like https://app.example.com`,
          });
          return z.NEVER;
        }
      }
      return origins;
    }),
  PESO_CSRF_PREVENTION: z.enum(['on', 'off']).default('on'),
  PESO_TRUSTED_DOCUMENTS: optionalString,
  PESO_METRICS_TOKEN: optionalString.pipe(
    z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  ),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
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
  /** A WebSocket with more than this many bytes waiting to be sent is closed (1013). */
  wsMaxBufferedBytes: number;
  maxUploadBytes: number;
  uploadUrlTtlSeconds: number;
  /** Base URL clients reach this server at, for signed URLs; else taken from each request. */
  publicUrl: string | undefined;
  /** Training child processes `npm start` runs (0: leave jobs to standalone workers). */
  workers: number;
  /** A RUNNING run without a heartbeat for this long is marked FAILED. */
  runTimeoutSeconds: number;
  /** Versions with more rows get their insights from a job (with progress), not the request. */
  insightsJobRows: number;
  tfBackend: 'auto' | 'webgpu' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  /** Limits every GraphQL document meets before it runs, on every transport. */
  limits: DocumentLimits;
  /** Rate limits and sign-in throttling, shared by every API process. */
  rateLimits: RateLimitConfig;
  openai: { apiKey: string | undefined; baseUrl: string | undefined; model: string };
  /** Deepest nesting of objects and lists in one input value (variables and inline arguments). */
  maxInputDepth: number;
  /** Who may introspect: signed-in callers, everyone, or no one. */
  introspection: 'authenticated' | 'on' | 'off';
  /** Whether validation errors say "Did you mean …?". */
  suggestions: boolean;
  graphiql: boolean;
  /** Browser origins besides the API's own allowed by CORS and WebSocket upgrades. */
  allowedOrigins: string[] | '*';
  csrfPrevention: boolean;
  /** Manifest of trusted documents; when set, API keys may run only those. */
  trustedDocuments: string | undefined;
  /** Bearer token `/metrics` requires; unset: open, or off when `production`. */
  metricsToken: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  /** `pretty` lines for a terminal, or JSON lines (the default with NODE_ENV=production). */
  logFormat: 'pretty' | 'json';
  production: boolean;
}

/** Limits on a GraphQL document and on what it may cost (see README, Security). */
export interface DocumentLimits {
  maxDocumentBytes: number;
  maxTokens: number;
  maxAliases: number;
  maxDirectives: number;
  maxDepth: number;
  /** Longest list in a document or its variables (`nodes(ids:)`, prediction rows, …). */
  maxListLength: number;
  /** Budget per operation: one point per field, plus the rows each dataset read may scan. */
  maxCost: number;
  costRowsPerPoint: number;
  /** statement_timeout of a dataset query (0: none), unless the caller's role has its own. */
  queryTimeoutMs: number;
  queryTimeoutMsByRole: Partial<Record<Role, number>>;
}

export interface RateLimitConfig {
  windowMs: number;
  perKey: number;
  perUser: number;
  perAddress: number;
  loginFreeFailuresPerAccount: number;
  loginFreeFailuresPerAddress: number;
  loginBackoffBaseMs: number;
  loginBackoffMaxMs: number;
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
    wsMaxBufferedBytes: e.PESO_WS_MAX_BUFFERED_BYTES,
    maxUploadBytes: e.PESO_MAX_UPLOAD_MB * 1024 * 1024,
    uploadUrlTtlSeconds: e.PESO_UPLOAD_URL_TTL_SECONDS,
    publicUrl: e.PESO_PUBLIC_URL,
    workers: e.PESO_WORKERS,
    runTimeoutSeconds: e.PESO_RUN_TIMEOUT_SECONDS,
    insightsJobRows: e.PESO_INSIGHTS_JOB_ROWS,
    tfBackend: e.TF_BACKEND,
    limits: {
      maxDocumentBytes: e.PESO_MAX_DOCUMENT_BYTES,
      maxTokens: e.PESO_MAX_TOKENS,
      maxAliases: e.PESO_MAX_ALIASES,
      maxDirectives: e.PESO_MAX_DIRECTIVES,
      maxDepth: e.PESO_MAX_DEPTH,
      maxListLength: e.PESO_MAX_LIST_LENGTH,
      maxCost: e.PESO_MAX_COST,
      costRowsPerPoint: e.PESO_COST_ROWS_PER_POINT,
      queryTimeoutMs: e.PESO_QUERY_TIMEOUT_MS,
      queryTimeoutMsByRole: e.PESO_QUERY_TIMEOUT_MS_BY_ROLE,
    },
    rateLimits: {
      windowMs: e.PESO_RATE_LIMIT_WINDOW_SECONDS * 1000,
      perKey: e.PESO_RATE_LIMIT_PER_KEY,
      perUser: e.PESO_RATE_LIMIT_PER_USER,
      perAddress: e.PESO_RATE_LIMIT_PER_ADDRESS,
      loginFreeFailuresPerAccount: e.PESO_LOGIN_FREE_FAILURES_PER_ACCOUNT,
      loginFreeFailuresPerAddress: e.PESO_LOGIN_FREE_FAILURES_PER_ADDRESS,
      loginBackoffBaseMs: e.PESO_LOGIN_BACKOFF_BASE_MS,
      loginBackoffMaxMs: e.PESO_LOGIN_BACKOFF_MAX_SECONDS * 1000,
    },
    openai: { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL, model: e.OPENAI_MODEL },
    maxInputDepth: e.PESO_MAX_INPUT_DEPTH,
    introspection: e.PESO_INTROSPECTION,
    suggestions: e.PESO_SUGGESTIONS === 'on',
    graphiql: (e.PESO_GRAPHIQL ?? (e.NODE_ENV === 'production' ? 'off' : 'on')) === 'on',
    allowedOrigins: e.PESO_ALLOWED_ORIGINS,
    csrfPrevention: e.PESO_CSRF_PREVENTION === 'on',
    trustedDocuments: e.PESO_TRUSTED_DOCUMENTS,
    metricsToken: e.PESO_METRICS_TOKEN,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (e.NODE_ENV === 'production' ? 'json' : 'pretty'),
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
