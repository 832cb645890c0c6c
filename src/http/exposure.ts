import {
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  validate,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config';
import type { AppContext } from '../context';

/**
 * What the API tells callers about itself, and which browsers may talk to it: introspection,
 * "Did you mean" suggestions, CSRF prevention for requests a browser sends without a preflight,
 * and the Origin allow-list shared by CORS and WebSocket upgrades.
 */

const INTROSPECTION = /\b__(schema|type)\b/;

/**
 * Refuses `__schema` / `__type` unless `PESO_INTROSPECTION` allows the caller: `authenticated`
 * (the default) lets any signed-in member or API key introspect, as GraphiQL and tools need.
 * Checked after the context is built, since only then is the credential known to be valid.
 */
export function useIntrospectionGate(mode: Config['introspection']): Plugin<AppContext> {
  if (mode === 'on') return {};
  const gate = ({
    args,
    setResultAndStopExecution,
  }: {
    args: ExecutionArgs;
    setResultAndStopExecution: (result: ExecutionResult) => void;
  }) => {
    const source = args.document.loc?.source.body;
    if (source !== undefined && !INTROSPECTION.test(source)) return;
    if (mode === 'authenticated' && (args.contextValue as AppContext).viewer) return;
    if (validate(args.schema, args.document, [NoSchemaIntrospectionCustomRule]).length === 0)
      return;
    setResultAndStopExecution({
      errors: [
        mode === 'off'
          ? new GraphQLError('Introspection is disabled (PESO_INTROSPECTION).', {
              extensions: { code: 'FORBIDDEN' },
            })
          : new GraphQLError('Sign in to introspect the schema.', {
              extensions: { code: 'UNAUTHENTICATED' },
            }),
      ],
    });
  };
  return { onExecute: gate, onSubscribe: gate };
}

const SUGGESTION = / ?Did you mean .*$/s;

function withoutSuggestions<E extends GraphQLError>(errors: readonly E[]): E[] | null {
  if (!errors.some((error) => SUGGESTION.test(error.message))) return null;
  return errors.map((error) =>
    SUGGESTION.test(error.message)
      ? (new GraphQLError(error.message.replace(SUGGESTION, ''), {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          originalError: error.originalError,
          extensions: error.extensions,
        }) as E)
      : error,
  );
}

/**
 * Strips graphql-js's "Did you mean …?" from validation and coercion errors: they spell out
 * the schema to callers who may not introspect it.
 */
export function useNoSuggestions(): Plugin {
  const strip = ({
    result,
    setResult,
  }: {
    result: ExecutionResult | AsyncIterable<ExecutionResult>;
    setResult: (result: ExecutionResult) => void;
  }) => {
    if (Symbol.asyncIterator in result || !result.errors) return;
    const errors = withoutSuggestions(result.errors);
    if (errors) setResult({ ...result, errors });
  };
  return {
    onValidate:
      () =>
      ({ result, setResult }) => {
        const errors = withoutSuggestions(result);
        if (errors) setResult(errors);
      },
    onExecute: () => ({ onExecuteDone: strip }),
    onSubscribe: () => ({ onSubscribeResult: strip }),
  };
}

/** Content types a browser sends cross-site without a CORS preflight. */
const SIMPLE_CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'text/plain',
];

/** Headers any of which marks a request as sent by a client that had to pass a preflight. */
export const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'apollo-require-preflight'];

/**
 * CSRF prevention: a POST a browser could send from another site without a preflight (a form,
 * a multipart upload, text/plain) runs only with one of `CSRF_HEADERS`, which no such page can
 * add. GET cannot run mutations (yoga refuses them) and JSON POSTs are always preflighted.
 */
export function useCsrfPrevention(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'POST') return;
      const type = request.headers.get('content-type')?.toLowerCase() ?? '';
      const simple = type === '' || SIMPLE_CONTENT_TYPES.some((t) => type.startsWith(t));
      if (!simple || CSRF_HEADERS.some((header) => request.headers.has(header))) return;
      throw new GraphQLError(
        `A ${type || 'body without content-type'} request needs the "${CSRF_HEADERS[0]}" header (CSRF prevention).`,
        { extensions: { code: 'FORBIDDEN', http: { status: 403 } } },
      );
    },
  };
}

/**
 * Whether a browser page at `origin` may call the API: non-browser clients send no Origin; the
 * API's own origin (the Host the request came to, or `PESO_PUBLIC_URL`) is always allowed;
 * others only when `PESO_ALLOWED_ORIGINS` lists them (or is `*`).
 */
export function originAllowed(
  origin: string | null | undefined,
  host: string | null | undefined,
  config: Pick<Config, 'allowedOrigins' | 'publicUrl'>,
): boolean {
  if (!origin) return true;
  if (config.allowedOrigins === '*' || config.allowedOrigins.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (config.publicUrl && new URL(config.publicUrl).origin === url.origin) return true;
  return host !== undefined && host !== null && url.host === host;
}

/** yoga's CORS option: headers for allowed cross-origin pages only, never credentials. */
export function corsFor(config: Pick<Config, 'allowedOrigins' | 'publicUrl'>) {
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || !originAllowed(origin, request.headers.get('host'), config)) return false;
    return { origin, credentials: false, maxAge: 600 };
  };
}
