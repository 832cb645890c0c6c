import { createHash, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { isUniqueViolation } from '../../db/client';
import { type DatasetVersion, datasetVersions } from '../../db/schema/datasets';
import { recordAudit } from '../access/audit';
import { openGate, planAll } from '../access/gate';
import type { QueryInput } from '../access/language';
import type { AuthedContext } from '../context';
import { pgTypeFor } from '../datasets/infer';
import { analyzeLater, findDataset } from '../datasets/service';
import { withLoadTransaction } from '../datasets/storage';
import { ConflictError, InputError } from '../errors';

/**
 * Writes a query's result (rows or groups, through the gate) as a new immutable version of a
 * dataset — an existing one, or a new one named `newDatasetName`. Masked columns are stored as
 * the caller saw them (masked text), so nothing the caller could not read enters the copy. All
 * in one transaction.
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
  const plan = planAll(ctx, gate, input.query);
  const sourceColumns = new Map(gate.access.columns.map((c) => [c.name, c]));
  const existing = input.targetDatasetId ? await findDataset(ctx, input.targetDatasetId) : null;
  const newName = input.newDatasetName?.trim() ?? '';
  if (!existing && (newName.length === 0 || newName.length > 200))
    throw new InputError('newDatasetName must be 1 to 200 characters.', 'newDatasetName');
  const versionId = randomUUID();
  const table = `dsv_${versionId.replaceAll('-', '')}`;
  const checksum = createHash('sha256')
    .update(JSON.stringify([gate.version.id, input.query]))
    .digest('hex');
  let rowCount = 0;
  try {
    await withLoadTransaction(ctx.database, async (tx) => {
      // A new target dataset is created in the same transaction: a failure leaves nothing.
      const target = existing
        ? existing
        : ((
            await tx.exec(
              `insert into datasets (org_id, name, description, created_by)
               values ($1, $2, $3, $4) returning id`,
              [
                ctx.viewer.orgId,
                newName,
                `Query of ${gate.dataset.name} v${gate.version.number}.`,
                ctx.viewer.userId,
              ],
            )
          )[0] as { id: string });
      await tx.exec('select id from datasets where id = $1 for update', [target.id]);
      const [latest] = await tx.exec(
        'select coalesce(max(number), 0)::int as n from dataset_versions where dataset_id = $1',
        [target.id],
      );
      const number = Number(latest?.n ?? 0) + 1;
      await tx.exec(
        `create table ${table} (${plan.columns.map((c, i) => `c${i} ${pgTypeFor(c.type)}`).join(', ')})`,
      );
      // Outputs come back as text for dates and times: cast each to its stored type.
      const casts = plan.columns.map((c, i) => `o${i}::${pgTypeFor(c.type)}`).join(', ');
      await tx.exec(`insert into ${table} select ${casts} from (${plan.sql}) s`, [...plan.params]);
      const stats = plan.columns
        .map((_, i) => `count(c${i})::bigint as n${i}, count(distinct c${i})::bigint as d${i}`)
        .join(', ');
      const [summary] = await tx.exec(`select count(*)::bigint as rows, ${stats} from ${table}`);
      rowCount = Number(summary!.rows);
      await tx.exec(
        `insert into dataset_versions
           (id, dataset_id, number, row_count, byte_size, checksum, source, table_name, created_by)
         values ($1, $2, $3, $4, 0, $5, $6, $7, $8)`,
        [
          versionId,
          target.id,
          number,
          rowCount,
          checksum,
          `QUERY: ${gate.dataset.name} v${gate.version.number}`.slice(0, 300),
          table,
          ctx.viewer.userId,
        ],
      );
      for (const [i, c] of plan.columns.entries()) {
        const source = c.rule ? sourceColumns.get(c.name) : undefined;
        await tx.exec(
          `insert into dataset_columns
             (version_id, position, name, type, nullable, sensitivity, pii_kind, distinct_estimate)
           values ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            versionId,
            i,
            c.name,
            c.type,
            Number(summary![`n${i}`]) < rowCount,
            source?.sensitivity ?? 'NONE',
            null,
            Number(summary![`d${i}`]),
          ],
        );
      }
      await tx.exec('update datasets set updated_at = now() where id = $1', [target.id]);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`A dataset named "${newName}" exists.`);
    throw error;
  } finally {
    await recordAudit(ctx, {
      action: 'MATERIALIZE',
      datasetId: gate.dataset.id,
      versionId: gate.version.id,
      columnsRead: plan.columnsRead,
      columnsMasked: plan.columnsMasked,
      filter: input.query.where ?? null,
      rowCount,
    });
  }
  analyzeLater(ctx, table);
  const [version] = await ctx.db
    .select()
    .from(datasetVersions)
    .where(eq(datasetVersions.id, versionId));
  return version!;
}
