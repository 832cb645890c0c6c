import type { IncomingMessage, ServerResponse } from 'node:http';

/** The largest request body yoga is handed (its own default, which it no longer checks itself). */
export const MAX_GRAPHQL_BODY_BYTES = 25_000_000;

/**
 * Reads a request's body into memory before yoga sees it, refusing one over `max` bytes with
 * 413 and the GraphQL error yoga itself answers. Yoga then takes the bytes as they are instead of
 * streaming the request through a size-counting transform and a stream pipeline of its own (a
 * Request copy, an AbortController and a DOMException per call): the same limit and answer, at a
 * fraction of the cost. Resolves to the body, or null once it has answered.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  max = MAX_GRAPHQL_BODY_BYTES,
): Promise<Buffer | null> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    tooLarge(res);
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.off('end', onEnd);
        tooLarge(res);
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

function tooLarge(res: ServerResponse) {
  const body = JSON.stringify({
    errors: [
      { message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } },
    ],
  });
  res.writeHead(413, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  // The rest of the body is not read: node discards it and closes the connection after this.
  res.end(body);
}
