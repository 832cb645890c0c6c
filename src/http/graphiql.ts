import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type GraphQLSchema, parse, validate } from 'graphql';
import type { GraphiQLOptions } from 'graphql-yoga';
import type { Logger } from '../log';
import { GRAPHIQL_TABS, type GraphiQLTab } from './graphiql-tabs';

/**
 * GraphiQL served by Peso itself: the page yoga renders refers to scripts, styles and workers
 * under `/graphiql/`, answered from the `@graphql-yoga/render-graphiql` package in
 * `node_modules` — nothing is loaded from a CDN, so GraphiQL works without internet access. The
 * page opens with Peso's example operations in tabs.
 */

export const GRAPHIQL_ASSET_PATH = '/graphiql/';

interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

/** The bundle is about 9 MB of strings: loaded on the first GraphiQL request, not at start. */
let assets: Promise<Map<string, Asset>> | null = null;

function loadAssets(): Promise<Map<string, Asset>> {
  assets ??= import('@graphql-yoga/render-graphiql/graphiql').then((bundle) => {
    const map = new Map<string, Asset>();
    const add = (name: string, type: string, body: Buffer) => {
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      map.set(name, { type, body, etag });
    };
    const js = 'text/javascript; charset=utf-8';
    add('graphiql.css', 'text/css; charset=utf-8', Buffer.from(bundle.css));
    add('graphiql.js', js, Buffer.from(bundle.js));
    add('editor.worker.js', js, Buffer.from(bundle.editorWorkerService));
    add('json.worker.js', js, Buffer.from(bundle.jsonWorker));
    add('graphql.worker.js', js, Buffer.from(bundle.graphqlWorker));
    add('start.js', js, Buffer.from(START));
    const icon = /^data:([^;,]+);base64,(.*)$/s.exec(bundle.favicon);
    if (icon) add('favicon.ico', icon[1]!, Buffer.from(icon[2]!, 'base64'));
    return map;
  });
  return assets;
}

/**
 * Starts GraphiQL with the options the page carries as JSON. Monaco's workers are files of the
 * same origin (a page may start workers from its own origin without any CSP exception).
 */
const START = `(() => {
  const base = ${JSON.stringify(GRAPHIQL_ASSET_PATH)};
  const workers = {
    editorWorkerService: base + 'editor.worker.js',
    json: base + 'json.worker.js',
    graphql: base + 'graphql.worker.js',
  };
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: (_moduleId, label) => workers[label] ?? workers.editorWorkerService,
  };
  const options = JSON.parse(document.getElementById('graphiql-options').textContent);
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
})();
`;

/** Serves the GraphiQL assets under `GRAPHIQL_ASSET_PATH`; long-cached, revalidated by ETag. */
export async function serveGraphiQLAsset(req: IncomingMessage, res: ServerResponse) {
  const name = new URL(req.url ?? '/', 'http://x').pathname.slice(GRAPHIQL_ASSET_PATH.length);
  const asset =
    req.method === 'GET' || req.method === 'HEAD' ? (await loadAssets()).get(name) : null;
  if (!asset) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Not found.\n');
    return;
  }
  const headers = {
    'content-type': asset.type,
    etag: asset.etag,
    'cache-control': 'public, max-age=3600',
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON inside a `<script>` element: `<` escaped so no value can close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The GraphiQL page (yoga's `renderGraphiQL`): only same-origin assets under /graphiql/. */
export function renderGraphiQL(options?: GraphiQLOptions): string {
  const title = escapeHtml(options?.title || 'Peso GraphiQL');
  const base = GRAPHIQL_ASSET_PATH;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title}</title>
    <link rel="icon" href="${base}favicon.ico" />
    <link rel="stylesheet" href="${base}graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-options">${scriptJson(options ?? {})}</script>
    <script src="${base}graphiql.js"></script>
    <script src="${base}start.js"></script>
  </body>
</html>
`;
}

/**
 * Yoga's GraphiQL options for Peso: the example tabs that validate against the schema (a tab
 * for a part of the API not in this build is left out and logged), headers editor open.
 */
export function graphiqlOptions(schema: GraphQLSchema, log: Logger): GraphiQLOptions {
  const tabs = GRAPHIQL_TABS.filter((tab) => {
    const problems = tabProblems(schema, tab);
    if (problems.length > 0) log.warn({ tab: tab.name, problems }, 'GraphiQL tab left out');
    return problems.length === 0;
  });
  const defaultTabs = tabs.map((tab) => ({
    query: tab.query,
    variables: tab.variables ? JSON.stringify(tab.variables, null, 2) : null,
    headers: tab.headers ? JSON.stringify(tab.headers, null, 2) : null,
  }));
  return {
    title: 'Peso GraphiQL',
    defaultTabs,
    // GraphiQL fills the first tab's variables editor from `variables` (yoga passes it as
    // initialVariables), not from the tab's own.
    ...({ variables: defaultTabs[0]?.variables ?? null } as object),
    defaultEditorToolsVisibility: 'headers',
    isHeadersEditorEnabled: true,
    // A credential typed into the Headers tab stays in this browser only if the user says so.
    shouldPersistHeaders: false,
  };
}

/** Why a tab's document does not run against `schema` (empty when it does). */
export function tabProblems(schema: GraphQLSchema, tab: GraphiQLTab): string[] {
  try {
    return validate(schema, parse(tab.query)).map((e) => e.message);
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}
