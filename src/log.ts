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
