import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { filterSchema, pruneSchema } from '@graphql-tools/utils';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  GraphQLError,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import { useSofa } from 'sofa-api';
import { RateLimitedError } from '../errors';
import { addressOf } from '../limits/plugin';
import type { RateLimiter } from '../limits/rate-limit';
import type { Logger } from '../log';

/** Where the REST API lives; a breaking change gets a new version beside it. */
export const REST_BASE = '/api/v1';
/** The OpenAPI 3 document of the REST API. */
export const OPENAPI_PATH = '/openapi.json';
/** The rendered reference of the REST API (Swagger UI, served from node_modules). */
export const REST_DOCS_PATH = '/api/docs';

interface RestRoute {
  /** `Query.<field>`: the GraphQL root field the route runs. */
  field: string;
  method: 'GET' | 'POST';
  /** Path under REST_BASE, parameters as `:name` (the field's argument of that name). */
  path: string;
  tag: string;
  description: string;
}

/**
 * The curated operations partners can call without GraphQL. Each runs its root field through
 * the same pipeline as `/graphql` (credential, gate, cost, rate limits, masking); path
 * parameters are the field's arguments of that name, other arguments come from the query string
 * (GET) or the JSON body (POST).
 */
export const REST_ROUTES: readonly RestRoute[] = [
  {
    field: 'datasets',
    method: 'GET',
    path: '/datasets',
    tag: 'Datasets',
    description: 'Datasets you can see, by name (paged: `first`, `after`).',
  },
  {
    field: 'dataset',
    method: 'GET',
    path: '/datasets/:id',
    tag: 'Datasets',
    description: 'One dataset with its current version and columns as you may know them.',
  },
  {
    field: 'datasetQuery',
    method: 'POST',
    path: '/datasets/:datasetId/query',
    tag: 'Datasets',
    description:
      "Runs a query (filters, grouping, aggregates, ordering) over a version of a dataset under your access: masked columns stay masked, row policies apply. Body: `{ input, first?, after?, version? }` — `input` is GraphQL's `DatasetQueryInput`.",
  },
  {
    field: 'models',
    method: 'GET',
    path: '/models',
    tag: 'Models',
    description: 'Models you can see, by name (paged: `first`, `after`).',
  },
  {
    field: 'model',
    method: 'GET',
    path: '/models/:id',
    tag: 'Models',
    description: 'One model with its versions.',
  },
  {
    field: 'predict',
    method: 'POST',
    path: '/models/:modelId/predict',
    tag: 'Models',
    description:
      'Predictions for rows of feature values, from a model version by `alias` or `versionId` (default: the latest succeeded). Body: `{ rows, alias?, versionId? }`.',
  },
  {
    field: 'driftAlerts',
    method: 'GET',
    path: '/drift/alerts',
    tag: 'Drift',
    description: 'Drift alerts of monitors you can see, newest first.',
  },
];

/**
 * The fields a REST answer carries, per type: a fixed, documented shape rather than everything
 * the type has (nested connections, user e-mails and fields that need arguments stay in
 * GraphQL). Types not listed keep their fields that take no arguments.
 */
const REST_FIELDS: Record<string, readonly string[]> = {
  Dataset: ['id', 'name', 'description', 'tags', 'createdAt', 'updatedAt', 'currentVersion'],
  DatasetVersion: ['id', 'number', 'rowCount', 'source', 'createdAt', 'columns'],
  Model: ['id', 'name', 'task', 'target', 'features', 'createdAt', 'versions'],
  ModelVersion: ['id', 'number', 'aliases', 'createdAt', 'metrics'],
  QueryResult: ['columns', 'rows', 'totalCount', 'pageInfo'],
  DriftAlert: [
    'id',
    'severity',
    'message',
    'columns',
    'createdAt',
    'acknowledgedAt',
    'monitor',
    'report',
  ],
  DriftMonitor: [
    'id',
    'name',
    'columns',
    'driftShare',
    'schedule',
    'checkOnNewVersion',
    'createdAt',
  ],
  DriftReport: ['id', 'status', 'drifted', 'share', 'error', 'queuedAt', 'finishedAt', 'columns'],
};

