import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PothosValidationError } from '@pothos/core';
import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Database, isDatabaseUnavailable, query } from '../../db/client';
import type { Config } from '../config';
import { PesoError } from '../errors';
import { errorSummary, type Logger } from '../log';
import { restRouteOf } from './rest';

export const METRICS_PATH = '/metrics';

/**
 * The first path segments a request's `route` label may name; anything else is `other`, so no
 * token, id or other caller-chosen text ever becomes a label.
 */
const KNOWN_ROOTS = new Set([
  'graphql',
  'uploads',
  'exports',
  'health',
  'ready',
  'metrics',
  'openapi.json',
  'api',
  'dashboard',
]);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Error codes are set by the server; anything not shaped like one is counted as OTHER. */
const CODE = /^[A-Z][A-Z_]{0,39}$/;

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Transport = 'http' | 'sse' | 'ws' | 'rest';

/** The `route` label of a request: a REST route template, a known first segment, or `other`. */
export function routeLabel(method: string, pathname: string): string {
  const rest = restRouteOf(method, pathname);
  if (rest) return rest.slice(rest.indexOf(' ') + 1);
  const root = pathname.split('/')[1] ?? '';
  return KNOWN_ROOTS.has(root) ? `/${root}` : 'other';
}

/**
 * The root fields an operation selects (names from the schema, never aliases or the client's
 * operation name), looking through fragments at the root.
 */
function rootFields(
  document: DocumentNode,
  operationName: string | null | undefined,
  schema: GraphQLSchema,
): { type: string; fields: string[] } {
  const operation = getOperationAST(document, operationName);
  if (!operation) return { type: 'unknown', fields: [] };
  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  const known = root?.getFields() ?? {};
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [],
    ),
  );
  const fields = new Set<string>();
  const walk = (set: SelectionSetNode, depth: number) => {
    if (depth > 5) return;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        fields.add(name in known || name === '__typename' ? name : 'unknown');
      } else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet, depth + 1);
      else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment, depth + 1);
      }
    }
  };
  walk(operation.selectionSet, 0);
  return { type: operation.operation, fields: [...fields] };
}

function transportOf(context: Record<string, unknown>, subscription: boolean): Transport {
  if (context.socket) return 'ws';
  if (context.rest) return 'rest';
  return subscription ? 'sse' : 'http';
}

/**
 * The code a client reads for an error. Results may be seen here before yoga's masking has set
 * `extensions.code`, so the error it wraps is read the way `maskError` reads it.
 */
function codeOf(error: unknown): string {
  const located = error instanceof GraphQLError ? error : null;
  const original = located ? located.originalError : error;
  const code =
    located?.extensions?.code ??
    (original instanceof PesoError
      ? original.code
      : original instanceof PothosValidationError
        ? 'BAD_USER_INPUT'
        : isDatabaseUnavailable(original)
          ? 'SERVICE_UNAVAILABLE'
          : original instanceof GraphQLError
            ? original.extensions?.code
            : undefined);
  if (typeof code === 'string') return CODE.test(code) ? code : 'OTHER';
  // A request graphql-js refused (a variable of the wrong type) has no code; anything else is a
  // bug that reaches the client as "Unexpected error.".
  return located && !original ? 'UNCODED' : 'INTERNAL';
}

export interface Metrics {
  registry: Registry;
  /** Counts operations, errors and durations on every transport, and open subscriptions. */
  plugin: Plugin;
  /** Records an HTTP request (any route) once its answer is sent. */
  observe(req: IncomingMessage, res: ServerResponse): void;
  /** Serves `GET /metrics` in the Prometheus text format, behind the configured token. */
  route(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/**
 * Prometheus metrics of one API process. Labels carry only what the server defines: route
 * templates, methods, statuses, transports, operation types, root field names of the schema,
 * error codes, job queue names and states — never an id, a value of a dataset or the client's
 * own operation name.
 */
export function createMetrics(deps: { config: Config; database: Database; log: Logger }): Metrics {
  const { config, database, log } = deps;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'peso_' });

