import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { and, eq, gt, sql } from 'drizzle-orm';
import { asJson } from '../../db/client';
import { type DatasetUpload, datasetUploads, datasetVersions } from '../../db/schema/datasets';
import { findDataset } from '../access/visibility';
import { roleAtLeast } from '../auth/roles';
import { signUrlToken, verifyUrlToken } from '../auth/signed-urls';
import { viewerFor } from '../auth/viewer';
import { type AuthedContext, type ContextDeps, contextFor } from '../context';
import {
  ConflictError,
  ForbiddenError,
  InputError,
  NotFoundError,
  PesoError,
  UnauthenticatedError,
} from '../errors';
import { allowOnly, requestIdOf, sendError, sendJson, tokenOf } from '../http/respond';
import type { IngestionEvent } from './events';
import { DatasetInputError } from './input-error';
import { type UploadOptions, uploadVersion } from './service';

/** Path prefix the server routes signed uploads under. */
export const UPLOAD_PATH = '/uploads/';
const AUDIENCE = 'peso-upload';

/**
 * Reserves a new version of a dataset and signs a URL the caller PUTs the file to. The URL is
 * single-use and valid for `config.uploadUrlTtlSeconds`; the load runs with the caller's rights
 * as they are when the PUT arrives.
 */
export async function createUploadUrl(
  ctx: AuthedContext,
  input: { datasetId: string; filename: string; options?: UploadOptions | null; origin: string },
): Promise<{ upload: DatasetUpload; url: string }> {
  const dataset = await findDataset(ctx, input.datasetId);
  const filename = input.filename.trim();
  if (!filename || filename.length > 255)
    throw new InputError('A file name of 1 to 255 characters is required.', 'filename');
  const expiresAt = new Date(Date.now() + ctx.config.uploadUrlTtlSeconds * 1000);
  const [upload] = await ctx.db
    .insert(datasetUploads)
    .values({
      datasetId: dataset.id,
      orgId: ctx.viewer.orgId,
      membershipId: ctx.viewer.membershipId,
      apiKeyId: ctx.viewer.apiKeyId,
      filename,
      options: asJson(input.options ?? {}) as Record<string, unknown>,
      expiresAt,
    })
    .returning();
  const token = await signUrlToken(ctx.config.secret, AUDIENCE, {
    subject: upload!.id,
    expiresAt,
  });
  return { upload: upload!, url: `${input.origin}${UPLOAD_PATH}${token}` };
}

/**
 * Loads the body of a PUT to a signed upload URL: claims the upload (single use), re-checks the
 * signer's rights, then streams the body through the same path as a multipart upload.
 */
export async function receiveUpload(
  deps: ContextDeps,
  request: {
    token: string;
    body: AsyncIterable<Uint8Array>;
    contentLength: number | null;
    requestId: string;
  },
) {
  const { subject: uploadId } = await verifyUrlToken(
    deps.config.secret,
    AUDIENCE,
    request.token,
    'Upload URL',
  );
  if (request.contentLength !== null && request.contentLength > deps.config.maxUploadBytes) {
    throw new DatasetInputError(
      'TOO_LARGE',
      `the file is larger than the limit of ${Math.round(deps.config.maxUploadBytes / 1048576)} MB`,
    );
  }
  const db = deps.database.db;
  const [claimed] = await db
    .update(datasetUploads)
    .set({ status: 'LOADING' })
    .where(
      and(
        eq(datasetUploads.id, uploadId),
        eq(datasetUploads.status, 'PENDING'),
        gt(datasetUploads.expiresAt, sql`now()`),
      ),
    )
    .returning();
  if (!claimed) {
    const [upload] = await db.select().from(datasetUploads).where(eq(datasetUploads.id, uploadId));
    if (!upload) throw new NotFoundError('Upload');
    if (upload.status === 'PENDING') throw new UnauthenticatedError('Upload URL expired.');
    throw new ConflictError('This upload URL was already used.');
  }
  try {
    const viewer = await viewerFor(db, claimed);
    if (viewer.orgId !== claimed.orgId || !roleAtLeast(viewer.role, 'ANALYST'))
      throw new ForbiddenError('Uploading requires the ANALYST role or higher.');
    const ctx = contextFor(deps, viewer, request.requestId) as AuthedContext;
    const version = await uploadVersion(ctx, {
      datasetId: claimed.datasetId,
      versionId: claimed.id,
      filename: claimed.filename,
      source: request.body,
      totalBytes: request.contentLength,
      options: claimed.options as UploadOptions,
    });
    await db.update(datasetUploads).set({ status: 'READY' }).where(eq(datasetUploads.id, uploadId));
    return version;
  } catch (error) {
    const message = error instanceof PesoError ? error.message : 'Unexpected error.';
    await db
      .update(datasetUploads)
      .set({ status: 'FAILED', error: message })
      .where(eq(datasetUploads.id, uploadId));
    throw error;
  }
}

