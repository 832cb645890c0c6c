/**
 * The models domain's tasks for pool child processes: training and prediction, the CPU-heavy
 * parts of its jobs. Loaded only in the children, so TensorFlow.js never loads in the API
 * process for them.
 */
import type { TaskHandlers } from '../jobs/protocol';
import { type BackendInfo, type BackendPreference, initBackend } from './backend';
import { type Prediction, predict, train } from './train';
import type { EpochEvent, ModelArtifact, TrainConfig, TrainingData, TrainOutput } from './types';

declare module '../jobs/protocol' {
  interface Tasks {
    train: {
      input: { data: TrainingData; config: TrainConfig; backend: BackendPreference };
      progress: ({ type: 'started' } & BackendInfo) | { type: 'epoch'; event: EpochEvent };
      output: TrainOutput;
    };
    predict: {
      input: {
        artifact: ModelArtifact;
        rows: Array<Record<string, unknown>>;
        backend: BackendPreference;
      };
      progress: never;
      output: Prediction[];
    };
  }
}

export const tasks: TaskHandlers = {
  train: async ({ data, config, backend }, ctx) => {
    await initBackend(backend);
    return train(data, config, {
      // Chosen per run (WebGPU for models large enough to win on it), reported before epoch 1.
      onBackend: (info) => ctx.progress({ type: 'started', ...info }),
      onEpoch: (event) => ctx.progress({ type: 'epoch', event }),
      shouldStop: ctx.shouldStop,
    });
  },
  predict: async ({ artifact, rows, backend }) => {
    await initBackend(backend);
    return predict(artifact, rows);
  },
};
