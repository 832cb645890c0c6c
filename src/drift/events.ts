import type { AlertSeverity } from '../../db/schema/drift';

/** A new drift alert, published on `driftAlerts:<orgId>` after it is written. */
export interface DriftAlertEvent {
  alertId: string;
  orgId: string;
  monitorId: string;
  modelId: string | null;
  datasetId: string;
  severity: AlertSeverity;
  columns: string[];
  message: string;
  at: string;
}
