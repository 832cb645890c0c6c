import { fileURLToPath } from 'node:url';
import { defineJob, type JobDomain } from '../jobs/workers';
import { INGEST_JOB, ingestRunState, runIngestJob } from './ingest';
import { RECATEGORIZE_JOB, recategorizeRunState, runRecategorizeJob } from './recategorize';

declare module '../jobs/queue' {
  interface Jobs {
    [INGEST_JOB]: { runId: string };
    [RECATEGORIZE_JOB]: { runId: string };
  }
}

/**
 * The conversations domain's jobs: bulk ingests (categorized in pool processes) and
 * re-categorizations, with run records.
 */
export const conversationJobs: JobDomain = {
  kinds: [
    defineJob({ name: INGEST_JOB, handle: (worker, { runId }) => runIngestJob(worker, runId) }),
    defineJob({
      name: RECATEGORIZE_JOB,
      handle: (worker, { runId }) => runRecategorizeJob(worker, runId),
    }),
  ],
  taskModule: fileURLToPath(new URL('./tasks.ts', import.meta.url)),
  runs: [ingestRunState, recategorizeRunState] as JobDomain['runs'],
};