type SofaConfig = Parameters<typeof useSofa>[0];

const ROUTE_BY_FIELD = new Map(REST_ROUTES.map((r) => [r.field, r]));

/**
 * What sofa builds routes and the OpenAPI document from: the curated root fields over the types
 * they reach, with the fields of REST_FIELDS. Execution always uses the full schema (its
 * resolvers, scopes and costs); documents built from the projection are valid there.
 */
export function restProjection(schema: GraphQLSchema): GraphQLSchema {
  const queryName = schema.getQueryType()?.name;
  return pruneSchema(
    filterSchema({
      schema,
      rootFieldFilter: (operation, fieldName) =>
        operation === 'Query' && ROUTE_BY_FIELD.has(fieldName),
      objectFieldFilter: (typeName, fieldName, field) => {
        if (typeName === queryName) return true;
        const allowed = REST_FIELDS[typeName];
        if (allowed) return allowed.includes(fieldName);
        return !('args' in field) || Object.keys(field.args ?? {}).length === 0;
      },
    }),
  );
}

/** The route template (`GET /api/v1/datasets/{id}`) a request path matches, for metrics. */
export function restRouteOf(method: string, pathname: string): string | null {
  if (!pathname.startsWith(`${REST_BASE}/`)) return null;
  const rest = pathname.slice(REST_BASE.length).split('/');
  for (const route of REST_ROUTES) {
    if (route.method !== method) continue;
    const parts = route.path.split('/');
    if (parts.length !== rest.length) continue;
    if (parts.every((p, i) => p.startsWith(':') || p === rest[i]))
      return `${route.method} ${REST_BASE}${route.path.replace(/:([^/]+)/g, '{$1}')}`;
  }
  return null;
}

/** JSON schemas of the schema's own scalars (sofa would otherwise point at missing components). */
const SCALAR_SCHEMAS: Record<string, object> = {
  DateTime: { type: 'string', format: 'date-time' },
  JSON: { description: 'Any JSON value.' },
  JSONObject: { type: 'object', additionalProperties: true },
};

function customScalars(schema: GraphQLSchema): Record<string, object> {
  const scalars: Record<string, object> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isScalarType(type) || isSpecifiedScalarType(type)) continue;
    scalars[type.name] = SCALAR_SCHEMAS[type.name] ?? {
      description: type.description ?? type.name,
    };
  }
  return scalars;
}

/** The answers every operation may give besides its result, with the body they carry. */
const ERROR_RESPONSES: Record<string, string> = {
  '400': 'Bad input (`BAD_USER_INPUT`, `LIMIT_EXCEEDED`), naming what was wrong.',
  '401': 'No credential, or one that is not valid (`UNAUTHENTICATED`).',
  '403': 'The credential may not do this (`FORBIDDEN`, `PRIVACY_BUDGET_EXHAUSTED`).',
  '404': 'Not found, or not visible to you (`NOT_FOUND`).',
  '429': 'Rate limited (`RATE_LIMITED`); `Retry-After` says when to come back.',
  '503': 'The database is unavailable (`SERVICE_UNAVAILABLE`); `Retry-After` says when to retry.',
};

/** Adds the error body and answers to the document sofa built. */
type OpenApiOperation = {
  parameters?: { in: string; required?: boolean }[];
  responses?: Record<string, unknown>;
};

function documentErrors(document: {
  components: { schemas: Record<string, unknown> };
  paths?: Record<string, Record<string, OpenApiOperation>>;
}) {
  document.components.schemas.RestError = {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', description: 'A stable machine-readable code.' },
          message: { type: 'string', description: 'A sentence for people.' },
          field: { type: 'string', nullable: true, description: 'The input that was wrong.' },
          entity: { type: 'string', description: 'What was not found.' },
          retryAfter: { type: 'integer', description: 'Seconds to wait (429, 503).' },
        },
      },
    },
  };
  for (const methods of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(methods)) {
      // A path parameter is always there, even where GraphQL's argument is optional
      // (`predict(modelId:)` also takes `versionId`).
      for (const parameter of operation.parameters ?? [])
        if (parameter.in === 'path') parameter.required = true;
      operation.responses ??= {};
      for (const [status, description] of Object.entries(ERROR_RESPONSES)) {
        operation.responses[status] ??= {
          description,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/RestError' } } },
        };
      }
    }
  }
}

