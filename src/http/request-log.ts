import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DocumentNode, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../log';

/**
 * One `request` log line per HTTP request, GraphQL or not, and per WebSocket connection and
 * operation: the request id, the operation's name (GraphQL), status, duration. Signed upload and
 * export URLs are logged by their route only: the rest of the path is a credential.
 */

/** The operation a request runs: its `operationName`, or the name in its document. */
function operationName(document: DocumentNode, given: string | null | undefined): string | null {
  if (given) return given;
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  return operations.length === 1 ? (operations[0]!.name?.value ?? null) : null;
}

/** Tags each GraphQL request with an id (taken from `x-request-id` when sent) and logs it. */
export function useRequestLog(log: Logger, ids: WeakMap<Request, string>): Plugin {
  const started = new WeakMap<Request, number>();
  const operations = new WeakMap<Request, { name: string | null; type: string }>();
  const record = ({
    args,
  }: {
    args: { document: DocumentNode; operationName?: string | null; contextValue: unknown };
  }) => {
    const request = (args.contextValue as { request?: Request }).request;
    if (!request) return;
    const definition = args.document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    operations.set(request, {
      name: operationName(args.document, args.operationName),
      type: definition && 'operation' in definition ? definition.operation : 'query',
    });
  };
  return {
    onRequest({ request }) {
      ids.set(request, request.headers.get('x-request-id')?.slice(0, 100) || randomUUID());
      started.set(request, performance.now());
    },
    onExecute: record,
    onSubscribe: record,
    onResponse({ request, response }) {
      const requestId = ids.get(request);
      if (requestId) response.headers.set('x-request-id', requestId);
      // Below the info level (LOG_LEVEL=warn) the line is not built at all.
      if (!log.isLevelEnabled('info')) return;
      const url = new URL(request.url);
      const operation = operations.get(request);
      log.info(
        {
          requestId,
          method: request.method,
          path: url.pathname,
          ...(operation ? { operation: operation.name, operationType: operation.type } : {}),
          status: response.status,
          ms: Math.round(performance.now() - (started.get(request) ?? performance.now())),
        },
        'request',
      );
    },
  };
}

/**
 * Logs a plain-HTTP route (signed uploads and exports) when its response ends, with the route in
 * place of the signed path. Sets the request id header the route reads, so both agree.
 */
export function logPlainRoute(
  log: Logger,
  route: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const started = performance.now();
  const requestId = String(req.headers['x-request-id'] ?? '').slice(0, 100) || randomUUID();
  req.headers['x-request-id'] = requestId;
  res.once('close', () => {
    log.info(
      {
        requestId,
        method: req.method,
        path: route,
        status: res.statusCode,
        ...(res.writableFinished ? {} : { aborted: true }),
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  });
}

/** Log lines of a graphql-ws connection: opened, each operation, closed with its code. */
export function socketLog(log: Logger) {
  const opened = new WeakMap<object, { id: string; at: number }>();
  const of = (socket: object) => {
    let entry = opened.get(socket);
    if (!entry) {
      entry = { id: randomUUID(), at: performance.now() };
      opened.set(socket, entry);
    }
    return entry;
  };
  return {
    connected(socket: object, accepted: boolean) {
      log.info({ connectionId: of(socket).id, path: '/graphql', accepted }, 'websocket connected');
    },
    operation(socket: object, document: DocumentNode, given: string | null | undefined) {
      const definition = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
      log.info(
        {
          connectionId: of(socket).id,
          operation: operationName(document, given),
          operationType: definition && 'operation' in definition ? definition.operation : null,
        },
        'websocket operation',
      );
    },
    closed(socket: object, code: number, reason: string) {
      const entry = of(socket);
      log.info(
        { connectionId: entry.id, code, reason, ms: Math.round(performance.now() - entry.at) },
        'websocket closed',
      );
    },
  };
}
