import { conversationJobs } from './conversations/jobs';
import { driftJobs } from './drift/jobs';
import { insightsJobs } from './insights/jobs';
import type { JobDomain } from './jobs/workers';
import { modelJobs } from './models/jobs';

/** Every domain's jobs: what `npm start`'s workers and `npm run worker` run. */
export const jobDomains: JobDomain[] = [modelJobs, conversationJobs, driftJobs, insightsJobs];
