import { randomUUID } from 'node:crypto';
import { initContextCache } from '@pothos/core';
import type { Database, Db } from '../db/client';
import { resolveViewer, type Viewer } from './auth/viewer';
import type { Config } from './config';
import type { EventBus } from './events/bus';
import type { Logger } from './log';

/** What every service receives: the database, configuration, a logger and the caller. */
export interface AppContext {
  db: Db;
  database: Database;
  config: Config;
  log: Logger;
  viewer: Viewer | null;
  requestId: string;
  events: EventBus;
}

/** A context whose viewer is known to be signed in (what scope-auth's `withAuth` guarantees). */
export type AuthedContext = AppContext & { viewer: Viewer };

export interface ContextDeps {
  database: Database;
  config: Config;
  log: Logger;
  events: EventBus;
}

/**
 * Builds the per-request context used by HTTP and graphql-ws alike. The viewer is loaded once;
 * `initContextCache()` gives every request its own dataloaders.
 */
export async function createContext(
  deps: ContextDeps,
  request: { authorization: string | null | undefined; requestId?: string | null },
): Promise<AppContext> {
  const requestId = request.requestId?.slice(0, 100) || randomUUID();
  const viewer = await resolveViewer(deps.database.db, deps.config.secret, request.authorization);
  return {
    ...initContextCache(),
    db: deps.database.db,
    database: deps.database,
    config: deps.config,
    log: deps.log.child({ requestId }),
    viewer,
    requestId,
    events: deps.events,
  };
}
