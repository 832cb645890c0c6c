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
    return database.pglite.transaction(async (tx) => {
      // Each PGlite COPY goes through its virtual file system, which costs per call: send few,
      // large blobs rather than one per parsed batch.
      let pending: string[] = [];
      let pendingLength = 0;
      let pendingTable = '';
      const flush = async () => {
        if (pendingLength === 0) return;
        const blob = new Blob(pending);
        pending = [];
        pendingLength = 0;
        await tx.query(`copy ${pendingTable} from '/dev/blob' with (format csv)`, [], { blob });
      };
      return work({
        exec: async (sql, params) => (await tx.query<Record<string, unknown>>(sql, params)).rows,
        copy: async (table, csv) => {
          if (table !== pendingTable) await flush();
          pendingTable = table;
          pending.push(csv);
          pendingLength += csv.length;
          if (pendingLength >= PGLITE_COPY_CHARS) await flush();
        },
        endCopy: flush,
      });
    });
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