/** HTTP status of an error code; unknown codes are a bug and answer 500. */
const STATUS: Record<string, number> = {
  BAD_USER_INPUT: 400,
  LIMIT_EXCEEDED: 400,
  PERSISTED_QUERY_NOT_ALLOWED: 400,
  PERSISTED_QUERY_NOT_FOUND: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  PRIVACY_BUDGET_EXHAUSTED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  LLM_BAD_OUTPUT: 502,
  LLM_UNAVAILABLE: 503,
  LLM_NOT_CONFIGURED: 503,
  SERVICE_UNAVAILABLE: 503,
  QUERY_TIMEOUT: 504,
};

/** What an error body carries besides code and message (never a stack or internal detail). */
const DETAILS = ['field', 'entity', 'retryAfter', 'limit', 'max', 'cost'] as const;

function errorResponse(error: unknown): Response {
  const located = error instanceof GraphQLError ? error : null;
  const extensions = (located?.extensions ?? {}) as Record<string, unknown>;
  let code = typeof extensions.code === 'string' ? extensions.code : null;
  const http = extensions.http as { status?: number } | undefined;
  // Requests graphql-js refuses before running (a variable of the wrong type) carry no code.
  if (!code && located && !located.originalError && located.message !== 'Unexpected error.')
    code = 'BAD_USER_INPUT';
  if (!code && http?.status && http.status < 500) code = 'BAD_USER_INPUT';
  const status = (code && STATUS[code]) || 500;
  const body: Record<string, unknown> =
    status === 500
      ? { code: 'INTERNAL', message: 'Unexpected error.' }
      : { code, message: located?.message ?? 'Bad request.' };
  if (status !== 500) for (const key of DETAILS) if (key in extensions) body[key] = extensions[key];
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (typeof extensions.retryAfter === 'number')
    headers['retry-after'] = String(extensions.retryAfter);
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  return new Response(JSON.stringify({ error: body }), { status, headers });
}

/** The first error of an execution, as the REST answer. */
const errorHandler = ((errors: readonly unknown[]) =>
  errorResponse(errors[0])) as unknown as SofaConfig['errorHandler'];

const TYPENAME: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };

/**
 * The document sofa built, with `__typename` asked of a root field whose type is abstract, so a
 * typed error (`... on Error`) can be told from a result.
 */
function withTypename(document: DocumentNode, schema: GraphQLSchema): DocumentNode {
  const operation = document.definitions[0] as OperationDefinitionNode;
  const root = operation.selectionSet.selections[0] as FieldNode;
  const type = schema.getQueryType()?.getFields()[root.name.value]?.type;
  if (!type || !isAbstractType(getNamedType(type)) || !root.selectionSet) return document;
  return {
    ...document,
    definitions: [
      {
        ...operation,
        selectionSet: {
          ...operation.selectionSet,
          selections: [
            {
              ...root,
              selectionSet: {
                ...root.selectionSet,
                selections: [TYPENAME, ...root.selectionSet.selections],
              },
            },
          ],
        },
      },
    ],
  };
}

/**
 * A REST answer from an execution result: a typed error of the field (`NotFoundError`,
 * `InputError`, …) becomes an error with its status, a missing single resource a 404.
 */
function restResult(result: ExecutionResult, schema: GraphQLSchema, field: string) {
  if (result.errors?.length || !result.data) return result;
  const value = result.data[field] as Record<string, unknown> | null | undefined;
  const fieldType = schema.getQueryType()?.getFields()[field]?.type;
  if (value === null || value === undefined) {
    const named = fieldType && getNamedType(fieldType);
    return {
      errors: [
        new GraphQLError(`${named?.name ?? 'Resource'} not found.`, {
          extensions: { code: 'NOT_FOUND', entity: named?.name },
        }),
      ],
    };
  }
  if (typeof value !== 'object' || !('__typename' in value)) return result;
  const { __typename, ...rest } = value;
  const type = schema.getType(String(__typename));
  if (isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Error')) {
    const { message, ...extensions } = rest;
    return { errors: [new GraphQLError(String(message), { extensions })] };
  }
  return { ...result, data: { [field]: rest } };
}

