import { and, asc, count, eq, gt, sql } from 'drizzle-orm';
import {
  type ConversationRecategorizeRun,
  conversationRecategorizeRuns,
  conversations,
} from '../../db/schema/conversations';
import type { AuthedContext } from '../context';
import { NotFoundError } from '../errors';
import { executeRun, runsOf } from '../jobs/runs';
import type { WorkerContext } from '../jobs/workers';
import { analyzeConversation, type ConversationAnalysis } from './analyze';
import type { ConversationEvent } from './events';
import { categorizationOf, categorizerAnswer, messagesOf } from './service';

export const RECATEGORIZE_JOB = 'conversations.recategorize';
/** Conversations written per transaction: the unit a handed-back run resumes after. */
const BATCH = 200;

export const recategorizeRunState = runsOf<ConversationRecategorizeRun>({
  noun: 'conversation re-categorization',
  table: conversationRecategorizeRuns as never,
  publish: () => {},
});

/** Queues a re-categorization of every conversation of the caller's organization (ADMIN). */
export async function startRecategorize(ctx: AuthedContext): Promise<ConversationRecategorizeRun> {
  const [run] = await ctx.db
    .insert(conversationRecategorizeRuns)
    .values({ orgId: ctx.viewer.orgId, createdBy: ctx.viewer.userId })
    .returning();
  await ctx.jobs.send(RECATEGORIZE_JOB, { runId: run!.id });
  return run!;
}

/** A re-categorization run of the viewer's organization, or NOT_FOUND. */
export async function recategorizeRun(
  ctx: AuthedContext,
  id: string,
): Promise<ConversationRecategorizeRun> {
  const [run] = await ctx.db
    .select()
    .from(conversationRecategorizeRuns)
    .where(eq(conversationRecategorizeRuns.id, id));
  if (!run || run.orgId !== ctx.viewer.orgId) throw new NotFoundError('ConversationRecategorize');
  return run;
}

/**
 * Recomputes topics, intent, sentiment and language of the organization's conversations with its
 * current taxonomy and categorizer, from the messages' stored analyses (and the model, with LLM),
 * in id order, 200 per transaction with the run's cursor and count; `step` of `totalSteps`
 * reports progress, and each conversation is published as CATEGORIZED.
 */
export async function runRecategorizeJob(worker: WorkerContext, runId: string): Promise<void> {
  const { deps } = worker;
  const db = deps.database.db;
  const requeue = async () => {
    await worker.jobs.send(RECATEGORIZE_JOB, { runId });
  };
  await executeRun(
    deps,
    recategorizeRunState,
    runId,
    { worker: worker.name, requeue },
    async (run) => {
      const settings = await categorizationOf(db, run.orgId);
      const answerDeps = { db, config: deps.config, log: deps.log };
      const inOrg = eq(conversations.orgId, run.orgId);
      const [{ total }] = (await db
        .select({ total: count() })
        .from(conversations)
        .where(inOrg)) as [{ total: number }];
      let done = run.recategorized;
      let cursor = run.cursor;
      await recategorizeRunState.progress(db, runId, {
        step: done,
        totalSteps: Math.max(Number(total), done),
        phase: 'categorizing',
      });
      for (;;) {
        const [latest] = await db
          .select({ cancel: conversationRecategorizeRuns.cancelRequested })
          .from(conversationRecategorizeRuns)
          .where(eq(conversationRecategorizeRuns.id, runId));
        if (latest?.cancel) {
          await recategorizeRunState.finish(db, runId, 'CANCELLED');
          return;
        }
        const batch = await db
          .select()
          .from(conversations)
          .where(cursor ? and(inOrg, gt(conversations.id, cursor)) : inOrg)
          .orderBy(asc(conversations.id))
          .limit(BATCH);
        if (batch.length === 0) break;
        const messages = await messagesOf(
          db,
          batch.map((c) => c.id),
        );
        const analyses: ConversationAnalysis[] = [];
        for (const c of batch) {
          const own = messages.filter((m) => m.conversationId === c.id);
          const answer = await categorizerAnswer(answerDeps, settings, { messages: own });
          analyses.push({ ...analyzeConversation(own, c, settings.taxonomy), ...(answer ?? {}) });
        }
        const last = batch.at(-1)!.id;
        await db.transaction(async (tx) => {
          for (const [i, c] of batch.entries())
            await tx
              .update(conversations)
              .set({ ...analyses[i]!, updatedAt: new Date() })
              .where(eq(conversations.id, c.id));
          await recategorizeRunState.progress(
            tx,
            runId,
            {
              step: done + batch.length,
              totalSteps: Math.max(Number(total), done + batch.length),
              phase: 'categorizing',
            },
            {
              cursor: last,
              recategorized: sql`${conversationRecategorizeRuns.recategorized} + ${batch.length}`,
            } as never,
          );
        });
        done += batch.length;
        cursor = last;
        for (const c of batch)
          deps.events.publish(`conversationEvents:${run.orgId}`, {
            kind: 'CATEGORIZED',
            conversationId: c.id,
            messageId: null,
            inbox: c.inbox,
          } satisfies ConversationEvent);
      }
      await recategorizeRunState.finish(db, runId, 'SUCCEEDED', { phase: null });
    },
  );
}
