import type { UploadStatus } from '../../db/schema/datasets';

/** Progress of one upload into a dataset. */
export interface IngestionEvent {
  datasetId: string;
  versionId: string;
  /** PENDING is only a signed URL not used yet: nothing to report. */
  status: Exclude<UploadStatus, 'PENDING'>;
  rows: number;
  bytes: number;
  /** Known when the upload's size is known. */
  totalBytes: number | null;
  rowsPerSecond: number;
  error: string | null;
}
