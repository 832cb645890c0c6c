import type { DatasetVersion } from '../../db/schema/datasets';
import { gatedWrite, openGate } from '../access/gate';
import type { QueryInput } from '../access/language';
import { findDataset } from '../access/visibility';
import type { AuthedContext } from '../context';
import { InputError } from '../errors';

/**
 * Writes a query's result (rows or groups, through the gate) as a new immutable version of a
 * dataset — an existing one, or a new one named `newDatasetName`, created in the same
 * transaction so that a failure leaves nothing.
 */
export async function materializeQuery(
  ctx: AuthedContext,
  input: {
    datasetId: string;
    version?: number | null;
    query: QueryInput;
    targetDatasetId?: string | null;
    newDatasetName?: string | null;
  },
): Promise<DatasetVersion> {
  if ((input.targetDatasetId == null) === (input.newDatasetName == null))
    throw new InputError('Give exactly one of targetDatasetId and newDatasetName.', 'target');
  const gate = await openGate(ctx, { datasetId: input.datasetId, version: input.version });
  if (input.targetDatasetId) {
    const existing = await findDataset(ctx, input.targetDatasetId);
    return gatedWrite(ctx, gate, input.query, { datasetId: existing.id });
  }
  const name = input.newDatasetName?.trim() ?? '';
  if (name.length === 0 || name.length > 200)
    throw new InputError('newDatasetName must be 1 to 200 characters.', 'newDatasetName');
  return gatedWrite(ctx, gate, input.query, {
    newDataset: {
      name,
      description: `Query of ${gate.dataset.name} v${gate.version.number}.`,
    },
  });
}
