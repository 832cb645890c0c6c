import { pino } from 'pino';

/** Paths that may carry credentials; pino replaces them before anything is written. */
const REDACT = [
  'authorization',
  'password',
  'token',
  'secret',
  'apiKey',
  '*.authorization',
  '*.password',
  '*.token',
  '*.secret',
  'req.headers.authorization',
  'headers.authorization',
  'variables.password',
  'connectionParams.authorization',
];

export type Logger = pino.Logger;

/** A logger writing JSON lines to stdout, or to `destination` (tests read it). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { service: 'peso' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * The code and message of an error (and of the error it wraps), for failures that are expected
 * to repeat — a database or Redis outage — where a stack or the driver's state on every line
 * would drown the log.
 */
export function errorSummary(error: unknown): { code?: string; message: string } {
  let code: string | undefined;
  let innermost: unknown = error;
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string') code ??= c;
    innermost = e;
  }
  const message = innermost instanceof Error ? innermost.message : String(innermost);
  return code ? { code, message } : { message };
}
