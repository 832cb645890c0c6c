import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isApiKeyFormat } from '../auth/api-keys';
import { ConfigError } from '../config';

/**
 * Trusted documents (persisted operations): with `PESO_TRUSTED_DOCUMENTS` naming a manifest —
 * the `{ "sha256:<hex>": "<document>" }` JSON that `npm run codegen` writes to
 * `examples/generated/persisted-documents.json`, or any file in that shape — an API key may run
 * only the documents it lists. Members (GraphiQL, tools) may still send any document. A caller
 * may send a document by hash (`documentId`, or `extensions.persistedQuery.sha256Hash` as
 * Apollo's persisted queries do) instead of its text.
 */
export interface TrustedDocuments {
  /** The document text for a hash the manifest lists. */
  byHash: ReadonlyMap<string, string>;
}

const HASH = /^[0-9a-f]{64}$/;

/** Reads the manifest once, at start-up; a bad file stops start-up naming the variable. */
export function loadTrustedDocuments(path: string): TrustedDocuments {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `Invalid PESO_TRUSTED_DOCUMENTS: cannot read ${path} as JSON (${(error as Error).message})`,
    );
  }
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) {
    throw new ConfigError(
      'Invalid PESO_TRUSTED_DOCUMENTS: expected { "sha256:<hex>": "<document>" }',
    );
  }
  const byHash = new Map<string, string>();
  for (const [key, document] of Object.entries(manifest)) {
    const hash = key.replace(/^sha256:/, '').toLowerCase();
    if (typeof document !== 'string' || sha256(document) !== hash) {
      throw new ConfigError(
        `Invalid PESO_TRUSTED_DOCUMENTS: the entry ${key.slice(0, 23)}… is not the sha256 of its document`,
      );
    }
    byHash.set(hash, document);
  }
  return { byHash };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The hash a request names instead of a document, if any. */
function requestedHash(params: {
  documentId?: unknown;
  extensions?: Record<string, unknown> | null;
}): string | null {
  const persisted = params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
  const id = params.documentId ?? persisted?.sha256Hash;
  if (typeof id !== 'string') return null;
  return id.replace(/^sha256:/, '').toLowerCase();
}

const refused = (message: string, code: string) =>
  new GraphQLError(message, { extensions: { code, http: { status: 400 } } });

/** Read as `resolveViewer` reads it, so no spelling of an API key escapes the rule. */
const isApiKey = (authorization: string | null | undefined) => {
  const credential = /^Bearer\s+(\S+)\s*$/i.exec(authorization?.trim() ?? '')?.[1];
  return credential !== undefined && isApiKeyFormat(credential);
};

/**
 * The document to run for a request, or a typed refusal: a named hash must be listed, and an API
 * key's document text must hash to a listed entry.
 */
export function resolveDocument(
  trusted: TrustedDocuments,
  params: { query?: unknown; documentId?: unknown; extensions?: Record<string, unknown> | null },
  authorization: string | null | undefined,
): string | GraphQLError {
  const hash = requestedHash(params);
  if (hash !== null) {
    const document = HASH.test(hash) ? trusted.byHash.get(hash) : undefined;
    return document ?? refused('No trusted document has this id.', 'PERSISTED_QUERY_NOT_FOUND');
  }
  if (typeof params.query !== 'string') {
    return refused('Send a query or the id of a trusted document.', 'BAD_USER_INPUT');
  }
  if (isApiKey(authorization) && !trusted.byHash.has(sha256(params.query))) {
    return refused(
      'API keys may run only trusted documents (PESO_TRUSTED_DOCUMENTS); this one is not listed.',
      'PERSISTED_QUERY_NOT_ALLOWED',
    );
  }
  return params.query;
}

/** The HTTP and SSE side: the document is resolved before anything parses it. */
export function useTrustedDocuments(trusted: TrustedDocuments): Plugin {
  return {
    onParams({ params, request, setParams }) {
      const raw = params as typeof params & { documentId?: unknown };
      const document = resolveDocument(trusted, raw, request.headers.get('authorization'));
      if (document instanceof GraphQLError) throw document;
      const { documentId: _, ...rest } = raw;
      setParams({ ...rest, query: document });
    },
  };
}
