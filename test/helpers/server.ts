import { randomBytes } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { type Database, openDatabase, query } from '../../db/client';
import { scratchDatabase } from '../../db/scratch';
import { type Config, loadConfig } from '../../src/config';
import { createLogger, type Logger } from '../../src/log';
import { type Platform, startPlatform } from '../../src/platform';
import type { PesoServer } from '../../src/server';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

export interface TestServer {
  url: string;
  graphqlUrl: string;
  database: Database;
  config: Config;
  server: PesoServer;
  platform: Platform;
  /** POSTs an operation; `auth` is a token or API key sent as a Bearer credential. */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    auth?: string | null,
  ): Promise<GraphQLResponse<T>>;
  /** Sends an operation as a GraphQL multipart request with `file` as the `$file` variable. */
  upload<T = Record<string, any>>(
    query: string,
    variables: Record<string, unknown>,
    file: { name: string; content: string | Uint8Array },
    auth?: string | null,
  ): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client; `authorization` goes in the connection_init payload. */
  ws(authorization?: string, onClose?: (code: number) => void): Client;
  close(): Promise<void>;
}

/** Which database the suite runs against: PGlite unless `TEST_DATABASE_URL` is set. */
export const usingPostgres = Boolean(process.env.TEST_DATABASE_URL);

/**
 * Starts a real server on a random port over a fresh database: ephemeral PGlite, or with
 * `TEST_DATABASE_URL` a new PostgreSQL database dropped again by `close()`.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { log?: Logger; postgresUrl?: string } = {},
): Promise<TestServer> {
  // A test that stops its database passes its own cluster (`postgresUrl`).
  const scratch = await scratchDatabase(options.postgresUrl ?? process.env.TEST_DATABASE_URL);
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    PESO_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PESO_DEMO: 'off',
    PESO_WORKERS: '0',
    // The suite makes thousands of requests from one address and signs in wrongly on purpose:
    // limits stay on but this high unless a test (test/limits/) sets its own.
    PESO_RATE_LIMIT_PER_ADDRESS: '1000000',
    PESO_RATE_LIMIT_PER_KEY: '1000000',
    PESO_RATE_LIMIT_PER_USER: '1000000',
    PESO_LOGIN_FREE_FAILURES_PER_ACCOUNT: '1000',
    PESO_LOGIN_FREE_FAILURES_PER_ADDRESS: '1000',
    ...env,
  });
  const database = await openDatabase(config.database);
  const platform = await startPlatform({
    config,
    database,
    log: options.log ?? createLogger(config.logLevel),
    port: 0,
    host: '127.0.0.1',
  });
  const { server } = platform;
  const graphqlUrl = `${server.url}/graphql`;
  const clients: Client[] = [];

  return {
    url: server.url,
    graphqlUrl,
    database,
    config,
    server,
    platform,
    async gql(query, variables, auth) {
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as GraphQLResponse<any>;
      return { ...body, status: response.status };
    },
    async upload(query, variables, file, auth) {
      const form = new FormData();
      form.set('operations', JSON.stringify({ query, variables: { ...variables, file: null } }));
      form.set('map', JSON.stringify({ 0: ['variables.file'] }));
      form.set('0', new Blob([file.content as BlobPart]), file.name);
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        // Multipart bodies need a header no cross-site form can send (CSRF prevention).
        headers: {
          'x-graphql-yoga-csrf': '1',
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
        },
        body: form,
      });
      const body = (await response.json()) as GraphQLResponse<any>;
      return { ...body, status: response.status };
    },
    ws(authorization, onClose) {
      const client = createClient({
        url: graphqlUrl.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: authorization ? { authorization: `Bearer ${authorization}` } : {},
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {},
        on: { closed: (event) => onClose?.((event as { code: number }).code) },
      });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      await platform.close();
      await database.close();
      await scratch.drop();
    },
  };
}

/** Collects events of one subscription until it completes or errors. */
export function subscribe<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
) {
  const events: T[] = [];
  const errors: unknown[] = [];
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => events.push(value as T),
      error: (error) => {
        errors.push(error);
        resolveDone();
      },
      complete: () => resolveDone(),
    },
  );
  return { events, errors, done, dispose };
}

export const SIGN_UP = /* GraphQL */ `
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      __typename
      ... on AuthPayload { token expiresAt userId organizationId }
      ... on Error { code message }
    }
  }
`;

/** Signs up a new person with their own organization; returns their token and IDs. */
export async function signUpOwner(server: TestServer, label = 'owner') {
  const email = `${label}-${randomBytes(4).toString('hex')}@example.com`;
  const password = 'correct horse battery';
  const res = await server.gql(SIGN_UP, {
    input: { email, password, name: label, organizationName: `${label} org` },
  });
  const payload = res.data?.signUp;
  if (payload?.__typename !== 'AuthPayload')
    throw new Error(`signUp failed: ${JSON.stringify(res)}`);
  return {
    email,
    password,
    token: payload.token as string,
    userId: payload.userId as string,
    organizationId: payload.organizationId as string,
  };
}

/** Invites a member with `role` into the inviter's organization and signs them in. */
export async function inviteMember(server: TestServer, inviterToken: string, role: string) {
  const email = `${role.toLowerCase()}-${randomBytes(4).toString('hex')}@example.com`;
  const res = await server.gql(
    `mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
      __typename ... on InviteMemberPayload { temporaryPassword membership { id user { id } } }
      ... on Error { code message } } }`,
    { input: { email, name: role, role } },
    inviterToken,
  );
  const payload = res.data?.inviteMember;
  if (payload?.__typename !== 'InviteMemberPayload')
    throw new Error(`inviteMember failed: ${JSON.stringify(res)}`);
  const login = await server.gql(
    `mutation($input: LoginInput!) { login(input: $input) { ... on AuthPayload { token } } }`,
    { input: { email, password: payload.temporaryPassword } },
  );
  return {
    email,
    token: login.data!.login.token as string,
    membershipId: payload.membership.id as string,
    userId: payload.membership.user.id as string,
  };
}

/** Creates an API key with `role`; returns its secret and global ID. */
export async function createApiKey(server: TestServer, token: string, role: string) {
  const res = await server.gql(
    `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
      __typename ... on CreateApiKeyPayload { secret apiKey { id } } ... on Error { code message } } }`,
    { input: { name: `key-${randomBytes(3).toString('hex')}`, role } },
    token,
  );
  const payload = res.data?.createApiKey;
  if (payload?.__typename !== 'CreateApiKeyPayload')
    throw new Error(`createApiKey failed: ${JSON.stringify(res)}`);
  return { secret: payload.secret as string, id: payload.apiKey.id as string };
}

/** `n` of the first row of a counting statement, on either driver. */
export async function countOf(server: TestServer, text: string): Promise<number> {
  const [row] = await query<{ n: unknown }>(server.database, text);
  return Number(row?.n);
}

/** Typed version tables in the database: what a failed load must not leave behind. */
export const storedTables = (server: TestServer) =>
  countOf(
    server,
    "select count(*)::int as n from information_schema.tables where table_name like 'dsv_%'",
  );