/**
 * HTTP handler for `PUT /uploads/<token>`. Answers 201 with the new version, or a JSON error
 * `{ error: { code, message, … } }` with a matching status; the body is streamed, never buffered.
 */
export function uploadRoute(deps: ContextDeps) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdOf(req);
    if (!allowOnly(req, res, 'PUT', requestId)) return;
    const length = Number(req.headers['content-length']);
    try {
      const version = await receiveUpload(deps, {
        token: tokenOf(req, UPLOAD_PATH),
        body: req,
        contentLength: Number.isFinite(length) && length >= 0 ? length : null,
        requestId,
      });
      sendJson(
        res,
        201,
        {
          version: {
            id: encodeGlobalID('DatasetVersion', version.id),
            datasetId: encodeGlobalID('Dataset', version.datasetId),
            number: version.number,
            rowCount: version.rowCount,
            byteSize: version.byteSize,
            checksum: version.checksum,
          },
        },
        requestId,
      );
    } catch (error) {
      sendError(res, error, requestId, deps.log);
      // Stop reading a body nobody will use.
      if (!req.complete) req.destroy();
    }
  };
}

/** Where an upload stands, for a subscriber that names its version: null when not visible. */
export async function uploadState(
  ctx: AuthedContext,
  versionId: string,
): Promise<{ datasetId: string; terminal: IngestionEvent | null } | null> {
  const [version] = await ctx.db
    .select({ version: datasetVersions })
    .from(datasetVersions)
    .where(eq(datasetVersions.id, versionId));
  if (version) {
    // A visible version: its dataset must be in the viewer's org.
    const dataset = await findDataset(ctx, version.version.datasetId).catch(() => null);
    if (!dataset) return null;
    const v = version.version;
    return {
      datasetId: dataset.id,
      terminal: {
        datasetId: dataset.id,
        versionId,
        status: 'READY',
        rows: v.rowCount,
        bytes: v.byteSize,
        totalBytes: v.byteSize,
        rowsPerSecond: 0,
        error: null,
      },
    };
  }
  // Not loaded (yet): a signed upload or batch prediction under way, or one that failed.
  const [upload] = await ctx.db
    .select()
    .from(datasetUploads)
    .where(and(eq(datasetUploads.id, versionId), eq(datasetUploads.orgId, ctx.viewer.orgId)));
  if (!upload) return null;
  // Same visibility as the dataset itself: an API key no policy names sees nothing of it.
  if (!(await findDataset(ctx, upload.datasetId).catch(() => null))) return null;
  return {
    datasetId: upload.datasetId,
    terminal:
      upload.status === 'FAILED'
        ? {
            datasetId: upload.datasetId,
            versionId,
            status: 'FAILED',
            rows: 0,
            bytes: 0,
            totalBytes: null,
            rowsPerSecond: 0,
            error: upload.error,
          }
        : null,
  };
}
