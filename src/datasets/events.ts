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
