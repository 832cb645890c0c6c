import { describe, expect, it } from 'vitest';
import { freshReads } from '../../src/access/cache';

/**
 * `freshReads` (behind the access epoch each request adopts): every caller gets a value read by
 * a read that began after its call, and concurrent callers share reads.
 */
describe('freshReads', () => {
  /** A read whose start is recorded and whose end the test decides. */
  function controlledReads() {
    const started: Array<(value: number) => void> = [];
    const read = () => new Promise<number>((resolve) => started.push(resolve));
    return { started, read };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('never answers a caller with a read that began before its call', async () => {
    const { started, read } = controlledReads();
    const fresh = freshReads(read);
    const a = fresh();
    expect(started.length).toBe(1);
    // Arrive while the first read runs: they must wait for a read that starts later.
    const b = fresh();
    const c = fresh();
    expect(started.length).toBe(1);
    started[0]!(1);
    expect(await a).toBe(1);
    await tick();
    expect(started.length).toBe(2);
    // Arrives while the second read runs: a third one is queued for it.
    const d = fresh();
    started[1]!(2);
    expect(await b).toBe(2);
    expect(await c).toBe(2);
    await tick();
    expect(started.length).toBe(3);
    started[2]!(3);
    expect(await d).toBe(3);
    // Nothing under way: a call starts its own read.
    const e = fresh();
    expect(started.length).toBe(4);
    started[3]!(4);
    expect(await e).toBe(4);
  });

  it('starts the next read even when the running one fails, and passes each failure to its callers', async () => {
    let n = 0;
    const fresh = freshReads(async () => {
      n++;
      if (n === 1) throw new Error('down');
      return n;
    });
    const a = fresh();
    const b = fresh();
    await expect(a).rejects.toThrow('down');
    expect(await b).toBe(2);
  });
});
