import { viewerFor } from '../auth/viewer';
import type { AuthedContext } from '../context';

/** What one subscription streams; every subscription is served by `openStream`. */
export interface StreamSpec<E> {
  /** The bus subscription (`ctx.events.subscribe(topic)`) or another source, not yet iterated. */
  source: AsyncIterable<E>;
  /** The current state, read once listening has started (so nothing falls in between); sent first unless null. */
  current?: () => Promise<E | null>;
  /** Which events of the source belong to this stream (one upload of a dataset, status changes only…). */
  accept?: (event: E) => boolean;
  /**
   * The access the stream needs, checked with the subscriber's rights as they are now: before
   * each event, and on a timer while no event comes. Throws (or returns false) when the resource
   * is no longer visible. `resource` names what is checked, so that one viewer's checks of one
   * resource are made once for all its streams. Absent: the credential alone is checked.
   */
  access?: { resource: string; check: (ctx: AuthedContext) => Promise<unknown> };
  /** The event after which the stream completes. */
  terminal?: (event: E) => boolean;
}

type Access = NonNullable<StreamSpec<unknown>['access']>;

const CREDENTIAL_ONLY: Access = { resource: 'credential', check: async () => true };

/**
 * Serves a subscription, on WebSocket and SSE alike: listens, reads the current state and sends
 * it, then each accepted event, and completes after the terminal event. Each event is re-checked
 * against the subscriber's credential and access as they are now (a revoked key, a removed or
 * demoted member, a lost policy end the stream before the event is sent), and every
 * `authRecheckMs` the same check runs while the stream waits, so a stream whose caller lost
 * access ends within that time even when no event comes. The listener is detached however the
 * stream ends.
 */
export async function openStream<E>(
  ctx: AuthedContext,
  spec: StreamSpec<E>,
): Promise<AsyncGenerator<E, void, undefined>> {
  const iterator = spec.source[Symbol.asyncIterator]();
  // The first next() attaches the listener: call it before reading the state.
  let pending = iterator.next();
  let state: E | null;
  try {
    state = spec.current ? await spec.current() : null;
  } catch (error) {
    await iterator.return?.();
    throw error;
  }
  const access = spec.access ?? CREDENTIAL_ONLY;
  const accept = spec.accept ?? (() => true);
  const terminal = spec.terminal ?? (() => false);
  let lost!: () => void;
  const revoked = new Promise<'revoked'>((resolve) => {
    lost = () => resolve('revoked');
  });
  const unwatch = watch(ctx, access, lost);
  return (async function* () {
    try {
      if (state !== null) {
        yield state;
        if (terminal(state)) return;
      }
      for (;;) {
        const next = await Promise.race([pending, revoked]);
        if (next === 'revoked' || next.done) return;
        pending = iterator.next();
        const event = next.value;
        if (!accept(event)) continue;
        if (!(await stillAllowed(ctx, access))) return;
        yield event;
        if (terminal(event)) return;
      }
    } finally {
      unwatch();
      // Not awaited: a source busy inside its own next() (a timer) returns only after it, and
      // the stream must end now.
      iterator.return?.()?.catch(() => {});
    }
  })();
}

/** Checks in flight, by viewer and resource: subscribers of one event share one check. */
const inFlight = new Map<string, Promise<boolean>>();

function keyOf(ctx: AuthedContext, access: Access): string {
  const v = ctx.viewer;
  return `${v.apiKeyId ?? v.membershipId}:${access.resource}`;
}

function stillAllowed(ctx: AuthedContext, access: Access): Promise<boolean> {
  const key = keyOf(ctx, access);
  let check = inFlight.get(key);
  if (!check) {
    check = (async () => {
      try {
        // The credential as it is now: a revoked key or removed member throws; a changed role
        // ends the stream, as it closes a WebSocket, so the caller resubscribes with its rights.
        const viewer = await viewerFor(ctx.db, ctx.viewer);
        if (viewer.orgId !== ctx.viewer.orgId || viewer.role !== ctx.viewer.role) return false;
        if (viewer.expiresAt && viewer.expiresAt.getTime() <= Date.now()) return false;
        if (ctx.viewer.expiresAt && ctx.viewer.expiresAt.getTime() <= Date.now()) return false;
        return (await access.check({ ...ctx, viewer })) !== false;
      } catch {
        // Fail closed: a check that cannot be made (database unreachable) ends the stream.
        return false;
      }
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, check);
  }
  return check;
}

interface Watched {
  ctx: AuthedContext;
  access: Access;
  lost: () => void;
}

/**
 * Open streams by recheck interval, then by viewer and resource: one timer per interval checks
 * each (viewer, resource) once and ends every stream of those that lost access.
 */
const watched = new Map<number, { timer: NodeJS.Timeout; streams: Map<string, Set<Watched>> }>();

/**
 * Ends every open stream served over `events` (the server's bus), as on shutdown: each completes
 * cleanly, so an SSE response ends and a WebSocket subscription gets `complete`.
 */
export function endStreams(events: AuthedContext['events']): void {
  for (const { streams } of watched.values())
    for (const set of streams.values()) for (const s of set) if (s.ctx.events === events) s.lost();
}

function watch(ctx: AuthedContext, access: Access, lost: () => void): () => void {
  const every = ctx.config.authRecheckMs;
  let group = watched.get(every);
  if (!group) {
    const streams = new Map<string, Set<Watched>>();
    const timer = setInterval(() => {
      for (const [key, set] of streams) {
        const first = set.values().next().value;
        if (!first) continue;
        void stillAllowed(first.ctx, first.access).then((allowed) => {
          if (allowed) return;
          for (const s of streams.get(key) ?? []) s.lost();
        });
      }
    }, every);
    timer.unref();
    group = { timer, streams };
    watched.set(every, group);
  }
  const key = keyOf(ctx, access);
  const entry: Watched = { ctx, access, lost };
  let set = group.streams.get(key);
  if (!set) {
    set = new Set();
    group.streams.set(key, set);
  }
  set.add(entry);
  const { streams } = group;
  return () => {
    set.delete(entry);
    if (set.size > 0) return;
    streams.delete(key);
    if (streams.size > 0) return;
    clearInterval(watched.get(every)!.timer);
    watched.delete(every);
  };
}