/** Reads a request body of at most `max` bytes; null when it is longer. */
async function boundedBody(request: Request, max: number): Promise<Uint8Array | null> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Largest JSON body a REST call may send (prediction rows are the large ones). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

type Enveloped = ReturnType<
  Parameters<NonNullable<Plugin['onYogaInit']>>[0]['yoga']['getEnveloped']
>;

/**
 * The REST API as a yoga plugin: sofa-api builds the routes and the OpenAPI document from the
 * curated projection; each call runs through yoga's envelop pipeline like a GraphQL request
 * (the same context and credential, the same plugins on execute: input guard, cost and caller
 * rate limits, masked errors), after the per-address rate limit. Calls without a credential are
 * refused with 401 before anything runs. `/openapi.json` serves the document, `/api/docs` a
 * reference rendered by Swagger UI from node_modules.
 */
export function useRest(deps: { limiter: RateLimiter; log: Logger }): Plugin & {
  openApiDocument(): Record<string, unknown>;
} {
  const { limiter } = deps;
  let getEnveloped: (context: object) => Enveloped;
  let fullSchema: GraphQLSchema;
  let handler: ReturnType<typeof useSofa>;
  const envelopedByContext = new WeakMap<object, Enveloped>();
  const originalRequest = new WeakMap<object, Request>();
  const typed = new WeakMap<DocumentNode, DocumentNode>();

  const build = (schema: GraphQLSchema) => {
    fullSchema = schema;
    const routes: NonNullable<SofaConfig['routes']> = {};
    for (const route of REST_ROUTES) {
      routes[`Query.${route.field}`] = {
        method: route.method,
        path: route.path,
        tags: [route.tag],
        description: route.description,
      };
    }
    const projection = restProjection(schema);
    handler = useSofa({
      basePath: REST_BASE,
      schema: projection,
      customScalars: customScalars(projection),
      depthLimit: 1,
      routes,
      errorHandler,
      openAPI: {
        info: {
          title: 'Peso REST API',
          version: '1.0.0',
          description:
            'A curated set of Peso operations over REST, generated from the GraphQL schema. Authenticate with `Authorization: Bearer <token or API key>`; the same access rules, limits and rate limits apply as over GraphQL. Errors answer `{ "error": { "code", "message" } }` with a matching HTTP status.',
        },
        components: {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        },
        ...{ security: [{ bearer: [] }] },
      } as SofaConfig['openAPI'],
      swaggerUI: { endpoint: false },
      context: (serverContext) => {
        const enveloped = getEnveloped(serverContext);
        const request = originalRequest.get(serverContext) ?? serverContext.request;
        return Promise.resolve(
          enveloped.contextFactory({ ...serverContext, request, rest: true }),
        ).then((context) => {
          envelopedByContext.set(context, enveloped);
          return context;
        });
      },
      execute: ((args: ExecutionArgs) => {
        const enveloped = envelopedByContext.get(args.contextValue as object);
        if (!enveloped) throw new TypeError('REST execution without its context.');
        let document = typed.get(args.document);
        if (!document) {
          document = withTypename(args.document, fullSchema);
          typed.set(args.document, document);
        }
        const root = (document.definitions[0] as OperationDefinitionNode).selectionSet
          .selections[0] as FieldNode;
        return Promise.resolve(enveloped.execute({ ...args, schema: fullSchema, document })).then(
          (result) => restResult(result as ExecutionResult, fullSchema, root.name.value),
        );
      }) as unknown as SofaConfig['execute'],
    });
    documentErrors(openApiOf(handler) as Parameters<typeof documentErrors>[0]);
  };

  return {
    onYogaInit({ yoga }) {
      getEnveloped = yoga.getEnveloped as unknown as (context: object) => Enveloped;
    },
    onSchemaChange({ schema }) {
      build(schema);
    },
    openApiDocument: () => openApiOf(handler),
    async onRequest({ request, url, serverContext, endResponse }) {
      const path = url.pathname;
      if (path === OPENAPI_PATH) {
        endResponse(Response.json(openApiOf(handler)));
        return;
      }
      if (path.startsWith(REST_DOCS_PATH)) {
        const docs = await docsResponse(path);
        if (docs) {
          endResponse(docs);
          return;
        }
      }
      if (path !== REST_BASE && !path.startsWith(`${REST_BASE}/`)) return;
      const req = (serverContext as { req?: IncomingMessage }).req;
      try {
        await limiter.checkAddress(addressOf(req));
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        endResponse(
          errorResponse(
            new GraphQLError(error.message, {
              extensions: { code: error.code, retryAfter: error.retryAfter },
            }),
          ),
        );
        return;
      }
      // Only the curated routes (and the document): not sofa's webhook subscriptions.
      const known =
        restRouteOf(request.method, path) ??
        (path === `${REST_BASE}${OPENAPI_PATH}` ? 'doc' : null);
      if (!known) {
        endResponse(
          errorResponse(
            new GraphQLError(`No route ${request.method} ${path}.`, {
              extensions: { code: 'NOT_FOUND' },
            }),
          ),
        );
        return;
      }
      if (known !== 'doc' && !request.headers.get('authorization')?.trim()) {
        endResponse(
          errorResponse(
            new GraphQLError('Send a token or API key as `Authorization: Bearer <credential>`.', {
              extensions: { code: 'UNAUTHENTICATED' },
            }),
          ),
        );
        return;
      }
      let forwarded = request;
      if (request.method === 'POST') {
        const body = await boundedBody(request, MAX_BODY_BYTES);
        if (body === null) {
          endResponse(
            errorResponse(
              new GraphQLError(`The request body is over ${MAX_BODY_BYTES} bytes.`, {
                extensions: { code: 'BAD_USER_INPUT' },
              }),
            ),
          );
          return;
        }
        forwarded = new Request(request.url, {
          method: 'POST',
          headers: request.headers,
          body: body as BodyInit,
        });
      }
      const context = serverContext as YogaInitialContext & object;
      originalRequest.set(context, request);
      const response = await handler.handleRequest(forwarded, context);
      if (response) endResponse(response as Response);
    },
  };
}

