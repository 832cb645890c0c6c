import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { memberships } from '../../db/schema/auth';
import type { DatasetVersion } from '../../db/schema/datasets';
import type { DriftReportRow } from '../../db/schema/drift';
import { viewerFor } from '../auth/viewer';
import { type AuthedContext, type ContextDeps, contextFor } from '../context';
import { uploadVersion } from '../datasets/service';
import { createMonitor, DRIFT_CHECK_JOB, queueCheck } from './service';

/** From this year on, the demo's second version of `stocks`: the later period of the series. */
const LATER_FROM = 2007;

/**
 * Leaves one drift report in the demo organization from real data with a real shift: the
 * `stocks` series from 2007 on, loaded as a second version, checked against the whole series
 * (prices rose, and GOOG, listed only from 2004, weighs more). The check runs on the workers
 * like any other, as the demo owner.
 */
export async function seedDemoDrift(
  deps: ContextDeps,
  owner: { orgId: string; userId: string },
  stocks: DatasetVersion,
): Promise<DriftReportRow> {
  const [membership] = await deps.database.db
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.orgId, owner.orgId), eq(memberships.userId, owner.userId)));
  const viewer = await viewerFor(deps.database.db, {
    membershipId: membership!.id,
    apiKeyId: null,
  });
  const ctx = contextFor(deps, viewer, 'demo-drift') as AuthedContext;
  const file = join(
    createRequire(import.meta.url).resolve('vega-datasets'),
    '../../data/stocks.csv',
  );
  const [header, ...rows] = (await readFile(file, 'utf8')).trim().split('\n');
  const later = rows.filter((row) => Number(row.split(',')[1]?.split(' ')[2]) >= LATER_FROM);
  const current = await uploadVersion(ctx, {
    datasetId: stocks.datasetId,
    filename: 'stocks.csv',
    source: Readable.from([Buffer.from(`${[header, ...later].join('\n')}\n`)]),
  });
  const monitor = await createMonitor(ctx, {
    name: `stocks from ${LATER_FROM} against the whole series`,
    datasetId: stocks.datasetId,
    referenceVersionId: stocks.id,
    columns: [{ column: 'price' }, { column: 'symbol' }],
  });
  return queueCheck(ctx, monitor.id, current.id, (reportId) =>
    ctx.jobs.send(DRIFT_CHECK_JOB, { reportId }),
  );
}
