import type { EpochEvent, TrainConfig, TrainingData, TrainOutput } from '../models/types';

/**
 * Messages between a supervisor and its training child process. The same protocol serves the
 * local pool of `npm start` and the standalone `npm run worker`: the supervisor claims a job,
 * loads the data, and the child only trains.
 */
export type ToChild =
  | { type: 'train'; data: TrainingData; config: TrainConfig; backend: string }
  /** Stop after the epoch in progress (cancel). */
  | { type: 'cancel' };

export type FromChild =
  | { type: 'started'; backend: string; device: string }
  | { type: 'epoch'; event: EpochEvent }
  | { type: 'done'; output: TrainOutput }
  /** Stopped by SIGTERM after finishing its current epoch: the run should be handed back. */
  | { type: 'interrupted' }
  | { type: 'error'; name: string; message: string; feature: string | null };
