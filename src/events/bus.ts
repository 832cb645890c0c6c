import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createPubSub } from 'graphql-yoga';
import { createClient } from 'redis';
import type { Database } from '../../db/client';
import type { ConversationEvent } from '../conversations/events';
import type { IngestionEvent } from '../datasets/events';
import type { DriftAlertEvent } from '../drift/events';
import { errorSummary, type Logger } from '../log';
import type { ModelAliasChange, TrainingControl, TrainingEvent } from '../models/events';

/**
 * Every topic, composed from the domains' event types, with per-id channels. Publish only after
 * the database write it reports.
 */
export type Topics = {
  [topic: `datasetIngestion:${string}`]: [IngestionEvent];
  [topic: `trainingProgress:${string}`]: [TrainingEvent];
  [topic: `trainingRuns:${string}`]: [TrainingEvent];
  /** `trainingControl:<runId>`: tells whichever process supervises the run to cancel it now. */
  [topic: `trainingControl:${string}`]: [TrainingControl];
  /** `driftAlerts:<orgId>`: new drift alerts of an organization (subscribers re-checked per event). */
  [topic: `driftAlerts:${string}`]: [DriftAlertEvent];
  /** `conversationEvents:<orgId>`: new messages and categorization results of an organization. */
  [topic: `conversationEvents:${string}`]: [ConversationEvent];
  /** An alias of a model changed: every process drops what it remembered of it. */
  modelAliases: [ModelAliasChange];
};

/** Largest payload PostgreSQL NOTIFY carries. */
const NOTIFY_LIMIT = 7_900;
const CHANNEL = 'peso_events';
/** How long `listening()` waits for its own NOTIFY to come back. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Relays events through PostgreSQL LISTEN/NOTIFY, so a subscriber on any API process sees
 * events published by any other process or worker sharing the database.
 */
function postgresTarget(database: Extract<Database, { kind: 'postgres' }>, log?: Logger) {
  const local = localTarget();
  /** Probes sent by `listening()` awaiting their echo, by id. */
  const probes = new Map<string, () => void>();
  const listener = database.sql.listen(CHANNEL, (payload) => {
    try {
      const message = JSON.parse(payload) as {
        topic?: string;
        topics?: string[];
        detail?: unknown;
        probe?: string;
      };
      if (message.probe) probes.get(message.probe)?.();
      else deliver(local, message);
    } catch {
      // Not ours, or truncated: nothing to deliver.
    }
  });
  let sending: Promise<unknown> = Promise.resolve();
  const send = (topics: string[], detail: unknown) => {
    const payload = JSON.stringify(
      topics.length === 1 ? { topic: topics[0], detail } : { topics, detail },
    );
    if (payload.length > NOTIFY_LIMIT) {
      // Too large to cross processes: deliver here only rather than drop it.
      deliver(local, { topics, detail });
      return;
    }
    // One NOTIFY at a time: sent concurrently over the pool's connections they could commit,
    // and so arrive, out of order (an epoch after SUCCEEDED).
    // An event that cannot be sent (the database is down) is lost, and said so: subscribers
    // read the current state again when they resubscribe.
    sending = sending
      .then(() => database.sql.notify(CHANNEL, payload))
      .catch((error: unknown) =>
        log?.warn({ topics, error: errorSummary(error) }, 'event not published'),
      );
  };
  const target = {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent(event: Event) {
      const { type, detail } = event as CustomEvent;
      send([type], detail);
      return true;
    },
    dispatchAll: send,
  };
  return {
    target,
    ready: listener.then(() => undefined),
    // The driver re-listens after a lost connection only some time after PostgreSQL is back:
    // a NOTIFY heard back is the one proof that events reach this process again.
    async listening() {
      const id = randomUUID();
      const heard = new Promise<boolean>((resolve) => {
        probes.set(id, () => resolve(true));
        setTimeout(() => resolve(false), PROBE_TIMEOUT_MS).unref();
      });
      try {
        await database.sql.notify(CHANNEL, JSON.stringify({ probe: id }));
        return await heard;
      } finally {
        probes.delete(id);
      }
    },
    // Flush events still being sent (a worker's last status) before letting go.
    close: async () => {
      await sending;
      await listener.then((l) => l.unlisten());
    },
  };
}

/**
 * Relays events through Redis pub/sub (`REDIS_URL`): for many API processes, or payloads and
 * rates beyond what NOTIFY suits.
 */
