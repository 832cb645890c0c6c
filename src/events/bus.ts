import { createPubSub } from 'graphql-yoga';

/** Progress of one upload into a dataset. */
export interface IngestionEvent {
  datasetId: string;
  versionId: string;
  status: 'LOADING' | 'READY' | 'FAILED';
  rows: number;
  bytes: number;
  /** Known when the upload's size is known. */
  totalBytes: number | null;
  rowsPerSecond: number;
  error: string | null;
}

/** Every topic, with per-id channels. Publish only after the database write it reports. */
export type Topics = {
  /** `datasetIngestion:<datasetId>` */
  [topic: `datasetIngestion:${string}`]: [IngestionEvent];
  [topic: string]: [IngestionEvent];
};

/** In-process event bus; the target is swappable for multi-process deployments. */
export function createEventBus() {
  return createPubSub<Topics>();
}

export type EventBus = ReturnType<typeof createEventBus>;
