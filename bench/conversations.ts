/**
 * Conversations: messages per second through rule-based categorization (sentiment, language,
 * topics, intent), and a bulk ingest of generated conversations through the ingest job's path
 * (batches of 200 categorized and redacted in pool processes, `conversations.categorize`, ahead
 * of the batch being written by `writeConversations` in its own transaction, as `runIngestJob`
 * does) against a plain `COPY` of the same message rows into a comparable table, in the same run
 * and database.
 * Usage: npm run bench -- conversations   (BENCH_CONVERSATIONS_MESSAGES=1000000 by default;
 * BENCH_CONVERSATIONS_POOL=1 pool processes, as PESO_WORKERS; BENCH_DATABASE_URL=postgres://… to
 * use PostgreSQL instead of PGlite)
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, openAsBlob, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Database, openDatabase } from '../db/client';
import { organizations } from '../db/schema/auth';
import { scratchDatabase } from '../db/scratch';
import { type AnalyzedRecord, analyzeMessage } from '../src/conversations/analyze';
import { generateDemoConversations } from '../src/conversations/demo';
import { intentOf } from '../src/conversations/intents';
import type { ConversationRecord } from '../src/conversations/records';
import { CATEGORIZE_TASK } from '../src/conversations/tasks';
import { DEFAULT_TAXONOMY, topicsOf } from '../src/conversations/topics';
import { writeConversations } from '../src/conversations/write';
import { createPool } from '../src/jobs/pool';
import { createLogger } from '../src/log';

const MESSAGES = Number(process.env.BENCH_CONVERSATIONS_MESSAGES ?? 1_000_000);
/** Messages categorized for the throughput figure (the texts repeat across the generated set). */
const CATEGORIZE = Math.min(MESSAGES, Number(process.env.BENCH_CONVERSATIONS_CATEGORIZE ?? 20_000));
const BATCH = 200;
const POOL = Number(process.env.BENCH_CONVERSATIONS_POOL ?? 1);
const TASKS = fileURLToPath(new URL('../src/conversations/tasks.ts', import.meta.url));

/** Generated conversations (the demo generator, seeded) holding at least `messages` messages. */
function conversationsWith(messages: number): ConversationRecord[] {
  const out: ConversationRecord[] = [];
  let count = 0;
  for (let seed = 1; count < messages; seed++) {
    for (const record of generateDemoConversations(5000, seed, new Date('2026-01-01T00:00:00Z'))) {
      if (count >= messages) break;
      out.push(record);
      count += record.messages.length;
    }
  }
  return out;
}

const csv = (v: string | null | undefined) =>
  v === null || v === undefined ? '' : `"${v.replaceAll('"', '""')}"`;

async function writeMessagesCsv(path: string, records: ConversationRecord[]): Promise<void> {
  const out = createWriteStream(path);
  const write = (line: string) =>
    out.write(line) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  await write('external_id,position,role,author,text,sent_at\n');
  for (const r of records)
    for (const [i, m] of r.messages.entries())
      await write(
        `${csv(r.externalId)},${i},${m.role},${csv(m.author)},${csv(m.text)},${m.sentAt.toISOString()}\n`,
      );
  await new Promise<void>((resolve, reject) =>
    out.end((e?: Error | null) => (e ? reject(e) : resolve())),
  );
}

/** A plain COPY of the message rows into a table shaped like conversation_messages, untouched. */
async function copyBaseline(database: Database, path: string): Promise<number> {
  const create = `create table bench_messages_copy (id uuid primary key default gen_random_uuid(),
    external_id text not null, position integer not null, role text not null, author text,
    text text not null, sent_at timestamptz not null)`;
  const copy = `copy bench_messages_copy (external_id, position, role, author, text, sent_at) from`;
  if (database.kind === 'postgres') {
    const { sql: pg } = database;
    await pg.unsafe(create);
    const { pipeline } = await import('node:stream/promises');
    const { createReadStream } = await import('node:fs');
    const writable = await pg.unsafe(`${copy} stdin with (format csv, header true)`).writable();
    await pipeline(createReadStream(path), writable);
  } else {
    await database.pglite.exec(create);
    await database.pglite.query(`${copy} '/dev/blob' with (format csv, header true)`, [], {
      blob: await openAsBlob(path),
    });
  }
  return countRows(database, 'bench_messages_copy');
}

