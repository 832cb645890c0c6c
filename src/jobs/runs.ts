import { and, eq, lt, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { type Db, isDatabaseUnavailable } from '../../db/client';
import type { RunStatus, runState } from '../../db/schema/common';
import type { ContextDeps } from '../context';
import { PesoError } from '../errors';
import type { EventBus } from '../events/bus';
import { errorSummary } from '../log';
import { TaskFailure } from './pool';

/** How often a running run's heartbeat is written. */
const HEARTBEAT_MS = 5_000;

/** A table with the run-state columns of `runState()` and an `id`. */
export type RunTable = PgTable & { id: PgColumn } & {
  [K in keyof ReturnType<typeof runState>]: PgColumn;
};

/** The run-state part of a run row. */
export interface RunRow {
  id: string;
  status: RunStatus;
  error: string | null;
  step: number;
  totalSteps: number | null;
  phase: string | null;
  cancelRequested: boolean;
  attempt: number;
  worker: string | null;
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  heartbeatAt: Date | null;
}

/** Monotonic progress, the same shape for every job kind. */
export interface Progress {
  step: number;
  totalSteps: number;
  /** Which part of the run is going on (e.g. the candidate being trained). */
  phase?: string | null;
}

/** What a domain tells the run-state helper about one run table. */
export interface RunKind<Row extends RunRow> {
  /** For logs and messages: "training run", "batch prediction". */
  noun: string;
  table: RunTable;
  /** Publishes a change of the run (after the write); `detail` is the progress report, if any. */
  publish(events: EventBus, run: Row, detail?: unknown): void;
  /** Removes what an attempt that failed (or was lost) leaves behind, in the transaction that
   * marks it FAILED where there is one. */
  cleanup?(db: Db, run: Row): Promise<void>;
}

type Writer = Pick<Db, 'update'>;

/**
 * The one place run records move: queued → running → succeeded / failed / cancelled, with a
 * heartbeat, monotonic progress, cancellation, hand-back to the queue and the reaper of runs whose
 * worker was lost. Every long task's run table goes through it.
 */
export function runsOf<Row extends RunRow>(kind: RunKind<Row>) {
  const t = kind.table;
  const update = async (db: Writer, runId: string, changes: Record<string, unknown>) => {
    const [run] = (await db
      .update(t)
      .set(changes as never)
      .where(eq(t.id, runId))
      .returning()) as unknown as Row[];
    return run!;
  };
  const runs = {
    kind,
    update: (db: Writer, runId: string, changes: Partial<Row>) =>
      update(db, runId, changes as Record<string, unknown>),

    /** QUEUED → RUNNING for this worker; null when cancelled or claimed elsewhere. */
    async claim(db: Writer, runId: string, worker: string): Promise<Row | null> {
      const [run] = (await db
        .update(t)
        .set({
          status: 'RUNNING',
          startedAt: new Date(),
          heartbeatAt: new Date(),
          worker,
          attempt: sql`${t.attempt} + 1`,
          error: null,
          step: 0,
        } as never)
        .where(and(eq(t.id, runId), eq(t.status, 'QUEUED')))
        .returning()) as unknown as Row[];
      return run ?? null;
    },

    /** Records progress (`totalSteps` never below `step`) and whatever else the domain adds. */
    progress(db: Writer, runId: string, progress: Progress, changes: Partial<Row> = {}) {
      return update(db, runId, {
        ...changes,
        step: progress.step,
        totalSteps: Math.max(progress.totalSteps, progress.step),
        phase: progress.phase ?? null,
        heartbeatAt: new Date(),
      });
    },

    /** Ends the run (in `db`, which may be the transaction writing its result). */
    finish(
      db: Writer,
      runId: string,
      status: Exclude<RunStatus, 'QUEUED' | 'RUNNING'>,
      changes: Partial<Row> = {},
    ) {
      return update(db, runId, { ...changes, status, finishedAt: new Date() });
    },

    /** RUNNING → QUEUED: the worker is stopping and another will claim it. */
    handBack(db: Writer, runId: string) {
      return update(db, runId, { status: 'QUEUED', worker: null, heartbeatAt: null });
    },

    /** RUNNING → QUEUED if `worker` still holds the run (not reaped or ended meanwhile). */
    async handBackIfHeld(db: Writer, runId: string, worker: string): Promise<Row | null> {
      const [run] = (await db
        .update(t)
        .set({ status: 'QUEUED', worker: null, heartbeatAt: null } as never)
        .where(and(eq(t.id, runId), eq(t.status, 'RUNNING'), eq(t.worker, worker)))
        .returning()) as unknown as Row[];
      return run ?? null;
    },

    /**
     * Cancels a queued run at once (returns it CANCELLED); flags a running one, whose worker
     * stops after its current step (returns it flagged). Null when it already ended.
     */
    async cancel(db: Writer, runId: string): Promise<Row | null> {
      const [cancelled] = (await db
        .update(t)
        .set({ status: 'CANCELLED', finishedAt: new Date() } as never)
        .where(and(eq(t.id, runId), eq(t.status, 'QUEUED')))
        .returning()) as unknown as Row[];
      if (cancelled) return cancelled;
      const [flagged] = (await db
        .update(t)
        .set({ cancelRequested: true } as never)
        .where(and(eq(t.id, runId), eq(t.status, 'RUNNING')))
        .returning()) as unknown as Row[];
      return flagged ?? null;
    },

    /**
     * Marks FAILED every RUNNING run whose worker stopped writing heartbeats for
     * `timeoutSeconds` (killed, lost its machine or its network), so none stays RUNNING forever.
     */
    async reap(deps: ContextDeps, timeoutSeconds: number): Promise<Row[]> {
      const lost = (await deps.database.db
        .update(t)
        .set({
          status: 'FAILED',
          error: `The worker stopped responding (no heartbeat for ${timeoutSeconds} s).`,
          finishedAt: new Date(),
        } as never)
        .where(
          and(
            eq(t.status, 'RUNNING'),
            lt(t.heartbeatAt, sql`now() - make_interval(secs => ${timeoutSeconds})`),
          ),
        )
        .returning()) as unknown as Row[];
      for (const run of lost) {
        deps.log.warn({ runId: run.id, worker: run.worker }, `${kind.noun} lost its worker`);
        await kind.cleanup?.(deps.database.db, run);
        kind.publish(deps.events, run);
      }
      return lost;
    },
  };
  return runs;
}

export type Runs<Row extends RunRow> = ReturnType<typeof runsOf<Row>>;

/**
 * Runs one claimed job of a run table: claims the run, writes a heartbeat while `body` works,
 * and records the outcome `body` did not record itself — FAILED with the error a caller may
 * read (or a masked one for a bug, logged), or back to QUEUED and re-sent when the worker is
 * stopping. `body` ends the run itself when it succeeds or is cancelled (often in the
 * transaction that writes its result).
 */
export async function executeRun<Row extends RunRow>(
  deps: ContextDeps,
  runs: Runs<Row>,
  runId: string,
  options: { worker: string; requeue(): Promise<void> },
  body: (run: Row) => Promise<void>,
): Promise<void> {
  const db = deps.database.db;
  const t = runs.kind.table;
  const claimed = await runs.claim(db, runId, options.worker);
  if (!claimed) return;
  runs.kind.publish(deps.events, claimed);
  const log = deps.log.child({ runId, worker: options.worker });
  const heartbeat = setInterval(() => {
    void db
      .update(t)
      .set({ heartbeatAt: new Date() } as never)
      .where(and(eq(t.id, runId), eq(t.status, 'RUNNING')))
      .catch(() => {});
  }, HEARTBEAT_MS);
  try {
    await body(claimed);
  } catch (error) {
    if (isDatabaseUnavailable(error)) {
      await requeueAfterOutage(deps, runs, runId, options, error);
      return;
    }
    if (error instanceof TaskFailure && error.handedBack) {
      const run = await runs.handBack(db, runId);
      runs.kind.publish(deps.events, run);
      await options.requeue();
      log.info(`${runs.kind.noun} handed back to the queue`);
      return;
    }
    const readable = error instanceof PesoError || error instanceof TaskFailure;
    if (!readable) log.error({ err: error }, `${runs.kind.noun} failed unexpectedly`);
    // FAILED and the removal of what the attempt left commit together: whoever sees the run
    // failed finds nothing of it left.
    const run = await db.transaction(async (tx) => {
      const failed = await runs.finish(tx, runId, 'FAILED', {
        error: readable ? error.message : `Unexpected error in the ${runs.kind.noun}.`,
      } as Partial<Row>);
      await runs.kind.cleanup?.(tx, failed);
      return failed;
    });
    runs.kind.publish(deps.events, run);
  } finally {
    clearInterval(heartbeat);
  }
}

/** How often a run interrupted by a database outage checks whether the database is back. */
const OUTAGE_RETRY_MS = 1_000;

/**
 * A run interrupted because the database went away did not fail: once the database answers
 * again it goes back to the queue and is trained again from the start. Past the heartbeat
 * timeout the reaper fails it instead, so this waits no longer than that.
 */
async function requeueAfterOutage<Row extends RunRow>(
  deps: ContextDeps,
  runs: Runs<Row>,
  runId: string,
  options: { worker: string; requeue(): Promise<void> },
  cause: unknown,
): Promise<void> {
  const log = deps.log.child({ runId, worker: options.worker });
  log.warn({ error: errorSummary(cause) }, `${runs.kind.noun} interrupted: database unavailable`);
  const deadline = Date.now() + deps.config.runTimeoutSeconds * 1000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_RETRY_MS));
    let run: Row | null;
    try {
      run = await runs.handBackIfHeld(deps.database.db, runId, options.worker);
    } catch (error) {
      if (isDatabaseUnavailable(error)) continue;
      throw error;
    }
    if (!run) return;
    runs.kind.publish(deps.events, run);
    await options.requeue();
    log.info(`${runs.kind.noun} handed back to the queue after the outage`);
    return;
  }
  log.warn(`${runs.kind.noun} not handed back: the database is still unavailable`);
}

/** Runs every kind's reaper on a timer; returns a stop function. */
export function startReaper(
  deps: ContextDeps,
  kinds: Array<Runs<RunRow>>,
  timeoutSeconds: number,
): () => void {
  const every = Math.max(1_000, Math.min(5_000, (timeoutSeconds * 1000) / 4));
  const timer = setInterval(() => {
    for (const runs of kinds) {
      runs
        .reap(deps, timeoutSeconds)
        .catch((error: unknown) =>
          deps.log.warn(
            isDatabaseUnavailable(error) ? { error: errorSummary(error) } : { err: error },
            `could not check for lost ${runs.kind.noun}s`,
          ),
        );
    }
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}
