/**
 * A partner's typed client for Peso: the documents `npm run codegen` generates from
 * examples/operations.graphql (each typed with its result and variables), sent over HTTP with
 * fetch, and subscriptions over graphql-ws. It signs in with an API key, lists the datasets the
 * key may read, reads the first rows of one and follows drift alerts.
 *
 *   PESO_URL=http://localhost:4000 PESO_API_KEY=peso_… npx tsx examples/partner-client.ts
 *
 * With PESO_TRUSTED_DOCUMENTS set on the server, an API key may only run listed documents: pass
 * `{ trusted: true }` to send each document's hash (`documentId`) instead of its text.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type GraphQLFormattedError, print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  DatasetsDocument,
  DriftAlertFeedDocument,
  type DriftAlertFeedSubscription,
  FirstRowsDocument,
  MeDocument,
} from './generated/graphql';

/** A GraphQL error answered to the whole request: `code` is `extensions.code` (RATE_LIMITED, …). */
export class PesoRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfter: number | null,
  ) {
    super(`${code}: ${message}`);
  }
}

type Document<R, V> = TypedDocumentNode<R, V> & { __meta__?: { hash?: string } };

export class PartnerClient {
  private ws: Client | null = null;

  constructor(
    private readonly url: string,
    private readonly apiKey: string,
    private readonly options: { trusted?: boolean } = {},
  ) {}

  /** The body naming a document: its text, or with `trusted` its hash from the manifest. */
  private body<R, V>(document: Document<R, V>, variables: V | undefined) {
    const hash = document.__meta__?.hash;
    return this.options.trusted && hash
      ? { documentId: hash, variables }
      : { query: print(document), variables };
  }

  /** Runs a query or mutation; errors of the whole request throw, typed results are returned. */
  async request<R, V>(document: Document<R, V>, variables?: V): Promise<R> {
    const response = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${this.apiKey}`,
      },
      body: JSON.stringify(this.body(document, variables)),
    });
    const result = (await response.json()) as { data?: R; errors?: GraphQLFormattedError[] };
    const error = result.errors?.[0];
    if (error) {
      const retryAfter = error.extensions?.retryAfter;
      throw new PesoRequestError(
        String(error.extensions?.code ?? `HTTP_${response.status}`),
        error.message,
        typeof retryAfter === 'number' ? retryAfter : null,
      );
    }
    return result.data!;
  }

  /** Events of a subscription over graphql-ws, the API key in the connection_init payload. */
  subscribe<R, V>(document: Document<R, V>, variables?: V): AsyncIterableIterator<R> {
    this.ws ??= createClient({
      url: `${this.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.apiKey}` },
      // Peso closes with 4403 and the reason for a credential it refuses: retrying cannot help.
      shouldRetry: (event) => (event as { code?: number }).code !== 4403,
    });
    const events = this.ws.iterate(this.body(document, variables) as never);
    return (async function* () {
      for await (const event of events) {
        if (event.errors?.length) {
          const error = event.errors[0]!;
          throw new PesoRequestError(String(error.extensions?.code), error.message, null);
        }
        yield event.data as R;
      }
    })();
  }

  async close(): Promise<void> {
    await this.ws?.dispose();
  }
}

type Alert = DriftAlertFeedSubscription['driftAlerts'];

/**
 * What the example does: who the key is, its datasets, the first rows of one (`dataset`, by
 * name; default the first), then drift alerts until `alerts` have come (`following` is called
 * once the subscription is sent).
 */
export async function runPartner(input: {
  url: string;
  apiKey: string;
  dataset?: string;
  alerts?: number;
  trusted?: boolean;
  following?: () => void;
  print?: (line: string) => void;
}) {
  const out = input.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const client = new PartnerClient(input.url, input.apiKey, { trusted: input.trusted });
  try {
    const { viewer } = await client.request(MeDocument);
    out(`signed in as ${viewer.kind} ${viewer.role} of ${viewer.organization.name}`);

    const datasets = (await client.request(DatasetsDocument)).datasets.edges.map((e) => e.node);
    for (const d of datasets)
      out(
        `dataset ${d.name}: ${d.currentVersion?.rowCount ?? 0} rows, version ${d.currentVersion?.number}`,
      );
    const chosen = input.dataset ? datasets.find((d) => d.name === input.dataset) : datasets[0];
    if (!chosen) throw new Error(`no dataset ${input.dataset ?? ''} readable with this key`);

    const read = await client.request(FirstRowsDocument, { datasetId: chosen.id, first: 5 });
    const result = read.datasetQuery;
    // Typed failures (an unknown column, FORBIDDEN on a masked one, …) implement Error.
    if (result.__typename !== 'QueryResult') throw new Error(`${result.code}: ${result.message}`);
    out(
      `${chosen.name}: ${result.totalCount} rows; ${result.columns.map((c) => c.name).join(', ')}`,
    );
    for (const row of result.rows) out(`  ${JSON.stringify(row)}`);

    const alerts: Alert[] = [];
    const wanted = input.alerts ?? Number.POSITIVE_INFINITY;
    if (wanted > 0) {
      const feed = client.subscribe(DriftAlertFeedDocument, { datasetId: chosen.id });
      const next = feed.next();
      input.following?.();
      out(`following drift alerts of ${chosen.name}`);
      for (let event = await next; !event.done; event = await feed.next()) {
        const alert = event.value.driftAlerts;
        alerts.push(alert);
        out(`drift alert ${alert.severity} on ${alert.columns.join(', ')}: ${alert.message}`);
        if (alerts.length >= wanted) break;
      }
      await feed.return?.();
    }
    return { viewer, datasets, rows: result.rows, alerts };
  } finally {
    await client.close();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*[\\/]/, '/'))) {
  const url = process.env.PESO_URL ?? 'http://localhost:4000';
  const apiKey = process.env.PESO_API_KEY;
  if (!apiKey) {
    process.stderr.write('Set PESO_API_KEY to an API key (npm start printed one).\n');
    process.exit(2);
  }
  runPartner({ url, apiKey, dataset: process.env.PESO_DATASET }).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
