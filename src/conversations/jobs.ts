import { defineJob, type JobDomain } from '../jobs/workers';
import { INGEST_JOB, ingestRunState, runIngestJob } from './ingest';

declare module '../jobs/queue' {
  interface Jobs {
    [INGEST_JOB]: { runId: string };
  }
}

/** The conversations domain's jobs: bulk ingests, with run records. */
export const conversationJobs: JobDomain = {
  kinds: [
    defineJob({ name: INGEST_JOB, handle: (worker, { runId }) => runIngestJob(worker, runId) }),
  ],
  runs: [ingestRunState] as JobDomain['runs'],
};
