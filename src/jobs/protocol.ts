import { PesoError } from '../errors';

/**
 * Every kind of CPU-heavy task a pool child runs, with what goes in, what it reports while it
 * runs and what comes out. Domains add theirs by declaration merging
 * (`declare module '../jobs/protocol' { interface Tasks { train: { input; progress; output } } }`)
 * and register a handler for each in a module the child imports.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in the domains.
export interface Tasks {}
export type TaskKind = keyof Tasks & string;
export type TaskInput<K extends TaskKind> = Tasks[K] extends { input: infer I } ? I : never;
export type TaskProgress<K extends TaskKind> = Tasks[K] extends { progress: infer P } ? P : never;
export type TaskOutput<K extends TaskKind> = Tasks[K] extends { output: infer O } ? O : never;

/** What a handler may do while it runs. */
export interface TaskContext<P> {
  /** Reports progress to the supervisor (resolves once sent). */
  progress(data: P): Promise<void>;
  /**
   * True once the task was cancelled or the child was told to stop (SIGTERM): finish the step in
   * hand and return. A handler that saw true while stopping is handed back, not finished.
   */
  shouldStop(): boolean;
}

export type TaskHandler<K extends TaskKind> = (
  input: TaskInput<K>,
  ctx: TaskContext<TaskProgress<K>>,
) => Promise<TaskOutput<K>>;

/** What a domain's task module exports as `tasks`. */
export type TaskHandlers = { [K in TaskKind]?: TaskHandler<K> };

/** An error as it crosses the process boundary. */
export interface SerializedError {
  name: string;
  message: string;
  /** Set for errors a caller is meant to read (a `PesoError`); others are bugs. */
  code: string | null;
  /** The input field it names (`InputError`, `FeatureError`). */
  field: string | null;
}

export function serializeError(error: unknown): SerializedError {
  const peso = error instanceof PesoError ? error : null;
  return {
    name: error instanceof Error ? error.name : 'Error',
    message: error instanceof Error ? error.message : String(error),
    code: peso?.code ?? null,
    field: (peso as { field?: string | null } | null)?.field ?? null,
  };
}

/** Messages from a supervisor to its child process. */
export type ToChild =
  | { type: 'run'; kind: TaskKind; input: unknown }
  /** Stop after the step in progress. */
  | { type: 'cancel' };

/** Messages from a child process to its supervisor, for the task it is running. */
export type FromChild =
  | { type: 'progress'; data: unknown }
  | { type: 'done'; output: unknown }
  /** Stopped by SIGTERM after finishing its current step: the job should be handed back. */
  | { type: 'interrupted' }
  | { type: 'error'; error: SerializedError };
