import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PothosValidationError } from '@pothos/core';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { createYoga, maskError as defaultMaskError, useReadinessCheck } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Database, isDatabaseUnavailable } from '../db/client';
import { schema } from '../schema/index';
import { resolveViewer, type Viewer } from './auth/viewer';
import type { Config } from './config';
import { type AppContext, createContext } from './context';
import { UPLOAD_PATH, uploadRoute } from './datasets/uploads';
import {
  PesoError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthenticatedError,
} from './errors';
import { createEventBus, type EventBus } from './events/bus';
import { useSharedSubscriptions } from './events/fanout';
import { currentStanding, principalKey, type Standing } from './events/recheck';
import { endStreams } from './events/stream';
import { serveGraphqlWs, sharedPayload } from './events/websocket';
import { readBody } from './http/body';
import { DASHBOARD_PATH, dashboardRoute } from './http/dashboard';
import {
  corsFor,
  originAllowed,
  useCsrfPrevention,
  useIntrospectionGate,
  useNoSuggestions,
} from './http/exposure';
import {
  GRAPHIQL_ASSET_PATH,
  graphiqlOptions,
  renderGraphiQL,
  serveGraphiQLAsset,
} from './http/graphiql';
import { useInputGuard } from './http/input-guard';
import { createMetrics, METRICS_PATH } from './http/metrics';
import { logPlainRoute, socketLog, useRequestLog } from './http/request-log';
import { useRest } from './http/rest';
import {
  loadTrustedDocuments,
  resolveDocument,
  useTrustedDocuments,
} from './http/trusted-documents';
import { useInsightsReplay } from './insights/replay';
import { type JobQueue, lazyJobQueue } from './jobs/queue';
import { useDocumentLimits } from './limits/document';
import {
  addressOf,
  epochOf,
  limitedRoute,
  rateLimitedError,
  useAddressRateLimit,
  useOperationLimits,
} from './limits/plugin';
import { createRateLimiter } from './limits/rate-limit';
import { errorSummary, type Logger } from './log';
import { EXPORT_PATH, exportRoute } from './query/export';

/** How long requests in flight may take to finish on shutdown (a process stops within 30 s). */
const DRAIN_MS = 25_000;

export interface PesoServer {
  http: Server;
  /** Base URL the server listens on, e.g. `http://127.0.0.1:4000`. */
  url: string;
  close(): Promise<void>;
}

/** Turns an expected service error into a GraphQL error with `extensions.code`; masks the rest. */
function maskError(log: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const original = error instanceof GraphQLError ? error.originalError : error;
    if (isDatabaseUnavailable(original))
      return databaseUnavailable(log, original, error instanceof GraphQLError ? error : null);
    // Expected errors keep their located GraphQLError with the code set: returning the same
    // object also tells yoga there was nothing to mask, so it does not log them as failures.
    const expected =
      original instanceof PesoError
        ? {
            code: original.code,
            ...('field' in original && original.field ? { field: original.field } : {}),
            ...(original instanceof RateLimitedError ? { retryAfter: original.retryAfter } : {}),
          }
        : original instanceof PothosValidationError
          ? // Pothos rejects malformed input it maps itself (global IDs of the wrong type, …).
            { code: 'BAD_USER_INPUT' }
          : null;
    if (expected && original instanceof Error) {
      if (error instanceof GraphQLError && error.message === original.message) {
        (error as { extensions: Record<string, unknown> }).extensions = expected;
        return error;
      }
      return new GraphQLError(original.message, { extensions: expected });
    }
    if (original instanceof GraphQLError) return error instanceof GraphQLError ? error : original;
    if (!(error instanceof GraphQLError && !error.originalError)) {
      log.error({ err: original }, 'unexpected error');
    }
    return defaultMaskError(error, message, isDev);
  };
}

/**
 * `SERVICE_UNAVAILABLE` for an error saying the database cannot be reached — an outage, not a
 * bug: HTTP 503 with Retry-After where it ends a request, and one log line without a stack. A
 * located error is rewritten in place, keeping its path (and telling yoga that nothing was
 * masked, so it does not log it again as a failure).
 */
