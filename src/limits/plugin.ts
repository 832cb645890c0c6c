import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Db } from '../../db/client';
import type { DocumentLimits } from '../config';
import type { AppContext } from '../context';
import { RateLimitedError } from '../errors';
import { operationCost } from './cost';
import { limitError, longListIn } from './document';
import type { RateLimiter } from './rate-limit';

/** `RATE_LIMITED` as a GraphQL error: HTTP 429 with Retry-After when it ends an HTTP request. */
export function rateLimitedError(error: RateLimitedError): GraphQLError {
  return new GraphQLError(error.message, {
    extensions: {
      code: error.code,
      retryAfter: error.retryAfter,
      http: { status: 429, headers: { 'retry-after': String(error.retryAfter) } },
    },
  });
}

const rateLimitedBody = (error: RateLimitedError) =>
  JSON.stringify({
    errors: [
      { message: error.message, extensions: { code: error.code, retryAfter: error.retryAfter } },
    ],
  });

/** The TCP peer of a request (the per-address limits count it). */
export function addressOf(req: IncomingMessage | undefined): string | null {
  return req?.socket?.remoteAddress ?? null;
}

/** The access epoch each request read with its address count (see `RateLimiter.checkAddress`). */
const requestEpochs = new WeakMap<Request, number>();

/** The access epoch read at the start of this request, if its address count read one. */
export function epochOf(request: Request | undefined): number | null {
  return request ? (requestEpochs.get(request) ?? null) : null;
}

/**
 * Counts each GraphQL request against its client address before it is parsed or its credential
 * looked up, so a flood of bad credentials is limited too.
 */
export function useAddressRateLimit(limiter: RateLimiter, endpoint: string): Plugin {
  return {
    async onRequest({ request, serverContext, endResponse, fetchAPI }) {
      if (new URL(request.url).pathname !== endpoint) return;
      const req = (serverContext as { req?: IncomingMessage }).req;
      try {
        const epoch = await limiter.checkAddress(addressOf(req));
        if (epoch !== null) requestEpochs.set(request, epoch);
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        endResponse(
          new fetchAPI.Response(rateLimitedBody(error), {
            status: 429,
            headers: {
              'content-type': 'application/json',
              'retry-after': String(error.retryAfter),
            },
          }),
        );
      }
    },
  };
}

/** The same per-address limit in front of a plain HTTP route (signed uploads and exports). */
export function limitedRoute(
  limiter: RateLimiter,
  route: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    try {
      await limiter.checkAddress(addressOf(req));
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      res.writeHead(429, {
        'content-type': 'application/json',
        'retry-after': String(error.retryAfter),
      });
      res.end(rateLimitedBody(error));
      return;
    }
    await route(req, res);
  };
}

/**
 * What is checked once the caller is known and before anything executes — for queries,
 * mutations and subscriptions alike, over HTTP, SSE and WebSocket: lists in the variables, the
 * caller's rate limit, and the operation's cost against the budget. A refused subscription gets
 * one error and completes; it never opens.
 */
export function useOperationLimits(deps: { limits: DocumentLimits; limiter: RateLimiter }): Plugin {
  const { limits, limiter } = deps;
  async function refusal(args: ExecutionArgs): Promise<GraphQLError | null> {
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    const path = longListIn(variables, limits.maxListLength);
    if (path)
      return limitError(
        'listLength',
        limits.maxListLength,
        `Variable ${path} has more than ${limits.maxListLength} items.`,
      );
    const ctx = args.contextValue as AppContext;
    if (ctx.viewer) {
      try {
        await limiter.checkViewer(ctx.viewer);
      } catch (error) {
        if (error instanceof RateLimitedError) return rateLimitedError(error);
        throw error;
      }
    }
    const cost = await operationCost({
      schema: args.schema,
      document: args.document,
      operationName: args.operationName,
      variables,
      context: ctx,
      db: ctx.db as Db,
      viewer: ctx.viewer,
      rowsPerPoint: limits.costRowsPerPoint,
    });
    if (cost <= limits.maxCost) return null;
    const error = limitError(
      'cost',
      limits.maxCost,
      `The operation would cost ${cost} points, over the budget of ${limits.maxCost}: ask for fewer fields or smaller pages, or read large datasets in fewer fields per request.`,
    );
    (error.extensions as Record<string, unknown>).cost = cost;
    return error;
  }
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const error = await refusal(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    async onSubscribe({ args, setResultAndStopExecution }) {
      const error = await refusal(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