/** Files of the reference page, served from the swagger-ui-dist package: no CDN. */
const DOCS_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Peso REST API</title>
<link rel="stylesheet" href="${REST_DOCS_PATH}/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="${REST_DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${REST_DOCS_PATH}/init.js"></script>
</body>
</html>
`;

// A file rather than an inline script, so a strict Content-Security-Policy can allow 'self' only.
const DOCS_INIT = `SwaggerUIBundle({ url: ${JSON.stringify(OPENAPI_PATH)}, dom_id: '#reference', deepLinking: true });\n`;

const assetCache = new Map<string, Promise<Buffer>>();

/** The reference page and its assets, or null for another path. */
async function docsResponse(path: string): Promise<Response | null> {
  if (path === REST_DOCS_PATH || path === `${REST_DOCS_PATH}/`)
    return new Response(DOCS_HTML, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  if (!path.startsWith(`${REST_DOCS_PATH}/`)) return null;
  const name = path.slice(REST_DOCS_PATH.length + 1);
  if (name === 'init.js')
    return new Response(DOCS_INIT, {
      headers: { 'content-type': DOCS_ASSETS['swagger-ui-bundle.js']! },
    });
  const type = DOCS_ASSETS[name];
  if (!type) return null;
  let file = assetCache.get(name);
  if (!file) {
    const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    file = readFile(join(root, name));
    assetCache.set(name, file);
  }
  return new Response(new Uint8Array(await file), {
    headers: { 'content-type': type, 'cache-control': 'public, max-age=3600' },
  });
}

/** The OpenAPI document sofa's router holds. */
function openApiOf(handler: ReturnType<typeof useSofa>): Record<string, unknown> {
  return (handler as unknown as { openAPIDocument: Record<string, unknown> }).openAPIDocument;
}
