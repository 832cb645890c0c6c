import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import {
  type ConversationIngestRun,
  conversationIngestChunks,
  conversationIngestRuns,
  INGEST_CHUNK,
} from '../../db/schema/conversations';
import { conversationAccess } from '../access/conversations';
import type { AuthedContext } from '../context';
import { ConflictError, InputError, NotFoundError, PesoError } from '../errors';
import type { EventBus } from '../events/bus';
import { executeRun, runsOf } from '../jobs/runs';
import type { WorkerContext } from '../jobs/workers';
import type { ConversationEvent } from './events';
import { type ConversationRecord, type IngestFormat, readConversationFile } from './records';
import { categorizationOf, categorizerAnswer } from './service';
import { CATEGORIZE_TASK } from './tasks';
import { type RecordToWrite, writeConversations } from './write';

export const INGEST_JOB = 'conversations.ingest';
/** Largest JSON or CSV file accepted: those are read whole (NDJSON streams, up to the upload limit). */
const MAX_WHOLE_FILE_BYTES = 64 << 20;

/** Some records of the file were invalid and the caller did not ask to skip them. */
export class ConversationIngestError extends PesoError {
  readonly code = 'INVALID_RECORDS';
  constructor(readonly problems: Array<{ line: number; message: string }>) {
    super(
      `${problems.length} record(s) are invalid (first at line ${problems[0]!.line}: ${problems[0]!.message}); nothing was ingested. Fix them or pass skipInvalid.`,
    );
  }
}

export const ingestRunState = runsOf<ConversationIngestRun>({
  noun: 'conversation ingest',
  table: conversationIngestRuns as never,
  publish: () => {},
});

/**
 * Validates a file of conversations and queues its ingest. Valid records are stored in chunks
 * as the file is read (an NDJSON file is parsed as it streams, never whole), in one transaction
 * with the run: with invalid records and without `skipInvalid` it rolls back, nothing is queued
 * and the error lists them by line; with it the valid ones are queued and the invalid ones
 * reported on the run.
 */
export async function startIngest(
  ctx: AuthedContext,
  file: File,
  format: IngestFormat,
  skipInvalid: boolean,
): Promise<ConversationIngestRun> {
  if (!(await conversationAccess(ctx))) throw new NotFoundError('Conversations');
  const limit = format === 'NDJSON' ? ctx.config.maxUploadBytes : MAX_WHOLE_FILE_BYTES;
  if (file.size > limit)
    throw new InputError(
      `The file is larger than ${limit >> 20} MiB${format === 'NDJSON' ? '' : ' (NDJSON files may be larger)'}.`,
      'file',
    );
  const source = file.stream() as unknown as AsyncIterable<Uint8Array>;
  const run = await ctx.db.transaction(async (tx) => {
    const [created] = await tx
      .insert(conversationIngestRuns)
      .values({
        orgId: ctx.viewer.orgId,
        createdBy: ctx.viewer.userId,
        apiKeyId: ctx.viewer.apiKeyId,
        skipInvalid,
      })
      .returning({ id: conversationIngestRuns.id });
    const runId = created!.id;
    let chunk: ConversationRecord[] = [];
    let seq = 0;
    let total = 0;
    let invalid = false;
    const flush = async () => {
      if (chunk.length === 0) return;
      await tx.insert(conversationIngestChunks).values({ runId, seq: seq++, records: chunk });
      chunk = [];
    };
    const problems = await readConversationFile(
      source,
      () => file.text(),
      format,
      async (record) => {
        total++;
        // Once a record is bad and not to be skipped, the rest is only checked.
        if (invalid) return;
        chunk.push(record);
        if (chunk.length === INGEST_CHUNK) await flush();
      },
      () => {
        invalid = !skipInvalid;
      },
    );
    if (problems.length > 0 && !skipInvalid) throw new ConversationIngestError(problems);
    await flush();
    const [queued] = await tx
      .update(conversationIngestRuns)
      .set({ skipped: problems, totalSteps: total })
      .where(eq(conversationIngestRuns.id, runId))
      .returning();
    return queued!;
  });
  await ctx.jobs.send(INGEST_JOB, { runId: run.id });
  return run;
}

/** An ingest run of the viewer's organization, or NOT_FOUND. */
export async function ingestRun(ctx: AuthedContext, id: string): Promise<ConversationIngestRun> {
  const [run] = await ctx.db
    .select()
    .from(conversationIngestRuns)
    .where(eq(conversationIngestRuns.id, id));
  if (!run || run.orgId !== ctx.viewer.orgId) throw new NotFoundError('ConversationIngest');
  return run;
}

/**
 * Queues a failed ingest again (its worker was lost, or the database went away for too long):
 * it continues after the last batch it committed, so nothing is written twice.
 */
