import { fileURLToPath } from 'node:url';
import { defineJob, type JobDomain } from '../jobs/workers';
import { BATCH_PREDICT_JOB, predictionRunState, runBatchPredictionJob } from './batch';
import { trainingRunState } from './registry';
import { runTrainingJob, TRAIN_JOB } from './training-job';

declare module '../jobs/queue' {
  interface Jobs {
    [TRAIN_JOB]: { runId: string };
    [BATCH_PREDICT_JOB]: { runId: string };
  }
}

/** The models domain's jobs: training runs and batch predictions, both with run records. */
export const modelJobs: JobDomain = {
  kinds: [
    defineJob({ name: TRAIN_JOB, handle: (worker, { runId }) => runTrainingJob(worker, runId) }),
    defineJob({
      name: BATCH_PREDICT_JOB,
      handle: (worker, { runId }) => runBatchPredictionJob(worker, runId),
    }),
  ],
  taskModule: fileURLToPath(new URL('./tasks.ts', import.meta.url)),
  runs: [trainingRunState, predictionRunState] as JobDomain['runs'],
};
