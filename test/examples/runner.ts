import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DemoServer } from './demo';
import type { Example, GraphQLOperation } from './extract';

const run = promisify(execFile);

/** Files curl examples send (`-F 0=@sales.csv`, `-T flights.csv`): test/examples/files/. */
const FILES = join(import.meta.dirname, 'files');

/** Where an answer's ids go: the placeholder a later example names them by. */
const CAPTURE: Record<string, Record<string, string>> = {
  createApiKey: { secret: 'partner key', 'apiKey.id': 'api key id' },
  createDataset: { id: 'dataset id' },
  createUploadUrl: { url: 'url', versionId: 'version id' },
  trainModel: { id: 'run id' },
  createDriftMonitor: { id: 'monitor id' },
  runDriftCheck: { id: 'report id' },
  ingestConversations: { id: 'ingest id' },
};

export interface Outcome {
  where: string;
  /** The operation's name, or the curl command. */
  what: string;
  result: unknown;
}

/**
 * Runs examples in order against a demo server, the way a reader would: GraphQL operations with
 * the demo API key (subscriptions over graphql-ws, until their first event), curl commands in a
 * shell with `$KEY` set and the example files at hand. Placeholders are filled in from the demo
 * data and from what earlier examples answered. Throws, naming the example, on any error.
 */
