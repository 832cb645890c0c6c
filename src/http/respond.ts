import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDatabaseUnavailable } from '../../db/client';
import { DatasetInputError } from '../datasets/input-error';
import { InputError, PesoError, ServiceUnavailableError } from '../errors';
import { errorSummary, type Logger } from '../log';

const STATUS: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  BAD_USER_INPUT: 400,
};

/** The request id of a plain HTTP route: the caller's `x-request-id`, or a new one. */
export function requestIdOf(req: IncomingMessage): string {
  return String(req.headers['x-request-id'] ?? '').slice(0, 100) || randomUUID();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string) {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': requestId });
  res.end(JSON.stringify(body));
}

/**
 * Answers a failed plain-HTTP request (signed uploads and exports) the way GraphQL would: a
 * `PesoError` as `{ error: { code, message, … } }` with a matching status, an unreachable
 * database as 503 `SERVICE_UNAVAILABLE`; anything else as a masked 500 whose details go only to
 * the log.
 */
export function sendError(
  res: ServerResponse,
  error: unknown,
  requestId: string,
  log: Logger,
): void {
  if (isDatabaseUnavailable(error)) {
    const unavailable = new ServiceUnavailableError();
    log.warn({ error: errorSummary(error), requestId }, 'database unavailable');
    if (!res.headersSent) res.setHeader('retry-after', String(unavailable.retryAfter));
    sendJson(
      res,
      503,
      { error: { code: unavailable.code, message: unavailable.message } },
      requestId,
    );
    return;
  }
  if (!(error instanceof PesoError)) {
    log.error({ err: error, requestId }, 'request failed unexpectedly');
    sendJson(res, 500, { error: { code: 'INTERNAL', message: 'Unexpected error.' } }, requestId);
    return;
  }
  const detail =
    error instanceof DatasetInputError
      ? { reason: error.reason, line: error.line ?? null, column: error.column ?? null }
      : error instanceof InputError
        ? { field: error.field }
        : {};
  const status =
    error instanceof DatasetInputError && error.reason === 'TOO_LARGE'
      ? 413
      : (STATUS[error.code] ?? 400);
  sendJson(
    res,
    status,
    { error: { code: error.code, message: error.message, ...detail } },
    requestId,
  );
}

/** 405 with `Allow`, unless the method is the one expected. */
export function allowOnly(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  requestId: string,
): boolean {
  if (req.method === method) return true;
  res.setHeader('allow', method);
  sendJson(
    res,
    405,
    { error: { code: 'METHOD_NOT_ALLOWED', message: `Use ${method}.` } },
    requestId,
  );
  return false;
}

/**
 * The last path segment of a route like `/uploads/<token>`, without the query string. Tokens are
 * URL-safe already; a malformed escape yields the raw text, which then fails verification.
 */
export function tokenOf(req: IncomingMessage, prefix: string): string {
  const raw = (req.url ?? '').slice(prefix.length).split('?')[0] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
