import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatedStream, type OutputColumn, openGate, planAll } from '../access/gate';
import { type QueryInput, queryInputSchema } from '../access/language';
import { signUrlToken, verifyUrlToken } from '../auth/signed-urls';
import { viewerFor } from '../auth/viewer';
import { type AuthedContext, type ContextDeps, contextFor } from '../context';
import { NotFoundError } from '../errors';
import { allowOnly, requestIdOf, sendError, tokenOf } from '../http/respond';

export const EXPORT_PATH = '/exports/';
const AUDIENCE = 'peso-export';
/** How long an export link works. */
const EXPORT_TTL_SECONDS = 10 * 60;

export type ExportFormat = 'CSV' | 'NDJSON';

/**
 * Checks a query under the caller's access now (so a refused query fails here, not at
 * download), then signs a link that streams its result. The link pins the version and names
 * the caller; the download re-checks the caller's rights and goes through the gate again.
 */
export async function createExport(
  ctx: AuthedContext,
  input: { datasetId: string; version?: number | null; query: QueryInput; format: ExportFormat },
): Promise<{ url: string; expiresAt: Date; versionId: string }> {
  const gate = await openGate(ctx, { datasetId: input.datasetId, version: input.version });
  // Compiling refuses now what the download would refuse (FORBIDDEN, unknown columns).
  planAll(ctx, gate, input.query);
  const expiresAt = new Date(Date.now() + EXPORT_TTL_SECONDS * 1000);
  const token = await signUrlToken(ctx.config.secret, AUDIENCE, {
    subject: gate.version.id,
    expiresAt,
    data: {
      datasetId: gate.dataset.id,
      membershipId: ctx.viewer.membershipId,
      apiKeyId: ctx.viewer.apiKeyId,
      query: input.query,
      format: input.format,
    },
  });
  return { url: `${ctx.origin}${EXPORT_PATH}${token}`, expiresAt, versionId: gate.version.id };
}

/**
 * One CSV field (RFC 4180): empty for null; quoted when it holds a comma, quote or line break,
 * or has surrounding spaces a reader might trim.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) || text.trim() !== text ? `"${text.replaceAll('"', '""')}"` : text;
}

function serialize(
  format: ExportFormat,
  rows: Array<Record<string, unknown>>,
  columns: OutputColumn[],
): string {
  if (format === 'NDJSON') return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  return rows.map((r) => `${columns.map((c) => csvCell(r[c.name])).join(',')}\n`).join('');
}

/**
 * HTTP handler for `GET /exports/<token>`: streams the rows batch by batch, waiting for the
 * client to drain each one, with masking applied by the gate; the whole result is never held.
 */
export function exportRoute(deps: ContextDeps) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdOf(req);
    if (!allowOnly(req, res, 'GET', requestId)) return;
    const token = tokenOf(req, EXPORT_PATH);
    try {
      const { subject: versionId, data } = await verifyUrlToken(
        deps.config.secret,
        AUDIENCE,
        token,
        'Export URL',
      );
      const viewer = await viewerFor(deps.database.db, {
        membershipId: (data.membershipId as string | null) ?? null,
        apiKeyId: (data.apiKeyId as string | null) ?? null,
      });
      const ctx = contextFor(deps, viewer, requestId) as AuthedContext;
      const format: ExportFormat = data.format === 'NDJSON' ? 'NDJSON' : 'CSV';
      const parsed = queryInputSchema.safeParse(data.query);
      if (!parsed.success) throw new NotFoundError('Export');
      const gate = await openGate(ctx, { datasetId: String(data.datasetId), versionId });
      // Headers go out with the first batch (or at the end for an empty result), so an error
      // before any row still gets a proper status.
      let started = false;
      const start = (columns: OutputColumn[]) => {
        started = true;
        res.writeHead(200, {
          'content-type': format === 'CSV' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
          'content-disposition': `attachment; filename="${gate.dataset.name.replace(/[^\w.-]+/g, '_')}-v${gate.version.number}.${format === 'CSV' ? 'csv' : 'ndjson'}"`,
          'x-request-id': requestId,
        });
        if (format === 'CSV') res.write(`${columns.map((c) => csvCell(c.name)).join(',')}\n`);
      };
      const { columns } = await gatedStream(
        ctx,
        gate,
        parsed.data,
        'EXPORT',
        async (rows, columns) => {
          if (!started) start(columns);
          if (res.destroyed) throw new Error('client went away');
          if (!res.write(serialize(format, rows, columns))) {
            await Promise.race([once(res, 'drain'), once(res, 'close')]);
          }
        },
      );
      // No row matched: still a well-formed, empty file (with its header for CSV).
      if (!started) start(columns);
      res.end();
    } catch (error) {
      if (res.headersSent) {
        // Mid-stream: the status is gone; cut the response so the client sees it incomplete.
        deps.log.warn({ requestId }, 'export stopped mid-stream');
        res.destroy();
        return;
      }
      sendError(res, error, requestId, deps.log);
    }
  };
}
