import { viewerFor } from '../auth/viewer';
import type { AuthedContext } from '../context';

/** What one subscription streams; every subscription is served by `openStream`. */
export interface StreamSpec<E> {
  /** The bus subscription, not yet iterated (`ctx.events.subscribe(topic)`). */
  source: AsyncIterable<E>;
  /** The current state, read once listening has started (so nothing falls in between); sent first unless null. */
  current?: () => Promise<E | null>;
  /** Which events of the topic belong to this stream (one upload of a dataset, status changes only…). */
  accept?: (event: E) => boolean;
  /**
   * The access an event needs, checked for each event with the subscriber's rights as they are
   * now: throws (or returns false) when the resource is no longer visible. `resource` names what
   * is checked, so that concurrent checks of one viewer for one resource run once.
   */
  access: { resource: string; check: (ctx: AuthedContext) => Promise<unknown> };
  /** The event after which the stream completes. */
  terminal?: (event: E) => boolean;
}

/**
 * Serves a subscription: listens, reads the current state and sends it, then each accepted
 * event — each re-checked against the subscriber's current credential and access (a revoked
 * key, a removed member, a lost policy end the stream before the event is sent) — and completes
 * after the terminal event. The listener is detached however the stream ends.
 */
export async function openStream<E>(
  ctx: AuthedContext,
  spec: StreamSpec<E>,
): Promise<AsyncGenerator<E, void, undefined>> {
  const iterator = spec.source[Symbol.asyncIterator]();
  // The first next() attaches the listener: call it before reading the state.
  const first = iterator.next();
  let state: E | null;
  try {
    state = spec.current ? await spec.current() : null;
  } catch (error) {
    await iterator.return?.();
    throw error;
  }
  const accept = spec.accept ?? (() => true);
  const terminal = spec.terminal ?? (() => false);
  return (async function* () {
    try {
      if (state !== null) {
        yield state;
        if (terminal(state)) return;
      }
      for (let next = await first; !next.done; next = await iterator.next()) {
        const event = next.value;
        if (!accept(event)) continue;
        if (!(await stillAllowed(ctx, spec.access))) return;
        yield event;
        if (terminal(event)) return;
      }
    } finally {
      await iterator.return?.();
    }
  })();
}

/** Checks in flight, by viewer and resource: subscribers of one event share one check. */
const inFlight = new Map<string, Promise<boolean>>();

function stillAllowed(ctx: AuthedContext, access: StreamSpec<unknown>['access']): Promise<boolean> {
  const v = ctx.viewer;
  const key = `${v.apiKeyId ?? v.membershipId}:${access.resource}`;
  let check = inFlight.get(key);
  if (!check) {
    check = (async () => {
      try {
        // The credential as it is now: revoked, removed or demoted callers see what they may now.
        const viewer = await viewerFor(ctx.db, v);
        if (viewer.orgId !== v.orgId) return false;
        return (await access.check({ ...ctx, viewer })) !== false;
      } catch {
        return false;
      }
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, check);
  }
  return check;
}
