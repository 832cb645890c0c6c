import { createPubSub } from 'graphql-yoga';
import { createClient } from 'redis';
import type { Database } from '../../db/client';
import type { IngestionEvent } from '../datasets/events';
import type { TrainingControl, TrainingEvent } from '../models/events';

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
};

/** Largest payload PostgreSQL NOTIFY carries. */
const NOTIFY_LIMIT = 7_900;
const CHANNEL = 'peso_events';

/**
 * Relays events through PostgreSQL LISTEN/NOTIFY, so a subscriber on any API process sees
 * events published by any other process or worker sharing the database.
 */
function postgresTarget(database: Extract<Database, { kind: 'postgres' }>) {
  const local = new EventTarget();
  const listening = database.sql.listen(CHANNEL, (payload) => {
    try {
      const { topic, detail } = JSON.parse(payload) as { topic: string; detail: unknown };
      local.dispatchEvent(new CustomEvent(topic, { detail }));
    } catch {
      // Not ours, or truncated: nothing to deliver.
    }
  });
  let sending: Promise<unknown> = Promise.resolve();
  const target = {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent(event: Event) {
      const { type, detail } = event as CustomEvent;
      const payload = JSON.stringify({ topic: type, detail });
      if (payload.length > NOTIFY_LIMIT) {
        // Too large to cross processes: deliver here only rather than drop it.
        return local.dispatchEvent(new CustomEvent(type, { detail }));
      }
      // One NOTIFY at a time: sent concurrently over the pool's connections they could commit,
      // and so arrive, out of order (an epoch after SUCCEEDED).
      sending = sending.then(() => database.sql.notify(CHANNEL, payload)).catch(() => {});
      return true;
    },
  };
  return {
    target,
    ready: listening.then(() => undefined),
    // Flush events still being sent (a worker's last status) before letting go.
    close: async () => {
      await sending;
      await listening.then((l) => l.unlisten());
    },
  };
}

/**
 * Relays events through Redis pub/sub (`REDIS_URL`): for many API processes, or payloads and
 * rates beyond what NOTIFY suits.
 */
function redisTarget(url: string) {
  const local = new EventTarget();
  const publisher = createClient({ url });
  const subscriber = publisher.duplicate();
  // Errors surface as failed publishes; reconnects are the client's job.
  publisher.on('error', () => {});
  subscriber.on('error', () => {});
  const ready = (async () => {
    await Promise.all([publisher.connect(), subscriber.connect()]);
    await subscriber.subscribe(CHANNEL, (payload) => {
      try {
        const { topic, detail } = JSON.parse(payload) as { topic: string; detail: unknown };
        local.dispatchEvent(new CustomEvent(topic, { detail }));
      } catch {
        // Not ours: nothing to deliver.
      }
    });
  })();
  const target = {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent(event: Event) {
      const { type, detail } = event as CustomEvent;
      void publisher.publish(CHANNEL, JSON.stringify({ topic: type, detail })).catch(() => {});
      return true;
    },
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

/**
 * The event bus: in-process by default; over Redis pub/sub when `redisUrl` is set; else over
 * PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL (several API processes and workers
 * can share it).
 */
export function createEventBus(database?: Database, redisUrl?: string) {
  if (redisUrl) {
    const relay = redisTarget(redisUrl);
    const pubsub = createPubSub<Topics>({ eventTarget: relay.target as never });
    return Object.assign(pubsub, { ready: relay.ready, close: relay.close });
  }
  if (database?.kind === 'postgres') {
    const relay = postgresTarget(database);
    const pubsub = createPubSub<Topics>({ eventTarget: relay.target as never });
    return Object.assign(pubsub, { ready: relay.ready, close: relay.close });
  }
  return Object.assign(createPubSub<Topics>(), {
    ready: Promise.resolve(),
    close: async () => {},
  });
}

export type EventBus = ReturnType<typeof createEventBus>;