export function exampleRunner(demo: DemoServer) {
  const state = new Map<string, string>();
  const cwd = mkdtempSync(join(tmpdir(), 'peso-examples-'));
  cpSync(FILES, cwd, { recursive: true });

  const gql = (query: string, variables: Record<string, unknown> = {}) =>
    demo.server.gql(query, variables, demo.apiKey);

  async function waitFor<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
    for (let i = 0; i < 600; i++) {
      const value = await probe();
      if (value !== null) return value;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`gave up waiting for ${what}`);
  }

  /** The run of `<run id>` once it succeeded: its model and model version. */
  const trained = async () => {
    const runId = state.get('run id');
    if (!runId) throw new Error('<model id> needs a trainModel example before it');
    return waitFor('the training run', async () => {
      const res = await gql(
        `query($id: ID!) { trainingRun(id: $id) { status error model { id } modelVersion { id } } }`,
        { id: runId },
      );
      const r = res.data?.trainingRun;
      if (r?.status === 'FAILED' || r?.status === 'CANCELLED')
        throw new Error(`training failed: ${r.error}`);
      return r?.status === 'SUCCEEDED' ? r : null;
    });
  };

  async function resolve(name: string): Promise<string> {
    const known = state.get(name);
    if (known !== undefined) return known;
    if (name === 'printed password') return demo.password;
    if (name === 'token or API key') return demo.apiKey;
    const version = /^(.+) version (\d+) id$/.exec(name);
    if (version && demo.datasets.has(version[1]!)) {
      const id = demo.datasets.get(version[1]!)!.versions[Number(version[2]) - 1];
      if (id) return id;
    }
    const dataset = /^(.+) id$/.exec(name);
    if (dataset && demo.datasets.has(dataset[1]!)) return demo.datasets.get(dataset[1]!)!.id;
    if (name === 'model id' || name === 'model version id') {
      // The first model trained keeps these names (a later example may train another).
      const run = await trained();
      state.set('model id', run.model.id);
      state.set('model version id', run.modelVersion.id);
      return state.get(name)!;
    }
    if (name === 'alert id')
      return waitFor('a drift alert', async () => {
        const res = await gql(`{ driftAlerts(open: true) { id } }`);
        return res.data?.driftAlerts?.[0]?.id ?? null;
      });
    throw new Error(
      `unknown placeholder <${name}>: use one CONTRIBUTING.md lists, or mark the block <!-- example: skip <reason> -->`,
    );
  }

  async function fill(text: string): Promise<string> {
    let out = text;
    for (const [placeholder, name] of [...text.matchAll(/<([a-z][a-z0-9 ._-]*)>/gi)].map(
      (m) => [m[0], m[1]!] as const,
    )) {
      out = out.replaceAll(placeholder, await resolve(name));
    }
    return out;
  }

  /** Records ids named in `CAPTURE`; throws on GraphQL errors and typed error results. */
  function check(where: string, body: any) {
    if (!body || typeof body !== 'object') throw new Error(`${where}: no JSON answer: ${body}`);
    if (body.errors?.length) throw new Error(`${where}: ${JSON.stringify(body.errors)}`);
    if (body.error) throw new Error(`${where}: ${JSON.stringify(body.error)}`);
    for (const [field, value] of Object.entries((body.data ?? {}) as Record<string, any>)) {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        if (typeof value.code === 'string' && typeof value.message === 'string')
          throw new Error(`${where}: ${field} answered ${value.code}: ${value.message}`);
        if (Object.keys(value).length === 0)
          throw new Error(`${where}: ${field} answered a type the example selects nothing of`);
        for (const [path, placeholder] of Object.entries(CAPTURE[field] ?? {})) {
          const found = path.split('.').reduce((v: any, key) => v?.[key], value);
          if (typeof found === 'string') state.set(placeholder, found);
        }
      }
    }
  }

  let ownerToken: string | null = null;
  /** The demo owner's token (signed in once), for examples marked `as owner`. */
  async function credential(as: Example['as']): Promise<string> {
    if (as === 'key') return demo.apiKey;
    if (!ownerToken) {
      const res = await demo.server.gql(
        `mutation($input: LoginInput!) { login(input: $input) { ... on AuthPayload { token } } }`,
        { input: { email: demo.email, password: demo.password } },
      );
      ownerToken = res.data?.login?.token ?? null;
      if (!ownerToken) throw new Error(`the demo owner cannot sign in: ${JSON.stringify(res)}`);
    }
    return ownerToken;
  }

  async function operation(
    where: string,
    op: GraphQLOperation,
    variables: string | null,
    as: Example['as'],
  ) {
    const query = await fill(op.text);
    const all = variables ? JSON.parse(await fill(variables)) : {};
    const vars = Object.fromEntries(op.variables.filter((v) => v in all).map((v) => [v, all[v]]));
    const missing = op.required.filter((v) => !(v in all));
    if (missing.length) throw new Error(`${where}: no value for $${missing.join(', $')}`);
    const label = `${where} (${op.name ?? `anonymous ${op.kind}`})`;
    if (op.kind !== 'subscription') {
      const res = await demo.server.gql(query, vars, await credential(as));
      check(label, res);
      return res;
    }
    // A subscription: its first event, or quiet (no error) for a while — some wait for news.
    const client = demo.server.ws(await credential(as));
    try {
      const first = await new Promise<unknown>((resolvePromise, reject) => {
        const timer = setTimeout(() => resolvePromise({ data: null }), 3000);
        client.subscribe(
          { query, variables: vars },
          {
            next: (value) => {
              clearTimeout(timer);
              resolvePromise(value);
            },
            error: (error) => {
              clearTimeout(timer);
              reject(new Error(`${label}: ${JSON.stringify(error)}`));
            },
            complete: () => {
              clearTimeout(timer);
              resolvePromise({ data: null });
            },
          },
        );
      });
      check(label, first);
      return first;
    } finally {
      await client.dispose();
    }
  }

  async function curl(where: string, command: string, as: Example['as']) {
    const filled = (await fill(command))
      .replaceAll('http://localhost:4000', demo.server.url)
      .replaceAll('peso_…', demo.apiKey);
    const { stdout } = await run('bash', ['-c', filled], {
      cwd,
      env: { ...process.env, KEY: await credential(as) },
    }).catch((error) => {
      throw new Error(`${where}: ${command}\n${error.stderr || error.message}`);
    });
    let body: unknown;
    try {
      body = JSON.parse(stdout);
    } catch {
      throw new Error(`${where}: not a JSON answer to ${command}:\n${stdout}`);
    }
    check(`${where}: ${command}`, body);
    return body;
  }

  return {
    state,
    async run(example: Example): Promise<Outcome[]> {
      const outcomes: Outcome[] = [];
      for (const op of example.operations)
        outcomes.push({
          where: example.where,
          what: op.name ?? op.kind,
          result: await operation(example.where, op, example.variables, example.as),
        });
      for (const command of example.commands)
        outcomes.push({
          where: example.where,
          what: command,
          result: await curl(example.where, command, example.as),
        });
      return outcomes;
    },
  };
}
