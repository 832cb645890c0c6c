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

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { service: 'peso' },
  });
}
