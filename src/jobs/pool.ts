import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log';
import type {
  FromChild,
  SerializedError,
  TaskInput,
  TaskKind,
  TaskOutput,
  TaskProgress,
  ToChild,
} from './protocol';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Why a task did not produce its output. */
export class TaskFailure extends Error {
  constructor(
    message: string,
    /** The child stopped on SIGTERM after a step: the job should go back to the queue. */
    readonly handedBack = false,
    /** The error the task threw in the child, when it threw one. */
    readonly remote: SerializedError | null = null,
  ) {
    super(message);
  }
}

export interface TaskHandle<K extends TaskKind> {
  /** Resolves with the output, or rejects with a `TaskFailure`. */
  result: Promise<TaskOutput<K>>;
  /** Asks the child to stop after the step in progress. */
  cancel(): void;
}

/** One child held for a sequence of tasks (e.g. every batch of one job). */
export interface Lease {
  pid: number;
  /** Runs a task in the held child; fails at once if that child died since it was taken. */
  run<K extends TaskKind>(
    kind: K,
    input: TaskInput<K>,
    onProgress?: (progress: TaskProgress<K>) => Promise<void> | void,
  ): TaskHandle<K>;
  /** Gives the child back to the pool. */
  release(): void;
}

const exitMessage = (code: number | null, signal: string | null) =>
  `The worker process exited unexpectedly (${signal ?? `code ${code}`}).`;

/**
 * A supervised pool of child processes for CPU-heavy tasks of any kind: at most `size` at once,
 * each forked on first need (importing the domains' task modules) and replaced when it dies. A
 * child that dies fails the task (or the lease) it was running, never the pool.
 */
export function createPool(options: { size: number; log: Logger; modules: string[] }) {
  const idle: ChildProcess[] = [];
  const all = new Set<ChildProcess>();
  const waiting: Array<{ resolve(child: ChildProcess): void; reject(error: unknown): void }> = [];
  let closing = false;

  function spawnChild(): ChildProcess {
    const child = fork(CHILD, options.modules, {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    all.add(child);
    // Pool work is batch work: lower its priority so API requests get the CPU first.
    try {
      if (child.pid) setPriority(child.pid, 10);
    } catch {
      // Not permitted here: run at normal priority.
    }
    child.once('exit', (code, signal) => {
      all.delete(child);
      const i = idle.indexOf(child);
      if (i >= 0) idle.splice(i, 1);
      else if (signal === 'SIGKILL' || (code !== 0 && code !== null))
        options.log.warn({ pid: child.pid, code, signal }, 'pool process died');
      // Its place is free: a task waiting for one gets a fresh child.
      if (!closing && waiting.length > 0) waiting.shift()!.resolve(spawnChild());
    });
    return child;
  }

  function take(): Promise<ChildProcess> {
    if (closing) return Promise.reject(new TaskFailure('The worker is shutting down.', true));
    const child = idle.pop();
    if (child) return Promise.resolve(child);
    if (all.size < options.size) return Promise.resolve(spawnChild());
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  }

  function give(child: ChildProcess): void {
    if (closing || !child.connected) return;
    const next = waiting.shift();
    if (next) next.resolve(child);
    else idle.push(child);
  }

  function runIn<K extends TaskKind>(
    child: ChildProcess,
    died: () => TaskFailure | null,
    kind: K,
    input: TaskInput<K>,
    onProgress: (progress: TaskProgress<K>) => Promise<void> | void = () => {},
  ): TaskHandle<K> {
    const result = new Promise<TaskOutput<K>>((resolve, reject) => {
      const dead = died();
      if (dead) return reject(dead);
      // Progress is handled one report at a time, so the outcome follows the last of them. The
      // first report that fails (its write, with the database gone) is the task's outcome; later
      // ones are skipped, and the chain itself never rejects while no one awaits it.
      let reported: Promise<unknown> = Promise.resolve();
      let failed: { error: unknown } | null = null;
      const onMessage = (message: FromChild) => {
        if (message.type === 'progress') {
          reported = reported
            .then(() => (failed ? undefined : onProgress(message.data as TaskProgress<K>)))
            .catch((error: unknown) => {
              failed ??= { error };
            });
          return;
        }
        detach();
        void reported.then(() => {
          if (failed) reject(failed.error);
          else if (message.type === 'done') resolve(message.output as TaskOutput<K>);
          else if (message.type === 'interrupted')
            reject(
              new TaskFailure('The worker was stopped; the job goes back to the queue.', true),
            );
          else reject(new TaskFailure(message.error.message, false, message.error));
        });
      };
      const onExit = (code: number | null, signal: string | null) => {
        detach();
        reject(new TaskFailure(exitMessage(code, signal)));
      };
      const detach = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ type: 'run', kind, input } satisfies ToChild);
    });
    return {
      result,
      cancel: () => {
        if (child.connected) child.send({ type: 'cancel' } satisfies ToChild);
      },
    };
  }

  const pool = {
    get size() {
      return options.size;
    },
    /** Children alive now (busy or idle). */
    get processes(): number[] {
      return [...all].map((c) => c.pid!).filter(Boolean);
    },
    /** Takes a child for a sequence of tasks; if it dies meanwhile, the lease fails. */
    async lease(): Promise<Lease> {
      const child = await take();
      let dead: TaskFailure | null = null;
      const onExit = (code: number | null, signal: string | null) => {
        // Stopped between two tasks by a closing pool: the job goes back to the queue.
        dead = closing
          ? new TaskFailure('The worker is shutting down.', true)
          : new TaskFailure(exitMessage(code, signal));
      };
      child.once('exit', onExit);
      return {
        pid: child.pid!,
        run: (kind, input, onProgress) => runIn(child, () => dead, kind, input, onProgress),
        release: () => {
          child.off('exit', onExit);
          if (!dead) give(child);
        },
      };
    },
    /** Runs one task in a child; `onProgress` sees its reports in order. */
    run<K extends TaskKind>(
      kind: K,
      input: TaskInput<K>,
      onProgress?: (progress: TaskProgress<K>) => Promise<void> | void,
    ): TaskHandle<K> {
      let handle: TaskHandle<K> | null = null;
      let cancelled = false;
      const result = (async () => {
        const lease = await pool.lease();
        try {
          handle = lease.run(kind, input, onProgress);
          if (cancelled) handle.cancel();
          return await handle.result;
        } finally {
          lease.release();
        }
      })();
      return {
        result,
        cancel: () => {
          cancelled = true;
          handle?.cancel();
        },
      };
    },
    /** SIGTERM to every child: busy ones finish their step and hand back, idle ones exit. */
    async close(): Promise<void> {
      closing = true;
      for (const w of waiting.splice(0))
        w.reject(new TaskFailure('The worker is shutting down.', true));
      const exits = [...all].map(
        (c) =>
          new Promise<void>((resolve) =>
            c.exitCode !== null ? resolve() : c.once('exit', () => resolve()),
          ),
      );
      for (const c of all) c.kill('SIGTERM');
      await Promise.all(exits);
    },
  };
  return pool;
}

export type Pool = ReturnType<typeof createPool>;
