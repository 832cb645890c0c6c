import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log';
import type { EpochEvent, TrainConfig, TrainingData, TrainOutput } from '../models/types';
import type { FromChild, ToChild } from './protocol';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Why a training attempt did not produce a model. */
export class TrainingFailure extends Error {
  constructor(
    message: string,
    /** The child stopped on SIGTERM after an epoch: the run should go back to the queue. */
    readonly handedBack = false,
    readonly feature: string | null = null,
  ) {
    super(message);
  }
}

export interface TrainingHandle {
  pid: number;
  /** Resolves with the result, or rejects with a `TrainingFailure`. */
  result: Promise<TrainOutput>;
  cancel(): void;
}

/**
 * A supervised pool of training child processes: at most `size` at once, each forked on first
 * need and replaced when it dies. A child that dies mid-run fails that run, never the pool.
 */
export function createTrainingPool(options: { size: number; log: Logger; backend: string }) {
  const idle: ChildProcess[] = [];
  const all = new Set<ChildProcess>();
  let closing = false;

  function spawnChild(): ChildProcess {
    const child = fork(CHILD, [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    all.add(child);
    // Training is batch work: lower its priority so API requests get the CPU first.
    try {
      if (child.pid) setPriority(child.pid, 10);
    } catch {
      // Not permitted here: run at normal priority.
    }
    child.once('exit', () => {
      all.delete(child);
      const i = idle.indexOf(child);
      if (i >= 0) idle.splice(i, 1);
    });
    return child;
  }

  return {
    get size() {
      return options.size;
    },
    /** Children alive now (busy or idle). */
    get processes(): number[] {
      return [...all].map((c) => c.pid!).filter(Boolean);
    },
    /** Trains in a child; `onStarted` and `onEpoch` see its reports as they come. */
    train(
      data: TrainingData,
      config: TrainConfig,
      hooks: {
        onStarted(info: { backend: string; device: string }): void;
        onEpoch(event: EpochEvent): Promise<void> | void;
      },
    ): TrainingHandle {
      if (closing) throw new TrainingFailure('The worker is shutting down.', true);
      const child = idle.pop() ?? spawnChild();
      const result = new Promise<TrainOutput>((resolve, reject) => {
        const onMessage = (message: FromChild) => {
          switch (message.type) {
            case 'started':
              hooks.onStarted(message);
              return;
            case 'epoch':
              void hooks.onEpoch(message.event);
              return;
            case 'done':
              finish();
              resolve(message.output);
              return;
            case 'interrupted':
              finish();
              reject(
                new TrainingFailure(
                  'The worker was stopped; the run goes back to the queue.',
                  true,
                ),
              );
              return;
            default:
              finish();
              reject(new TrainingFailure(message.message, false, message.feature));
          }
        };
        const onExit = (code: number | null, signal: string | null) => {
          child.off('message', onMessage);
          reject(
            new TrainingFailure(
              `The training process exited unexpectedly (${signal ?? `code ${code}`}).`,
            ),
          );
        };
        const finish = () => {
          child.off('message', onMessage);
          child.off('exit', onExit);
          if (!closing && child.connected) idle.push(child);
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({ type: 'train', data, config, backend: options.backend } satisfies ToChild);
      });
      return {
        pid: child.pid!,
        result,
        cancel: () => {
          if (child.connected) child.send({ type: 'cancel' } satisfies ToChild);
        },
      };
    },
    /** SIGTERM to every child: busy ones finish their epoch and hand back, idle ones exit. */
    async close(): Promise<void> {
      closing = true;
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
}

export type TrainingPool = ReturnType<typeof createTrainingPool>;
