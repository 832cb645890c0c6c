// The dashboard's only way to data: the GraphQL API, as the signed-in viewer, over HTTP for
// queries and mutations and graphql-ws for subscriptions. The documents are the ones in
// dashboard/operations.graphql (typed by codegen), fetched by name.
import { createClient } from 'graphql-ws';

const CREDENTIAL_KEY = 'peso.dashboard.credential';

let operations = null;
let wsClient = null;
const connectionListeners = new Set();
const signOutListeners = new Set();

/** Calls `listener()` when the API stops accepting this tab's credential (expired, revoked). */
export function onSignedOut(listener) {
  signOutListeners.add(listener);
  return () => signOutListeners.delete(listener);
}

/** The credential of this tab (a session token or an API key), kept for the tab's lifetime. */
export function credential() {
  return sessionStorage.getItem(CREDENTIAL_KEY);
}

export function setCredential(value) {
  if (value) sessionStorage.setItem(CREDENTIAL_KEY, value);
  else sessionStorage.removeItem(CREDENTIAL_KEY);
  wsClient?.dispose();
  wsClient = null;
}

async function documentOf(name) {
  operations ??= fetch('/dashboard/operations.json').then((r) => {
    if (!r.ok) throw new Error(`Could not load the dashboard's operations (${r.status}).`);
    return r.json();
  });
  const document = (await operations)[name];
  if (!document) throw new Error(`Unknown operation ${name}.`);
  return document;
}

/** An error the API answered: its message and code (`extensions.code` or a typed error's). */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** Runs a query or mutation by name; resolves to `data`, rejects with the first error. */
export async function gql(name, variables = {}, auth = credential()) {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(auth ? { authorization: `Bearer ${auth}` } : {}),
    },
    body: JSON.stringify({ query: await documentOf(name), variables, operationName: name }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The API answered ${response.status}.`, 'HTTP_ERROR');
  }
  if (body.errors?.length) {
    const [first] = body.errors;
    if (first.extensions?.code === 'UNAUTHENTICATED' && auth && auth === credential()) {
      setCredential(null);
      for (const listener of signOutListeners) listener();
    }
    throw new ApiError(first.message, first.extensions?.code ?? 'ERROR');
  }
  return body.data;
}

/** Throws a typed error (`... on Error { code message }`) a result union answered. */
export function unwrap(result) {
  if (result && typeof result.code === 'string' && typeof result.message === 'string')
    throw new ApiError(result.message, result.code);
  return result;
}

function socket() {
  if (wsClient) return wsClient;
  const url = new URL('/graphql', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const auth = credential();
  wsClient = createClient({
    url: url.href,
    connectionParams: auth ? { authorization: `Bearer ${auth}` } : {},
    lazy: true,
    retryAttempts: 10,
    on: {
      connected: () => {
        for (const listener of connectionListeners) listener('live');
      },
      // A lazy client closes normally (1000) once nothing is subscribed.
      closed: (event) => {
        const state = event?.code === 1000 ? 'idle' : 'offline';
        for (const listener of connectionListeners) listener(state);
      },
    },
  });
  return wsClient;
}

/** Calls `listener('live' | 'offline')` as the WebSocket connects and drops. */
export function onConnection(listener) {
  connectionListeners.add(listener);
  return () => connectionListeners.delete(listener);
}

/**
 * Subscribes by name over graphql-ws; `onData` gets each event's data, `onEnd` the error that
 * ended it (or nothing when it completed). Returns the function that unsubscribes.
 */
export function subscribe(name, variables, onData, onEnd = () => {}) {
  let stop = null;
  let stopped = false;
  documentOf(name).then(
    (query) => {
      if (stopped) return;
      stop = socket().subscribe(
        { query, variables, operationName: name },
        {
          next: (result) => {
            if (result.errors?.length) onEnd(new ApiError(result.errors[0].message, 'ERROR'));
            else if (result.data) onData(result.data);
          },
          error: (error) =>
            onEnd(error instanceof Error ? error : new Error(error?.reason || 'Connection lost.')),
          complete: () => onEnd(null),
        },
      );
    },
    (error) => onEnd(error),
  );
  return () => {
    stopped = true;
    stop?.();
  };
}