  const httpRequests = new Counter({
    name: 'peso_http_requests_total',
    help: 'HTTP requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'peso_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (until its response ends; event streams are not timed), by method and route.',
    labelNames: ['method', 'route'],
    buckets: SECONDS,
    registers: [registry],
  });
  const operations = new Counter({
    name: 'peso_graphql_operations_total',
    help: 'GraphQL operations executed or subscribed, per root field, by transport (http, sse, ws, rest) and type.',
    labelNames: ['transport', 'type', 'field'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'peso_graphql_errors_total',
    help: 'Errors in GraphQL results, by transport and error code.',
    labelNames: ['transport', 'code'],
    registers: [registry],
  });
  const operationDuration = new Histogram({
    name: 'peso_graphql_operation_duration_seconds',
    help: 'Execution time of queries and mutations (subscriptions: until the stream opens), by transport and type.',
    labelNames: ['transport', 'type'],
    buckets: SECONDS,
    registers: [registry],
  });
  const subscriptions = new Gauge({
    name: 'peso_subscriptions_active',
    help: 'Subscriptions streaming now, by transport (sse, ws).',
    labelNames: ['transport'],
    registers: [registry],
  });
  for (const transport of ['sse', 'ws']) subscriptions.set({ transport }, 0);

  const jobs = new Gauge({
    name: 'peso_jobs',
    help: 'Jobs in the job queue (pg-boss), by queue and state (created, retry, active, completed, cancelled, failed).',
    labelNames: ['queue', 'state'],
    registers: [registry],
  });
  const depth = new Gauge({
    name: 'peso_queue_depth',
    help: 'Jobs waiting to be picked up (created or retry), by queue.',
    labelNames: ['queue'],
    registers: [registry],
  });
  // One read of the queue per scrape, shared by both gauges.
  let reading: Promise<void> | null = null;
  const readQueue = () => {
    reading ??= (async () => {
      try {
        const [exists] = await query<{ t: string | null }>(
          database,
          "select to_regclass('pgboss.job')::text as t",
        );
        jobs.reset();
        depth.reset();
        if (!exists?.t) return;
        const rows = await query<{ name: string; state: string; n: number }>(
          database,
          'select name, state::text as state, count(*)::int as n from pgboss.job group by 1, 2',
        );
        const waiting = new Map<string, number>();
        for (const { name, state, n } of rows) {
          jobs.set({ queue: name, state }, Number(n));
          if (state === 'created' || state === 'retry')
            waiting.set(name, (waiting.get(name) ?? 0) + Number(n));
          else waiting.set(name, waiting.get(name) ?? 0);
        }
        for (const [queue, n] of waiting) depth.set({ queue }, n);
      } catch (error) {
        log.warn({ error: errorSummary(error) }, 'metrics: job queue not readable');
      } finally {
        reading = null;
      }
    })();
    return reading;
  };

  const expected = config.metricsToken
    ? createHash('sha256').update(config.metricsToken).digest()
    : null;
  const authorized = (header: string | undefined) => {
    if (!expected) return true;
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
    return timingSafeEqual(createHash('sha256').update(token).digest(), expected);
  };

  const plugin: Plugin = {
    onExecute({ args }) {
      const started = performance.now();
      const context = args.contextValue as unknown as Record<string, unknown>;
      const transport = transportOf(context, false);
      const { type, fields } = rootFields(args.document, args.operationName, args.schema);
      for (const field of fields) operations.inc({ transport, type, field });
      return {
        onExecuteDone({ result }) {
          operationDuration.observe({ transport, type }, (performance.now() - started) / 1000);
          // Incremental delivery is not enabled: a result is one object.
          for (const error of (result as ExecutionResult).errors ?? [])
            errors.inc({ transport, code: codeOf(error) });
        },
      };
    },
    onSubscribe({ args }) {
      const started = performance.now();
      const context = args.contextValue as unknown as Record<string, unknown>;
      const transport = transportOf(context, true);
      const { type, fields } = rootFields(args.document, args.operationName, args.schema);
      for (const field of fields) operations.inc({ transport, type, field });
      return {
        onSubscribeError({ error }) {
          errors.inc({ transport, code: codeOf(error) });
        },
        onSubscribeResult({ result }) {
          operationDuration.observe({ transport, type }, (performance.now() - started) / 1000);
          if (!(Symbol.asyncIterator in (result as object))) {
            for (const error of (result as ExecutionResult).errors ?? [])
              errors.inc({ transport, code: codeOf(error) });
            return;
          }
          subscriptions.inc({ transport });
          let open = true;
          return {
            onNext({ result: next }) {
              for (const error of (next as ExecutionResult).errors ?? [])
                errors.inc({ transport, code: codeOf(error) });
            },
            onEnd() {
              if (!open) return;
              open = false;
              subscriptions.dec({ transport });
            },
          };
        },
      };
    },
  };

  return {
    registry,
    plugin,
    observe(req, res) {
      const started = performance.now();
      // 'close' rather than 'finish': a stream the client ends never finishes.
      res.once('close', () => {
        const method = METHODS.has(req.method ?? '') ? req.method! : 'OTHER';
        const pathname = (req.url ?? '/').split('?')[0]!;
        const route = routeLabel(method, pathname);
        httpRequests.inc({ method, route, status: String(res.statusCode) });
        // An event stream lasts as long as its subscription: not a latency.
        if (!req.headers.accept?.includes('text/event-stream'))
          httpDuration.observe({ method, route }, (performance.now() - started) / 1000);
      });
    },
    async route(req, res) {
      if (!expected && config.production) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { code: 'NOT_FOUND', message: 'Metrics are off: set PESO_METRICS_TOKEN.' },
          }),
        );
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'BAD_USER_INPUT', message: 'Use GET.' } }));
        return;
      }
      if (!authorized(req.headers.authorization)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              code: 'UNAUTHENTICATED',
              message: 'Send the metrics token as `Authorization: Bearer <PESO_METRICS_TOKEN>`.',
            },
          }),
        );
        return;
      }
      await readQueue();
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
  };
}
