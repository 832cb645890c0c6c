import { pino } from 'pino';
import pretty from 'pino-pretty';

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

/** `json`: one JSON object a line (production, log shippers); `pretty`: for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * A logger writing to stdout — JSON lines, or with `format: 'pretty'` coloured lines for a
 * terminal (pino-pretty, in this thread: no worker, nothing native) — or JSON to `destination`
 * (tests read it).
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const options = {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { service: 'peso' },
  };
  if (destination) return pino(options, destination);
  if (format === 'pretty') {
    return pino(
      options,
      pretty({
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service',
        singleLine: true,
        sync: true,
      }),
    );
  }
  return pino(options);
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
