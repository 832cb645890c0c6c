import type { RunStatus } from '../../db/schema/common';

/** A change of a training run: a status change, or one finished epoch. */
export interface TrainingEvent {
  kind: 'STATUS' | 'EPOCH';
  runId: string;
  modelId: string;
  orgId: string;
  status: RunStatus;
  /** Epoch of the current candidate; restarts with each candidate (see `step`). */
  epoch: number | null;
  /** Epochs of the current candidate (see `totalSteps`). */
  totalEpochs: number | null;
  /** Epochs done over the whole run: never decreases within an attempt. */
  step: number | null;
  /** Epochs the whole run takes: never below `step`. */
  totalSteps: number | null;
  candidate: string | null;
  loss: number | null;
  valLoss: number | null;
  metrics: Record<string, number> | null;
  samplesPerSecond: number | null;
  etaSeconds: number | null;
  error: string | null;
  at: string;
}

/** Sent on `trainingControl:<runId>` to whichever process supervises the run. */
export interface TrainingControl {
  action: 'CANCEL';
}

/**
 * Sent on `modelAliases` after an alias of the model was pointed elsewhere or removed:
 * every API process drops what it remembered of that alias.
 */
export interface ModelAliasChange {
  modelId: string;
  alias: string;
}
