import { afterAll, describe, expect, it } from 'vitest';
import type { IngestionEvent } from '../../src/datasets/events';
import { createEventBus, type EventBus } from '../../src/events/bus';

/** Redis tests run when `TEST_REDIS_URL` names a server (CI sets it), like PostgreSQL's. */
const REDIS_URL = process.env.TEST_REDIS_URL;

function event(versionId: string): IngestionEvent {
  return {
    datasetId: 'd',
    versionId,
    status: 'LOADING',
    rows: 1,
    bytes: 2,
    totalBytes: null,
    rowsPerSecond: 3,
    error: null,
  };
}

async function next<T>(iterator: AsyncIterator<T>, ms = 5_000): Promise<T> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('no event')), ms),
  );
  return (await Promise.race([iterator.next(), timeout])).value as T;
}

describe.skipIf(!REDIS_URL)('event bus over Redis pub/sub', () => {
  const buses: EventBus[] = [];
  afterAll(async () => {
    for (const bus of buses) await bus.close();
  });

  it('delivers an event published on one bus to subscribers of another, by topic', async () => {
    const a = createEventBus(undefined, REDIS_URL);
    const b = createEventBus(undefined, REDIS_URL);
    buses.push(a, b);
    await Promise.all([a.ready, b.ready]);
    const topic = `datasetIngestion:${Math.random().toString(36).slice(2)}` as const;
    const mine = b.subscribe(topic)[Symbol.asyncIterator]();
    const other = b.subscribe('datasetIngestion:other')[Symbol.asyncIterator]();
    const first = next(mine);
    a.publish(topic, event('v1'));
    expect(await first).toEqual(event('v1'));
    const stray = next(other, 300).catch(() => 'nothing');
    expect(await stray).toBe('nothing');
    await mine.return?.();
    await other.return?.();
  });
});