function databaseUnavailable(
  log: Logger,
  cause: unknown,
  located: GraphQLError | null,
): GraphQLError {
  log.warn({ error: errorSummary(cause) }, 'database unavailable');
  const unavailable = new ServiceUnavailableError();
  const retryAfter = String(unavailable.retryAfter);
  const extensions = {
    code: unavailable.code,
    retryAfter: unavailable.retryAfter,
    http: { status: 503, headers: { 'retry-after': retryAfter } },
  };
  if (!located) return new GraphQLError(unavailable.message, { extensions });
  return Object.assign(located, { message: unavailable.message, extensions });
}

function unauthenticated(error: unknown): never {
  if (error instanceof UnauthenticatedError) {
    throw new GraphQLError(error.message, {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    });
  }
  throw error;
}

type WsConnectionParams = Record<string, unknown> & { authorization?: unknown };

/** Closes a socket with 4403 and why, so a client does not retry the same credential. */
function closeForbidden(socket: WebSocket, reason: string) {
  // A close reason holds at most 123 bytes.
  let text = `Forbidden: ${reason}`;
  while (Buffer.byteLength(text) > 123) text = `${text.slice(0, -2)}…`;
  socket.close(4403, text);
}

/**
 * Starts Peso's HTTP server: GraphQL over HTTP and SSE with GraphiQL at `/graphql`, graphql-ws on
 * the same port and path executing through yoga's own envelop pipeline, `/health` and `/ready`.
 */
