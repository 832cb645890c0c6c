import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';

/** The sample at percentile `p` (0–100) of an ascending list. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface GraphQLBody {
  data?: Record<string, any> | null;
  errors?: unknown[];
}

/** One GraphQL request over HTTP to `endpoint` (…/graphql), with a Bearer credential if given. */
export async function graphql(
  endpoint: string,
  credential: string | null,
  query: string,
  variables: unknown = {},
): Promise<GraphQLBody & { status: number }> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { ...((await res.json()) as GraphQLBody), status: res.status };
}

/**
 * PUTs a file to a signed upload URL, streamed from disk with its length declared, as a client
 * of Peso's large-file path would; returns the status and the JSON answer.
 */
export async function putFile(url: string, path: string) {
  const res = await fetch(url, {
    method: 'PUT',
    body: Readable.toWeb(createReadStream(path)) as ReadableStream,
    headers: { 'content-length': String(statSync(path).size) },
    duplex: 'half',
  } as RequestInit);
  const text = await res.text();
  let body: { version?: { id: string; rowCount: number }; error?: unknown } = {};
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`upload: HTTP ${res.status}, non-JSON answer: ${text.slice(0, 500)}`);
  }
  return { status: res.status, body };
}
