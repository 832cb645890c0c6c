import { randomUUID } from 'node:crypto';
import { initContextCache } from '@pothos/core';
import type { Database, Db } from '../db/client';
import { adoptEpoch, bindAccessCache, markSynced } from './access/cache';
import { resolveViewer, type Viewer } from './auth/viewer';
import type { Config } from './config';
import type { EventBus } from './events/bus';
import type { JobQueue } from './jobs/queue';
import type { RateLimiter } from './limits/rate-limit';
import type { Logger } from './log';

/** What every service receives: the database, configuration, a logger and the caller. */
export interface AppContext {
  db: Db;
  database: Database;
  config: Config;
  log: Logger;
  viewer: Viewer | null;
  requestId: string;
  /** Base URL of this server as the caller reached it, for links it hands out. */
  origin: string;
  events: EventBus;
  jobs: JobQueue;
  /** The client's address and the rate limiter, on requests the API serves (not in jobs). */
  address?: string | null;
  limiter?: RateLimiter;
}

/** A context whose viewer is known to be signed in (what scope-auth's `withAuth` guarantees). */
export type AuthedContext = AppContext & { viewer: Viewer };

export interface ContextDeps {
  database: Database;
  config: Config;
  log: Logger;
  events: EventBus;
  jobs: JobQueue;
}

/**
 * Builds the per-request context used by HTTP and graphql-ws alike. The viewer is loaded once;
 * `initContextCache()` gives every request its own dataloaders.
 */
export async function createContext(
  deps: ContextDeps,
  request: {
    authorization: string | null | undefined;
    requestId?: string | null;
    origin?: string | null;
    /** The access epoch read at the start of the request, with its address count. */
    epoch?: number | null;
  },
): Promise<AppContext> {
  const cache = bindAccessCache(deps.database, deps.events);
  const epoch = request.epoch ?? null;
  if (epoch !== null) adoptEpoch(cache, epoch);
  const viewer = await resolveViewer(
    deps.database.db,
    deps.config.secret,
    request.authorization,
    epoch !== null,
  );
  const context = contextFor(deps, viewer, request.requestId, request.origin);
  // The access caches are at the database's epoch once the request has read it (src/access/
  // cache.ts): with its address count, or to look an API key up; other requests read it on their
  // first use of them.
  if (epoch !== null || viewer?.kind === 'API_KEY') markSynced(context);
  return context;
}

/** A context for a caller already known, e.g. the one who signed an upload URL. */
export function contextFor(
  deps: ContextDeps,
  viewer: Viewer | null,
  requestId?: string | null,
  origin?: string | null,
): AppContext {
  const id = requestId?.slice(0, 100) || randomUUID();
  return {
    ...initContextCache(),
    db: deps.database.db,
    database: deps.database,
    config: deps.config,
    log: deps.log.child({ requestId: id }),
    viewer,
    requestId: id,
    origin: deps.config.publicUrl ?? origin ?? `http://localhost:${deps.config.port}`,
    events: deps.events,
    jobs: deps.jobs,
  };
}
