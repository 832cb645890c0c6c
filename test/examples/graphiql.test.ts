import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_TABS } from '../../src/http/graphiql-tabs';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(() => server?.close());

const page = () =>
  fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } }).then(async (r) => ({
    status: r.status,
    type: r.headers.get('content-type'),
    html: await r.text(),
  }));

/** Every URL the page loads: src and href attributes. */
const references = (html: string) =>
  [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);

describe('GraphiQL', () => {
  it('is a page whose scripts, styles and icon are all served by Peso itself', async () => {
    const { status, type, html } = await page();
    expect(status).toBe(200);
    expect(type).toContain('text/html');
    const refs = references(html);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) expect(ref, ref).toMatch(/^\/graphiql\/[a-z.]+$/);
    expect(html).not.toMatch(/https?:\/\//);
    // The page is small: the bundle is served as its own assets, not inlined.
    expect(html.length).toBeLessThan(50_000);

    for (const ref of refs) {
      const res = await fetch(`${server.url}${ref}`);
      expect(res.status, ref).toBe(200);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length, ref).toBeGreaterThan(100);
      if (ref.endsWith('.js')) expect(res.headers.get('content-type')).toContain('javascript');
      if (ref.endsWith('.css')) expect(res.headers.get('content-type')).toContain('text/css');
      // Nothing the browser runs reaches out to a CDN.
      if (/\.(js|css)$/.test(ref))
        expect(body.toString()).not.toMatch(/(unpkg\.com|jsdelivr\.net|cdnjs|esm\.sh)/);
    }
    const graphiql = await fetch(`${server.url}/graphiql/graphiql.js`);
    expect(await graphiql.text()).toContain('renderYogaGraphiQL');
  });

  it('serves the Monaco workers the start script names, and revalidates by ETag', async () => {
    const start = await (await fetch(`${server.url}/graphiql/start.js`)).text();
    const workers = [...start.matchAll(/'([a-z]+\.worker\.js)'/g)].map((m) => m[1]!);
    expect(workers.sort()).toEqual(['editor.worker.js', 'graphql.worker.js', 'json.worker.js']);
    for (const worker of workers) {
      const res = await fetch(`${server.url}/graphiql/${worker}`);
      expect(res.status).toBe(200);
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await fetch(`${server.url}/graphiql/${worker}`, {
        headers: { 'if-none-match': etag },
      });
      expect(again.status).toBe(304);
    }
    expect((await fetch(`${server.url}/graphiql/../package.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/graphiql/nothing.js`)).status).toBe(404);
  });

  it("opens with Peso's example tabs, not yoga's welcome text, and explains the Authorization header", async () => {
    const { html } = await page();
    const json = /<script type="application\/json" id="graphiql-options">(.*?)<\/script>/s.exec(
      html,
    )?.[1];
    const options = JSON.parse(json!);
    expect(options.defaultQuery).toBeUndefined();
    const tabs = options.defaultTabs as Array<{ query: string; headers: string | null }>;
    expect(tabs.map((t) => t.query)).toEqual(GRAPHIQL_TABS.map((t) => t.query));
    const operations = tabs.map((t) =>
      [...t.query.matchAll(/^(?:query|mutation|subscription) (\w+)/gm)].map((m) => m[1]),
    );
    expect(operations).toEqual([
      ['Login', 'Me'],
      ['Datasets'],
      ['RainyMonths'],
      ['TrainSpecies'],
      ['TrainingProgress'],
      ['Insights'],
      ['OpenDriftAlerts', 'DriftAlertFeed'],
    ]);
    expect(tabs[0]!.query).toContain('{"Authorization": "Bearer <token or API key>"}');
    for (const tab of tabs.slice(1))
      expect(JSON.parse(tab.headers!)).toEqual({ Authorization: 'Bearer <token or API key>' });
    expect(html).not.toContain('Welcome to Yoga');
  });

  it('is not served when PESO_GRAPHIQL=off', async () => {
    const off = await startTestServer({ PESO_GRAPHIQL: 'off' });
    try {
      const res = await fetch(`${off.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await res.text()).not.toContain('graphiql-options');
      expect((await fetch(`${off.url}/graphiql/graphiql.js`)).status).not.toBe(200);
    } finally {
      await off.close();
    }
  });
});
