/**
 * Entry of a training child process: receives one `train` message at a time, trains, and
 * reports epochs and the result to its parent. It never touches the database.
 */
import { initBackend } from '../models/backend';
import { train } from '../models/train';
import { FeatureError } from '../models/types';
import type { FromChild, ToChild } from './protocol';

let cancelled = false;
let terminating = false;
let busy = false;

function send(message: FromChild): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

// SIGTERM: finish the epoch in progress, report, and exit; idle children exit at once.
process.on('SIGTERM', () => {
  terminating = true;
  if (!busy) process.exit(0);
});
process.on('disconnect', () => process.exit(0));

process.on('message', async (message: ToChild) => {
  if (message.type === 'cancel') {
    cancelled = true;
    return;
  }
  busy = true;
  cancelled = false;
  try {
    const { backend, device } = await initBackend(message.backend as never);
    await send({ type: 'started', backend, device });
    const output = await train(message.data, message.config, {
      onEpoch: (event) => send({ type: 'epoch', event }),
      shouldStop: () => cancelled || terminating,
    });
    if (terminating && !cancelled) await send({ type: 'interrupted' });
    else await send({ type: 'done', output });
  } catch (error) {
    await send({
      type: 'error',
      name: error instanceof Error ? error.name : 'Error',
      message: error instanceof Error ? error.message : String(error),
      feature: error instanceof FeatureError ? error.feature : null,
    });
  } finally {
    busy = false;
    if (terminating) process.exit(0);
  }
});