export async function resumeIngest(ctx: AuthedContext, id: string): Promise<ConversationIngestRun> {
  const run = await ingestRun(ctx, id);
  const [queued] = await ctx.db
    .update(conversationIngestRuns)
    .set({ status: 'QUEUED', error: null, finishedAt: null, cancelRequested: false })
    .where(and(eq(conversationIngestRuns.id, run.id), eq(conversationIngestRuns.status, 'FAILED')))
    .returning();
  if (!queued)
    throw new ConflictError(`Only a failed ingest can be resumed; this one is ${run.status}.`);
  await ctx.jobs.send(INGEST_JOB, { runId: queued.id });
  return queued;
}

/**
 * Categorizes a batch of the run's stored records: the rules and redaction in a pool process,
 * then the organization's model when it categorizes with one (answers are cached, so a resumed
 * batch costs no second call). Outside any transaction.
 */
async function categorizeBatch(
  worker: WorkerContext,
  settings: Awaited<ReturnType<typeof categorizationOf>>,
  raw: unknown[],
): Promise<RecordToWrite[]> {
  const { deps } = worker;
  const analyzed = await worker.pool.run(CATEGORIZE_TASK, {
    records: raw,
    taxonomy: settings.taxonomy,
  }).result;
  const answerDeps = { db: deps.database.db, config: deps.config, log: deps.log };
  const out: RecordToWrite[] = [];
  for (const record of analyzed)
    out.push({ record, answer: await categorizerAnswer(answerDeps, settings, record) });
  return out;
}

/**
 * Writes the run's records in batches, each batch (three statements, whatever its size) and the
 * run's counts in one transaction: `created + updated` is how many records are committed, so a
 * run handed back or retried after its worker died continues from there, and upserts by
 * external id make a repeated batch harmless. Batches are categorized in pool processes ahead
 * of the one being written, one per process; a failure fails the run at the first batch not
 * written, and it can be resumed from there.
 */
export async function runIngestJob(worker: WorkerContext, runId: string): Promise<void> {
  const { deps } = worker;
  const db = deps.database.db;
  const requeue = async () => {
    await worker.jobs.send(INGEST_JOB, { runId });
  };
  await executeRun(deps, ingestRunState, runId, { worker: worker.name, requeue }, async (run) => {
    const settings = await categorizationOf(db, run.orgId);
    const total = run.totalSteps ?? 0;
    let done = run.created + run.updated;
    await ingestRunState.progress(db, runId, { step: done, totalSteps: total, phase: 'writing' });
    const ahead: Array<Promise<RecordToWrite[]>> = [];
    let next = done;
    const fill = () => {
      while (ahead.length < Math.max(1, worker.pool.size) && next < total) {
        // A batch is the rest of the chunk holding record `next` (all of it but after a resume
        // from a count that is not a whole number of chunks).
        const seq = Math.floor(next / INGEST_CHUNK);
        const skip = next - seq * INGEST_CHUNK;
        next = Math.min(total, (seq + 1) * INGEST_CHUNK);
        const batch = chunkOf(db, runId, seq).then((raw) =>
          categorizeBatch(worker, settings, raw.slice(skip)),
        );
        // Awaited in order below; one never reached (the run cancelled or failed) is dropped.
        batch.catch(() => {});
        ahead.push(batch);
      }
    };
    fill();
    while (done < total) {
      const [latest] = await db
        .select({ cancelRequested: conversationIngestRuns.cancelRequested })
        .from(conversationIngestRuns)
        .where(eq(conversationIngestRuns.id, runId));
      if (latest?.cancelRequested) {
        await ingestRunState.finish(db, runId, 'CANCELLED');
        return;
      }
      const items = await ahead.shift()!;
      fill();
      const written = await db.transaction(async (tx) => {
        const written = await writeConversations(tx, run.orgId, items);
        const created = written.filter((w) => w.created).length;
        await ingestRunState.progress(
          tx,
          runId,
          { step: done + items.length, totalSteps: total, phase: 'writing' },
          {
            created: sql`${conversationIngestRuns.created} + ${created}`,
            updated: sql`${conversationIngestRuns.updated} + ${items.length - created}`,
          } as never,
        );
        return written;
      });
      done += items.length;
      publishAll(
        deps.events,
        run.orgId,
        written.map(({ conversation }) => ({
          kind: 'CATEGORIZED',
          conversationId: conversation.id,
          messageId: null,
          inbox: conversation.inbox,
        })),
      );
    }
    await ingestRunState.finish(db, runId, 'SUCCEEDED', { phase: null });
  });
}

/** One stored chunk of a run's records. */
async function chunkOf(db: Db, runId: string, seq: number): Promise<unknown[]> {
  const [chunk] = await db
    .select({ records: conversationIngestChunks.records })
    .from(conversationIngestChunks)
    .where(and(eq(conversationIngestChunks.runId, runId), eq(conversationIngestChunks.seq, seq)));
  if (!chunk) throw new Error(`Chunk ${seq} of ingest ${runId} is missing.`);
  return chunk.records;
}

function publishAll(events: EventBus, orgId: string, list: ConversationEvent[]): void {
  for (const event of list) events.publish(`conversationEvents:${orgId}`, event);
}
