/**
 * The conversations domain's tasks for pool child processes: categorizing and redacting a batch
 * of ingested records, the CPU-heavy part of an ingest, off the job's event loop.
 */
import type { TaskHandlers } from '../jobs/protocol';
import { type AnalyzedRecord, analyzeRecord } from './analyze';
import { conversationRecord } from './records';
import type { Taxonomy } from './topics';

export const CATEGORIZE_TASK = 'conversations.categorize';

declare module '../jobs/protocol' {
  interface Tasks {
    [CATEGORIZE_TASK]: {
      /** Records as the run stores them (validated when the file was read). */
      input: { records: unknown[]; taxonomy: Taxonomy };
      progress: never;
      output: AnalyzedRecord[];
    };
  }
}

export const tasks: TaskHandlers = {
  [CATEGORIZE_TASK]: async ({ records, taxonomy }) =>
    records.map((raw) => analyzeRecord(conversationRecord.parse(raw), taxonomy)),
};
