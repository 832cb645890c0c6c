import type { Writable } from 'node:stream';
import type { Database } from '../../db/client';

/** Characters of CSV gathered before one PGlite COPY (bounded memory, few calls). */
const PGLITE_COPY_CHARS = 16 * 1024 * 1024;

/**
 * CSV a PostgreSQL COPY stream may hold unsent before the load waits for it to drain. Waiting at
 * the stream's own 16 KiB mark paused parsing after every batch; this lets the next batches be
 * prepared while the server is still reading, and still pushes back on a slow server.
 */
const COPY_BUFFER_BYTES = 4 * 1024 * 1024;

/** Raw access inside one transaction: statements, and COPY of CSV text into a table. */
export interface LoadTransaction {
  exec(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Appends CSV text (COPY csv format) to `table`; call repeatedly, then `endCopy`. */
  copy(table: string, csv: string): Promise<void>;
  endCopy(): Promise<void>;
}

type PgliteQuery = (
  sql: string,
  params?: unknown[],
  options?: { blob?: Blob },
) => Promise<{ rows: Array<Record<string, unknown>> }>;

/**
 * Statements and COPY over a PGlite query function. Each PGlite COPY goes through its virtual
 * file system, which costs per call: CSV is gathered into blobs of `chunkChars` rather than sent
 * per parsed batch.
 */
function pgliteLoader(query: PgliteQuery, chunkChars: number, between?: () => Promise<void>) {
  let pending: string[] = [];
  let pendingLength = 0;
  let pendingTable = '';
  const flush = async () => {
    if (pendingLength === 0) return;
    const blob = new Blob(pending);
    pending = [];
    pendingLength = 0;
    await query(`copy ${pendingTable} from '/dev/blob' with (format csv)`, [], { blob });
    await between?.();
  };
  return {
    exec: async (sql: string, params?: unknown[]) => (await query(sql, params)).rows,
    copy: async (table: string, csv: string) => {
      if (table !== pendingTable) await flush();
      pendingTable = table;
      pending.push(csv);
      pendingLength += csv.length;
      if (pendingLength >= chunkChars) await flush();
    },
    endCopy: flush,
  } satisfies LoadTransaction;
}

/**
 * Characters of CSV per COPY when loading into PGlite outside a transaction: each COPY holds the
 * embedded database (and the event loop: it runs on this thread) for its duration, so requests
 * waiting for the database get a turn after every ~1 MiB instead of after the whole file.
 */
const PGLITE_SHARED_COPY_CHARS = 1024 * 1024;

/**
 * A load into PGlite that does not hold its one connection throughout: each statement and each
 * ~1 MiB COPY runs on its own, and the API's queries (and the event loop) get a turn between
 * them. Only for work whose partial results nothing can see — rows of a table no committed row
 * names yet — and whose caller drops that table if it fails.
 */
export function sharedPgliteLoad(database: Extract<Database, { kind: 'pglite' }>): LoadTransaction {
  return pgliteLoader(
    (sql, params, options) => database.pglite.query(sql, params, options),
    PGLITE_SHARED_COPY_CHARS,
    () => new Promise<void>((resolve) => setImmediate(resolve)),
  );
}

/**
 * Runs `work` in one transaction with COPY available on both drivers: PGlite loads each chunk
 * from a blob; postgres.js streams all chunks through one `COPY … FROM STDIN`. Any throw rolls
 * everything back, including tables created inside.
 */
export async function withLoadTransaction<T>(
  database: Database,
  work: (tx: LoadTransaction) => Promise<T>,
): Promise<T> {
  if (database.kind === 'pglite') {
    return database.pglite.transaction((tx) =>
      work(
        pgliteLoader((sql, params, options) => tx.query(sql, params, options), PGLITE_COPY_CHARS),
      ),
    );
  }
  return database.sql.begin(async (tx) => {
    let stream: Writable | null = null;
    let finished: Promise<void> | null = null;
    try {
      return await work({
        exec: async (sql, params) =>
          (await tx.unsafe(sql, (params ?? []) as never[])) as unknown as Array<
            Record<string, unknown>
          >,
        copy: async (table, csv) => {
          if (!stream) {
            const writable = await tx
              .unsafe(`copy ${table} from stdin with (format csv)`)
              .writable();
            stream = writable;
            finished = new Promise<void>((resolve, reject) => {
              writable.on('finish', resolve);
              writable.on('error', reject);
            });
            // Awaited in endCopy; on abort nobody awaits it, and the transaction's error wins.
            finished.catch(() => {});
          }
          stream.write(csv);
          if (stream.writableLength >= COPY_BUFFER_BYTES) {
            await new Promise<void>((resolve) => stream!.once('drain', () => resolve()));
          }
        },
        endCopy: async () => {
          if (!stream) return;
          stream.end();
          await finished;
          stream = null;
        },
      });
    } catch (error) {
      (stream as unknown as { destroy?: (e: unknown) => void } | null)?.destroy?.(error);
      throw error;
    }
  }) as Promise<T>;
}
