import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_GRAPHQL_BODY_BYTES } from '../../src/http/body';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * GraphQL request bodies are read and bounded before yoga sees them (src/http/body.ts): an
 * oversized body is refused with 413 and a typed error whether or not it declares its length,
 * and empty or malformed bodies still get yoga's 400 answers, never a 500.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/** POSTs raw bytes to /graphql, optionally without Content-Length (chunked). */
function post(
  chunks: Buffer[],
  options: { chunked?: boolean; contentType?: string } = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(server.graphqlUrl);
  const length = chunks.reduce((n, c) => n + c.length, 0);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': options.contentType ?? 'application/json',
          accept: 'application/graphql-response+json',
          ...(options.chunked ? {} : { 'content-length': String(length) }),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    // The server may answer and close before the whole body is sent.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('GraphQL request bodies', () => {
  it('answers a query in a body of many chunks', async () => {
    const text = JSON.stringify({ query: '{ __typename }' });
    const parts = [...text].map((ch) => Buffer.from(ch));
    const answer = await post(parts, { chunked: true });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a declared length over the limit with 413 without reading the body', async () => {
    const url = new URL(server.graphqlUrl);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(MAX_GRAPHQL_BODY_BYTES + 1),
          },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      // Only the headers and a few bytes are sent: the answer must not wait for the rest.
      req.write('{"query":');
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({
      errors: [
        { message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } },
      ],
    });
  });

  it('refuses a chunked body that grows over the limit with 413', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const count = Math.ceil(MAX_GRAPHQL_BODY_BYTES / chunk.length) + 1;
    const answer = await post(
      Array.from({ length: count }, () => chunk),
      { chunked: true },
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    // The server still answers afterwards.
    const after = await server.gql('{ __typename }');
    expect(after.data).toEqual({ __typename: 'Query' });
  });

  it('answers an empty body and malformed JSON with 400 and a GraphQL error', async () => {
    for (const body of ['', '{"query": ', 'null']) {
      const answer = await post([Buffer.from(body)]);
      expect(answer.status, body).toBe(400);
      const parsed = JSON.parse(answer.body) as { errors: { message: string }[] };
      expect(parsed.errors.length, body).toBeGreaterThan(0);
      expect(answer.body).not.toMatch(/Unexpected error|at .*\.js/);
    }
  });
});