export async function startServer(deps: {
  config: Config;
  database: Database;
  log: Logger;
  /** The bus subscriptions listen on; a new one when not given. */
  events?: EventBus;
  /** The job queue; a lazily started one when not given. */
  jobs?: JobQueue;
  port?: number;
  host?: string;
}): Promise<PesoServer> {
  const { config, database, log } = deps;
  const requestIds = new WeakMap<Request, string>();
  const ownBus = deps.events ? null : createEventBus(database, config.redisUrl, log);
  const ownJobs = deps.jobs ? null : lazyJobQueue(database, config, log);
  const contextDeps = {
    config,
    database,
    log,
    events: deps.events ?? ownBus!,
    jobs: deps.jobs ?? ownJobs!,
  };
  await contextDeps.events.ready;
  const limiter = createRateLimiter({
    database,
    redisUrl: config.redisUrl,
    config: config.rateLimits,
    log,
  });
  const trusted = config.trustedDocuments ? loadTrustedDocuments(config.trustedDocuments) : null;
  const metrics = createMetrics({ config, database, log });

  const yoga = createYoga<{ connectionParams?: WsConnectionParams }, AppContext>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    // Bodies are read (and bounded) by readBody before yoga sees them.
    maxRequestBodySize: false,
    graphiql: config.graphiql && graphiqlOptions(schema, log),
    renderGraphiQL,
    cors: corsFor(config),
    maskedErrors: { maskError: maskError(log) },
    logging: {
      debug: (...args) => log.debug(args.map(String).join(' ')),
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      error: (...args) => log.error(args.map(String).join(' ')),
    },
    plugins: [
      useRequestLog(log, requestIds),
      // Before the plugins that may stop an execution, so refused operations are counted too.
      metrics.plugin,
      // First: the walks of later plugins may assume inputs are no deeper than this allows.
      useInputGuard({ maxDepth: config.maxInputDepth }),
      config.csrfPrevention && useCsrfPrevention(),
      trusted ? useTrustedDocuments(trusted) : {},
      useIntrospectionGate(config.introspection),
      !config.suggestions && useNoSuggestions(),
      useAddressRateLimit(limiter, '/graphql'),
      useDocumentLimits(config.limits),
      useOperationLimits({ limits: config.limits, limiter }),
      // After the limits: a replayed insights read is counted and priced like any other.
      useInsightsReplay(),
      // REST routes (/api/v1) and /openapi.json: the same context and execute hooks as /graphql.
      useRest({ limiter, log }),
      // Each subscription event executed once per group of identical subscriptions.
      useSharedSubscriptions(),
      useReadinessCheck({
        endpoint: '/ready',
        check: async () => {
          try {
            await database.ping();
            // After a database restart, ready again only once LISTEN is back too.
            return await contextDeps.events.listening();
          } catch {
            return false;
          }
        },
      }),
    ],
    context: async (initial) => {
      const request = (initial as { request?: Request }).request;
      const authorization =
        request?.headers.get('authorization') ??
        (typeof initial.connectionParams?.authorization === 'string'
          ? initial.connectionParams.authorization
          : null);
      const requestId = request ? requestIds.get(request) : randomUUID();
      const origin = request ? new URL(request.url).origin : null;
      const address = addressOf((initial as { req?: IncomingMessage }).req);
      const epoch = epochOf(request);
      return createContext(contextDeps, { authorization, requestId, origin, epoch })
        .then((context) => Object.assign(context, { address, limiter }))
        .catch((error: unknown) => {
          if (isDatabaseUnavailable(error)) throw databaseUnavailable(log, error, null);
          return unauthenticated(error);
        });
    },
  });

  const upload = limitedRoute(limiter, uploadRoute(contextDeps));
  const download = limitedRoute(limiter, exportRoute(contextDeps));
  const dashboard = limitedRoute(limiter, dashboardRoute({ log }));
  const http = createServer((req, res) => {
    metrics.observe(req, res);
    if (req.url === METRICS_PATH) void metrics.route(req, res);
    else if (req.url?.startsWith(UPLOAD_PATH)) {
      logPlainRoute(log, UPLOAD_PATH, req, res);
      void upload(req, res);
    } else if (req.url?.startsWith(EXPORT_PATH)) {
      logPlainRoute(log, EXPORT_PATH, req, res);
      void download(req, res);
    } else if (req.url === DASHBOARD_PATH || req.url?.startsWith(`${DASHBOARD_PATH}/`))
      void dashboard(req, res);
    else if (config.graphiql && req.url?.startsWith(GRAPHIQL_ASSET_PATH))
      void serveGraphiQLAsset(req, res);
    else if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS')
      void yoga(req, res);
    else
      void readBody(req, res).then(
        (body) => {
          if (!body) return;
          // Handed to yoga as it is: see readBody.
          (req as IncomingMessage & { body?: Buffer }).body = body;
          void yoga(req, res);
        },
        () => res.destroy(),
      );
  });
  // Browsers do not apply CORS to WebSocket upgrades: the Origin is checked here instead.
  const wss = new WebSocketServer({
    server: http,
    path: yoga.graphqlEndpoint,
    verifyClient: ({ origin, req }: { origin: string; req: IncomingMessage }) =>
      originAllowed(origin, req.headers.host, config),
  });
  // The HTTP server's errors are repeated on the WebSocket server: unheard there, a taken port
  // would crash the process with a stack trace instead of failing listen() below.
  wss.on('error', (error) => {
    if (http.listening) log.error({ error: errorSummary(error) }, 'websocket server error');
  });
  /** Open sockets with the credential they signed in with, to notice revocation or change. */
  const credentials = new Map<WebSocket, Viewer>();
  const sockets = socketLog(log);

  const wsServer = serveGraphqlWs<WsConnectionParams, { credential?: string }>(
    {
      onConnect: async (ctx) => {
        const accepted = await (async () => {
          try {
            await limiter.checkAddress(addressOf(ctx.extra.request));
          } catch (error) {
            if (!(error instanceof RateLimitedError)) throw error;
            ctx.extra.socket.close(4429, `Too many requests: retry in ${error.retryAfter} s`);
            return false;
          }
          const authorization = ctx.connectionParams?.authorization;
          if (authorization === undefined || authorization === null || authorization === '')
            return true;
          if (typeof authorization !== 'string') {
            closeForbidden(ctx.extra.socket, 'authorization must be "Bearer <token or API key>".');
            return false;
          }
          let viewer: Viewer;
          try {
            viewer = (await resolveViewer(database.db, config.secret, authorization))!;
          } catch (error) {
            if (error instanceof UnauthenticatedError) {
              closeForbidden(ctx.extra.socket, error.message);
              return false;
            }
            // No answer is not a refusal: the client is told to come back rather than Forbidden.
            if (!isDatabaseUnavailable(error)) return false;
            log.warn({ error: errorSummary(error) }, 'database unavailable');
            ctx.extra.socket.close(4503, 'Service unavailable: try again shortly');
            return false;
          }
          if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
          credentials.set(ctx.extra.socket, viewer);
          return true;
        })();
        sockets.connected(ctx.extra.socket, accepted);
        return accepted;
      },
      onClose: (ctx, code, reason) => {
        credentials.delete(ctx.extra.socket);
        sockets.closed(ctx.extra.socket, code ?? 0, reason ?? '');
      },
      onSubscribe: async (ctx, _id, payload) => {
        try {
          await limiter.checkAddress(addressOf(ctx.extra.request));
        } catch (error) {
          if (error instanceof RateLimitedError) return [rateLimitedError(error)];
          throw error;
        }
        const enveloped = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          connectionParams: ctx.connectionParams,
        });
        let source = payload.query;
        if (trusted) {
          const authorization = ctx.connectionParams?.authorization;
          const resolved = resolveDocument(
            trusted,
            payload,
            typeof authorization === 'string' ? authorization : null,
          );
          if (resolved instanceof GraphQLError) return [resolved];
          source = resolved;
        }
        let document: ReturnType<typeof enveloped.parse>;
        try {
          document = enveloped.parse(source);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        sockets.operation(ctx.extra.socket, document, payload.operationName);
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        let contextValue: AppContext;
        try {
          contextValue = await enveloped.contextFactory();
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        return {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
      execute: (args: ExecutionArgs) =>
        (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
      subscribe: (args: ExecutionArgs) =>
        (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
      // One serialization of a shared result for every socket it goes to.
      onNext: (_ctx, _id, _payload, _args, result) => sharedPayload(result),
    },
    wss,
    { maxBufferedBytes: config.wsMaxBufferedBytes },
  );

  // Credentials can stop being valid while a socket stays open (revoked key, expired token,
  // removed member) or change role: re-check them on a timer and close such sockets with 4403,
  // so no subscription keeps streaming under rights the caller no longer has.
  // Every open socket's credential is read in one statement per round.
  const recheck = setInterval(async () => {
    if (credentials.size === 0) return;
    let standings: Map<string, Standing>;
    try {
      standings = await currentStanding(database, credentials.values());
    } catch {
      return; // No answer (the database is down) is no denial: the next round asks again.
    }
    const now = Date.now();
    for (const [socket, viewer] of credentials) {
      const standing = standings.get(principalKey(viewer));
      let reason: string | null = null;
      if (!standing) continue;
      if ('denied' in standing) reason = standing.denied;
      else if (viewer.expiresAt && viewer.expiresAt.getTime() <= now) reason = 'Token expired.';
      else if (standing.viewer.role !== viewer.role || standing.viewer.orgId !== viewer.orgId)
        reason = 'role changed';
      if (reason === null) continue;
      credentials.delete(socket);
      log.info({ reason }, 'closing websocket: credential no longer valid');
      closeForbidden(socket, reason);
    }
  }, config.authRecheckMs);
  recheck.unref();

  const port = deps.port ?? config.port;
  const host = deps.host ?? config.host;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;

  let closing: Promise<void> | null = null;
  return {
    http,
    url: `http://${urlHost}:${address.port}`,
    close: () => {
      closing ??= (async () => {
        clearInterval(recheck);
        // Drain: take no new connections, end every stream cleanly, let requests in flight
        // finish (cut off after DRAIN_MS), then let go of the rest.
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        endStreams(contextDeps.events);
        for (const socket of wss.clients) socket.close(1001, 'Going away');
        await wsServer.dispose();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        http.closeIdleConnections();
        const cutoff = setTimeout(() => http.closeAllConnections(), DRAIN_MS);
        await closed;
        clearTimeout(cutoff);
        await ownBus?.close();
        await ownJobs?.stop();
        await limiter.close();
      })();
      return closing;
    },
  };
}
