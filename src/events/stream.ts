import type { AuthedContext } from '../context';
import { PesoError } from '../errors';
import { standingOf } from './recheck';

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
  /**
   * For streams whose events concern different resources (every alert of an org): what one
   * event needs, checked like `access` before it is sent. An event the subscriber may not see
   * is skipped; the stream goes on.
   */
  eventAccess?: (event: E) => Access;
  /** The event after which the stream completes. */
  terminal?: (event: E) => boolean;
}

type Access = { resource: string; check: (ctx: AuthedContext) => Promise<unknown> };

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
  // What the stream waits on can be cut short by a denial or a shutdown. Racing each wait with
  // one long-lived promise would leave a reaction on it per wait (per event, for the stream's
  // life): instead the wait in progress is the one thing a denial wakes.
  let isRevoked = false;
  let interrupt: ((value: 'revoked') => void) | null = null;
  const lost = () => {
    isRevoked = true;
    interrupt?.('revoked');
  };
  const orRevoked = <T>(wait: Promise<T>): Promise<T | 'revoked'> =>
    isRevoked
      ? Promise.resolve('revoked')
      : new Promise<T | 'revoked'>((resolve, reject) => {
          interrupt = resolve;
          wait.then(resolve, reject);
        });
  const unwatch = watch(ctx, access, lost);
  return (async function* () {
    try {
      if (state !== null) {
        yield state;
        if (terminal(state)) return;
      }
      for (;;) {
        const next = await orRevoked(pending);
        if (next === 'revoked' || next.done) return;
        pending = iterator.next();
        const event = next.value;
        if (!accept(event)) continue;
        // A shutdown or a denial found by the timer ends a stream whose event is still waiting.
        if ((await orRevoked(checkEvent(ctx, access))) !== 'allowed') return;
        if (spec.eventAccess) {
          const verdict = await orRevoked(checkEvent(ctx, spec.eventAccess(event)));
          if (verdict === 'denied') continue;
          if (verdict !== 'allowed') return;
        }
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

/** Per event object, what was derived from it once per viewer and purpose (`perViewer`). */
const derived = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * Something a subscription derives from an event with the viewer's rights (whether its outputs
 * may be shown…), computed once per viewer for all its subscribers of that event: the bus hands
 * every subscriber of a topic the same event object, so the result is kept on it and goes with it.
 * `purpose` names what is computed; the viewer is the subscription's credential and role.
 */
export function perViewer<T>(
  ctx: AuthedContext,
  event: object,
  purpose: string,
  compute: () => Promise<T>,
): Promise<T> {
  let byKey = derived.get(event);
  if (!byKey) {
    byKey = new Map();
    derived.set(event, byKey);
  }
  const v = ctx.viewer;
  const key = JSON.stringify([
    v.orgId,
    v.apiKeyId ?? v.membershipId,
    v.role,
    v.attributes,
    purpose,
  ]);
  let result = byKey.get(key) as Promise<T> | undefined;
  if (!result) {
    result = compute();
    byKey.set(key, result);
    // A failure is not kept: the next subscriber asks again.
    result.catch(() => byKey.delete(key));
  }
  return result;
}

/** What a check found: access, no access, or no answer (the database is unreachable). */
type Verdict = 'allowed' | 'denied' | 'unknown';

/** Checks in flight, by viewer and resource: subscribers of one event share one check. */
const inFlight = new Map<string, Promise<Verdict>>();

function keyOf(ctx: AuthedContext, access: Access): string {
  const v = ctx.viewer;
  return `${v.apiKeyId ?? v.membershipId}:${access.resource}`;
}

function check(ctx: AuthedContext, access: Access): Promise<Verdict> {
  const key = keyOf(ctx, access);
  let verdict = inFlight.get(key);
  if (!verdict) {
    verdict = (async (): Promise<Verdict> => {
      try {
        // The credential as it is now: a revoked key or removed member throws; a changed role
        // ends the stream, as it closes a WebSocket, so the caller resubscribes with its rights.
        // Looked up with every other check of this turn (all viewers of one event, every
        // stream on the timer) in one statement.
        const standing = await standingOf(ctx.database, ctx.viewer);
        if ('denied' in standing) return 'denied';
        const { viewer } = standing;
        if (viewer.orgId !== ctx.viewer.orgId || viewer.role !== ctx.viewer.role) return 'denied';
        if (viewer.expiresAt && viewer.expiresAt.getTime() <= Date.now()) return 'denied';
        if (ctx.viewer.expiresAt && ctx.viewer.expiresAt.getTime() <= Date.now()) return 'denied';
        return (await access.check({ ...ctx, viewer })) === false ? 'denied' : 'allowed';
      } catch (error) {
        // Not found, forbidden, unauthenticated: a denial. Anything else: no answer.
        return error instanceof PesoError ? 'denied' : 'unknown';
      }
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, verdict);
  }
  return verdict;
}

/**
 * How long an event whose check has no answer waits before it is dropped with its stream: long
 * enough for PostgreSQL to restart or fail over, so the stream resumes after it. The pause
 * between tries grows to a cap.
 */
const EVENT_CHECK_WAIT_MS = 30_000;
const EVENT_CHECK_PAUSE_MS = 200;
const EVENT_CHECK_MAX_PAUSE_MS = 2_000;

/**
 * The check before an event is sent: an event is never sent unchecked, so while the database
 * gives no answer the event waits; if none comes in time the stream ends (fail closed).
 */
async function checkEvent(ctx: AuthedContext, access: Access): Promise<Verdict> {
  const deadline = Date.now() + EVENT_CHECK_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    const verdict = await check(ctx, access);
    if (verdict !== 'unknown' || Date.now() >= deadline) return verdict;
    const pause = Math.min(EVENT_CHECK_PAUSE_MS * attempt, EVENT_CHECK_MAX_PAUSE_MS);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
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
        // Only a denial ends streams here: a database outage leaves them open, to resume.
        void check(first.ctx, first.access).then((verdict) => {
          if (verdict !== 'denied') return;
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
