import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  visit,
} from 'graphql';
import type { Logger } from '../log';

/** Where the dashboard is served: `/dashboard` and the files below it. */
export const DASHBOARD_PATH = '/dashboard';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DASHBOARD_DIR = join(ROOT, 'dashboard');
const NODE_MODULES = join(ROOT, 'node_modules');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/** The dashboard's own files, by the name they are served under. */
const OWN_FILES = ['index.html', 'app.js', 'api.js', 'charts.js', 'export.js', 'style.css'];

/**
 * The only files served from node_modules, by the URL below `/dashboard/vendor/` each has: the
 * browser builds of preact, its hooks, htm, uPlot and the graphql-ws client. Nothing else under
 * node_modules is reachable; a path is looked up in this table, never joined onto a folder.
 */
const VENDOR_ENTRIES: Array<[url: string, pkg: string, file: string]> = [
  ['preact.mjs', 'preact', 'dist/preact.mjs'],
  ['preact-hooks.mjs', 'preact', 'hooks/dist/hooks.mjs'],
  ['htm.mjs', 'htm', 'dist/htm.mjs'],
  ['uPlot.esm.js', 'uplot', 'dist/uPlot.esm.js'],
  ['uPlot.min.css', 'uplot', 'dist/uPlot.min.css'],
  ['graphql-ws/client.js', 'graphql-ws', 'dist/client.js'],
];

/** Relative imports of a module (`from './x.js'`): chunks a browser build loads beside itself. */
const RELATIVE_IMPORT = /\bfrom\s*["']\.\/([\w.-]+\.m?js)["']/g;

function extensionOf(name: string) {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot);
}

/**
 * The allow-list: URL path → file on disk. The vendor entries' relative imports are added (the
 * hashed chunk graphql-ws's client imports), found by reading those modules once at start, so
 * the list stays exact across package updates without naming a hash here.
 */
async function allowList(log: Logger): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of OWN_FILES) files.set(`${DASHBOARD_PATH}/${name}`, join(DASHBOARD_DIR, name));
  for (const [url, pkg, file] of VENDOR_ENTRIES) {
    const folder = join(NODE_MODULES, pkg, dirname(file));
    const queue: Array<[string, string]> = [[url, join(NODE_MODULES, pkg, file)]];
    while (queue.length > 0) {
      const [path, disk] = queue.shift()!;
      if (files.has(`${DASHBOARD_PATH}/vendor/${path}`)) continue;
      files.set(`${DASHBOARD_PATH}/vendor/${path}`, disk);
      if (!/\.m?js$/.test(disk)) continue;
      let source: string;
      try {
        source = await readFile(disk, 'utf8');
      } catch {
        log.warn({ file: disk }, 'dashboard: a browser module is missing (run npm install)');
        continue;
      }
      const base = dirname(path) === '.' ? '' : `${dirname(path)}/`;
      for (const match of source.matchAll(RELATIVE_IMPORT)) {
        queue.push([`${base}${match[1]}`, join(folder, match[1]!)]);
      }
    }
  }
  return files;
}

/**
 * The dashboard's operations (`dashboard/operations.graphql`, the file codegen types) as
 * `{ name: document }`, each document with the fragments it uses, so the browser sends exactly
 * the documents codegen checked against the schema.
 */
export function operationsByName(source: string): Record<string, string> {
  const document = parse(source);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const spreads = (node: OperationDefinitionNode | FragmentDefinitionNode) => {
    const names: string[] = [];
    visit(node, { FragmentSpread: (s) => void names.push(s.name.value) });
    return names;
  };
  const operations: Record<string, string> = {};
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION || !d.name) continue;
    const used = new Set<string>();
    const pending = spreads(d);
    while (pending.length > 0) {
      const name = pending.pop()!;
      const fragment = fragments.get(name);
      if (used.has(name) || !fragment) continue;
      used.add(name);
      pending.push(...spreads(fragment));
    }
    operations[d.name.value] = [d, ...[...used].map((n) => fragments.get(n)!)]
      .map((n) => print(n))
      .join('\n\n');
  }
  return operations;
}

const IMPORT_MAP = /<script type="importmap">([\s\S]*?)<\/script>/;

/**
 * The page's Content-Security-Policy: scripts only from this origin (plus the inline import map,
 * by its hash), connections only to this origin (GraphQL over HTTP, graphql-ws, uploads), no
 * plugins, frames or foreign forms.
 */
function contentSecurityPolicy(html: string | null) {
  const map = html?.match(IMPORT_MAP)?.[1];
  const hash = map ? ` 'sha256-${createHash('sha256').update(map).digest('base64')}'` : '';
  return [
    "default-src 'none'",
    `script-src 'self'${hash}`,
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Serves the dashboard: its page at `/dashboard`, its files and the allow-listed browser modules
 * below it, and its operations as JSON. It serves no data: the page is a client of the GraphQL
 * API under the viewer's own credential. Anything not in the allow-list is 404.
 */
export function dashboardRoute(deps: { log: Logger }) {
  const files = allowList(deps.log);
  const headers = (type: string, csp: string) => ({
    'content-type': type,
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  });
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('Method not allowed');
      return;
    }
    try {
      let body: string | Buffer;
      let type: string;
      if (path === DASHBOARD_PATH || path === `${DASHBOARD_PATH}/`) {
        body = await readFile(join(DASHBOARD_DIR, 'index.html'), 'utf8');
        type = TYPES['.html']!;
      } else if (path === `${DASHBOARD_PATH}/operations.json`) {
        const source = await readFile(join(DASHBOARD_DIR, 'operations.graphql'), 'utf8');
        body = JSON.stringify(operationsByName(source));
        type = TYPES['.json']!;
      } else {
        const disk = (await files).get(path);
        if (!disk) {
          res.writeHead(404, { 'content-type': 'text/plain', 'x-content-type-options': 'nosniff' });
          res.end('Not found');
          return;
        }
        body = await readFile(disk);
        type = TYPES[extensionOf(disk)] ?? 'application/octet-stream';
      }
      const html = type === TYPES['.html'] ? String(body) : null;
      res.writeHead(200, headers(type, contentSecurityPolicy(html)));
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (error) {
      deps.log.error({ err: error, path }, 'dashboard: could not serve a file');
      if (res.headersSent) return;
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Unexpected error');
    }
  };
}