function redisTarget(url: string, log?: Logger) {
  const local = localTarget();
  // While Redis is unreachable a publish fails at once rather than waiting in the client's
  // offline queue (a backlog that would arrive late, all at once, or never).
  const publisher = createClient({ url, disableOfflineQueue: true });
  const subscriber = publisher.duplicate();
  // The clients reconnect (and the subscriber resubscribes) by themselves: losing and regaining
  // Redis is logged once each way rather than at every failed attempt.
  for (const [client, role] of [
    [publisher, 'publisher'],
    [subscriber, 'subscriber'],
  ] as const) {
    let down = false;
    client.on('error', (error: unknown) => {
      if (down) return;
      down = true;
      log?.warn({ role, error: errorSummary(error) }, 'event bus: Redis unavailable');
    });
    client.on('ready', () => {
      if (!down) return;
      down = false;
      log?.info({ role }, 'event bus: Redis reconnected');
    });
  }
  const ready = (async () => {
    await Promise.all([publisher.connect(), subscriber.connect()]);
    await subscriber.subscribe(CHANNEL, (payload) => {
      try {
        deliver(local, JSON.parse(payload));
      } catch {
        // Not ours: nothing to deliver.
      }
    });
  })();
  const send = (topics: string[], detail: unknown) => {
    const message = topics.length === 1 ? { topic: topics[0], detail } : { topics, detail };
    void publisher
      .publish(CHANNEL, JSON.stringify(message))
      .catch((error: unknown) =>
        log?.warn({ topics, error: errorSummary(error) }, 'event not published'),
      );
  };
  const target = {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent(event: Event) {
      const { type, detail } = event as CustomEvent;
      send([type], detail);
      return true;
    },
    dispatchAll: send,
  };
  return {
    target,
    ready,
    close: async () => {
      await ready.catch(() => {});
      await Promise.allSettled([subscriber.close(), publisher.close()]);
    },
  };
}

/** This process's subscribers by topic: thousands may listen to one run, none is a leak. */
function localTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}

/**
 * Hands a relayed message to this process's subscribers: one event object for every topic it
 * names, so subscribers of each topic share it (and what is derived from it per event).
 */
function deliver(
  local: EventTarget,
  message: { topic?: unknown; topics?: unknown; detail?: unknown },
) {
  const topics = Array.isArray(message.topics)
    ? message.topics
    : typeof message.topic === 'string'
      ? [message.topic]
      : [];
  for (const topic of topics)
    if (typeof topic === 'string')
      local.dispatchEvent(new CustomEvent(topic, { detail: message.detail }));
}

type Relay = { dispatchAll(topics: string[], detail: unknown): void };

/**
 * `publishAll`: one event for several topics (a run's own channel and its model's) is sent
 * across processes once — one NOTIFY or Redis message — and delivered to each topic here.
 */
function withPublishAll<P extends ReturnType<typeof createPubSub<Topics>>>(
  pubsub: P,
  relay: Relay | null,
) {
  return Object.assign(pubsub, {
    publishAll<K extends keyof Topics & string>(topics: K[], ...args: Topics[K]): void {
      if (relay) relay.dispatchAll(topics, args[0]);
      else
        for (const topic of topics)
          (pubsub.publish as (t: string, p: unknown) => void)(topic, args[0]);
    },
  });
}

/**
 * The event bus: in-process by default; over Redis pub/sub when `redisUrl` is set; else over
 * PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL (several API processes and workers
 * can share it). `log` hears of events that could not be published and of Redis coming and going.
 * `listening()` tells whether events published now reach this process's subscribers (`/ready`
 * asks it).
 */
export function createEventBus(database?: Database, redisUrl?: string, log?: Logger) {
  if (redisUrl) {
    const relay = redisTarget(redisUrl, log);
    const pubsub = withPublishAll(
      createPubSub<Topics>({ eventTarget: relay.target as never }),
      relay.target,
    );
    // Without Redis the API still answers (events are lost, and logged): it stays ready.
    return Object.assign(pubsub, { ready: relay.ready, listening: always, close: relay.close });
  }
  if (database?.kind === 'postgres') {
    const relay = postgresTarget(database, log);
    const pubsub = withPublishAll(
      createPubSub<Topics>({ eventTarget: relay.target as never }),
      relay.target,
    );
    return Object.assign(pubsub, {
      ready: relay.ready,
      listening: relay.listening,
      close: relay.close,
    });
  }
  return Object.assign(withPublishAll(createPubSub<Topics>({ eventTarget: localTarget() }), null), {
    ready: Promise.resolve(),
    listening: always,
    close: async () => {},
  });
}

const always = async () => true;

export type EventBus = ReturnType<typeof createEventBus>;