async function countRows(database: Database, table: string): Promise<number> {
  const text = `select count(*)::int as n from ${table}`;
  if (database.kind === 'pglite')
    return Number((await database.pglite.query<{ n: number }>(text)).rows[0]!.n);
  const [row] = await database.sql.unsafe(text);
  return Number(row!.n);
}

export async function benchConversations(): Promise<void> {
  const records = conversationsWith(MESSAGES);
  const total = records.reduce((n, r) => n + r.messages.length, 0);

  // Categorization alone, in process: per message what ingest computes (sentiment and
  // language), and per conversation's customer text what it adds (topics and intent).
  const texts = records.flatMap((r) => r.messages.map((m) => m.text)).slice(0, CATEGORIZE);
  let t0 = performance.now();
  for (const text of texts) analyzeMessage('USER', text);
  const messageMs = performance.now() - t0;
  t0 = performance.now();
  for (const text of texts) {
    topicsOf(text, DEFAULT_TAXONOMY);
    intentOf([{ role: 'USER', text }]);
  }
  const topicMs = performance.now() - t0;
  const perSecond = (n: number, ms: number) => Math.round((n / ms) * 1000);
  console.log(
    `conversations: categorization of ${texts.length} messages: sentiment + language ${perSecond(texts.length, messageMs)} msg/s, topics + intent ${perSecond(texts.length, topicMs)} msg/s, all four ${perSecond(texts.length, messageMs + topicMs)} msg/s`,
  );

  const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL);
  const database = await openDatabase(
    process.env.BENCH_DATABASE_URL
      ? { kind: 'postgres', url: scratch.url }
      : { kind: 'pglite', dataDir: null },
  );
  const path = join(tmpdir(), `peso-bench-conversations-${randomBytes(4).toString('hex')}.csv`);
  try {
    const db = database.db;
    const [org] = await db
      .insert(organizations)
      .values({ name: 'bench', slug: `bench-${randomBytes(4).toString('hex')}` })
      .returning();
    // The records as the run row stores them (JSON), categorized in pool processes one batch
    // per process ahead of the batch being written, as runIngestJob does.
    const stored = JSON.parse(JSON.stringify(records)) as unknown[];
    let waitMs = 0;
    const pool = createPool({ size: POOL, log: createLogger('warn'), modules: [TASKS] });
    try {
      // Start the processes before the clock, as a running worker has them.
      await Promise.all(
        Array.from(
          { length: POOL },
          () => pool.run(CATEGORIZE_TASK, { records: [], taxonomy: DEFAULT_TAXONOMY }).result,
        ),
      );
      t0 = performance.now();
      const ahead: Array<Promise<AnalyzedRecord[]>> = [];
      let next = 0;
      const fill = () => {
        while (ahead.length < POOL && next < stored.length) {
          const batch = stored.slice(next, next + BATCH);
          next += BATCH;
          const result = pool.run(CATEGORIZE_TASK, {
            records: batch,
            taxonomy: DEFAULT_TAXONOMY,
          }).result;
          result.catch(() => {});
          ahead.push(result);
        }
      };
      fill();
      while (ahead.length > 0) {
        const waited = performance.now();
        const analyzed = await ahead.shift()!;
        waitMs += performance.now() - waited;
        fill();
        await db.transaction((tx) =>
          writeConversations(
            tx,
            org!.id,
            analyzed.map((record) => ({ record, answer: null })),
          ),
        );
      }
    } finally {
      await pool.close();
    }
    const ingestMs = performance.now() - t0;
    const waiting = `${(waitMs / 1000).toFixed(1)} s of it waiting for categorization`;
    const storedN = await countRows(database, 'conversation_messages');

    await writeMessagesCsv(path, records);
    t0 = performance.now();
    const copied = await copyBaseline(database, path);
    const copyMs = performance.now() - t0;
    if (copied !== total) throw new Error(`COPY wrote ${copied} rows, expected ${total}`);
    console.log(
      `conversations: ingest of ${total} messages in ${records.length} conversations (${database.kind}, ${POOL} pool process${POOL === 1 ? '' : 'es'}): ${(ingestMs / 1000).toFixed(1)} s, ${perSecond(total, ingestMs)} msg/s (${storedN} stored; ${waiting}); plain COPY of the same rows ${(copyMs / 1000).toFixed(2)} s, ${perSecond(total, copyMs)} msg/s; ingest / COPY time ${(ingestMs / copyMs).toFixed(1)}×`,
    );
  } finally {
    rmSync(path, { force: true });
    await database.close();
    await scratch.drop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchConversations();
