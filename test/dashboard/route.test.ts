import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../schema/index';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;

/** A GET with the path sent exactly as written (fetch would normalize `..` away). */
function raw(path: string, method = 'GET') {
  const url = new URL(server.url);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path, method }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);

afterAll(() => server?.close());

describe('/dashboard', () => {
  it('serves the page with a CSP that allows only this origin and the import map by its hash', async () => {
    const res = await raw('/dashboard');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    const map = res.body.match(/<script type="importmap">([\s\S]*?)<\/script>/)![1]!;
    const hash = createHash('sha256').update(map).digest('base64');
    const directives = Object.fromEntries(
      csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]),
    );
    expect(directives).toMatchObject({
      'default-src': "'none'",
      'script-src': `'self' 'sha256-${hash}'`,
      'connect-src': "'self'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
    });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    // No inline script but the import map: the page loads its code from files.
    expect(res.body.match(/<script/g)).toHaveLength(2);
    expect(res.body).toContain('<script type="module" src="/dashboard/app.js">');
    expect((await raw('/dashboard/')).body).toBe(res.body);
  });

  it('serves every module of the import map from the allow-list as JavaScript', async () => {
    const page = await raw('/dashboard');
    const map = JSON.parse(page.body.match(/<script type="importmap">([\s\S]*?)<\/script>/)![1]!);
    const paths = Object.values(map.imports as Record<string, string>);
    expect(paths).toEqual([
      '/dashboard/vendor/preact.mjs',
      '/dashboard/vendor/preact-hooks.mjs',
      '/dashboard/vendor/htm.mjs',
      '/dashboard/vendor/uPlot.esm.js',
      '/dashboard/vendor/graphql-ws/client.js',
    ]);
    for (const path of [...paths, '/dashboard/app.js', '/dashboard/api.js']) {
      const res = await raw(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toBe('text/javascript; charset=utf-8');
    }
    // graphql-ws's client imports a hashed chunk beside it: allowed because the client names it.
    const client = await raw('/dashboard/vendor/graphql-ws/client.js');
    const chunk = client.body.match(/from '\.\/([\w-]+\.js)'/)![1]!;
    expect((await raw(`/dashboard/vendor/graphql-ws/${chunk}`)).status).toBe(200);
    const css = await raw('/dashboard/vendor/uPlot.min.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('refuses every path outside the allow-list, traversal included', async () => {
    const secretish = readFileSync('package.json', 'utf8').slice(0, 40);
    for (const path of [
      '/dashboard/../package.json',
      '/dashboard/../../package.json',
      '/dashboard/vendor/../../package.json',
      '/dashboard/vendor/..%2f..%2fpackage.json',
      '/dashboard/%2e%2e/package.json',
      '/dashboard/%2e%2e%2f%2e%2e%2fpackage.json',
      '/dashboard/vendor/..%5c..%5cpackage.json',
      '/dashboard/vendor/preact/package.json',
      '/dashboard/vendor/graphql-ws/index.js',
      '/dashboard/vendor/graphql-ws/../../../package.json',
      '/dashboard/node_modules/preact/dist/preact.mjs',
      '/dashboard//etc/passwd',
      '/dashboard/operations.graphql',
      '/dashboard/app.js%00.png',
      '/dashboard/.env',
    ]) {
      const res = await raw(path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).toBe('Not found');
      expect(res.body).not.toContain(secretish);
    }
    expect((await raw('/dashboard', 'POST')).status).toBe(405);
    expect((await raw('/dashboard/app.js', 'DELETE')).status).toBe(405);
    // A name that only starts like the dashboard is not the dashboard.
    expect((await raw('/dashboardx')).status).not.toBe(200);
  });

  it('hands the page the documents of dashboard/operations.graphql, each valid against the schema', async () => {
    const res = await raw('/dashboard/operations.json');
    expect(res.status).toBe(200);
    const operations = JSON.parse(res.body) as Record<string, string>;
    const source = readFileSync('dashboard/operations.graphql', 'utf8');
    const names = [...source.matchAll(/^(?:query|mutation|subscription) (\w+)/gm)].map((m) => m[1]);
    expect(Object.keys(operations).sort()).toEqual([...names].sort());
    for (const [name, document] of Object.entries(operations)) {
      expect(validate(schema, parse(document)), name).toEqual([]);
    }
  });

  it('is a client of the API: its documents answer nothing without a credential', async () => {
    const operations = JSON.parse((await raw('/dashboard/operations.json')).body);
    const res = await server.gql(operations.DashboardDatasets);
    expect(res.data?.datasets ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
