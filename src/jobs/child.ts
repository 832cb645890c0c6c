/**
 * Entry of a pool child process: imports the task modules named on its command line, then runs
 * one task at a time, dispatching by kind, and reports progress and the outcome to its parent.
 * It never touches the database.
 */
import { pathToFileURL } from 'node:url';
import {
  type FromChild,
  serializeError,
  type TaskHandler,
  type TaskHandlers,
  type TaskKind,
  type ToChild,
} from './protocol';

// Loaded while the first message may already be on its way: the listener below waits for it.
const handlers: Promise<TaskHandlers> = (async () => {
  const all: TaskHandlers = {};
  for (const file of process.argv.slice(2)) {
    const module = (await import(pathToFileURL(file).href)) as { tasks: TaskHandlers };
    Object.assign(all, module.tasks);
  }
  return all;
})();

let cancelled = false;
let terminating = false;
let busy = false;

function send(message: FromChild): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

// SIGTERM: finish the step in progress, report, and exit; idle children exit at once.
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
  let stoppedEarly = false;
  try {
    const handler = (await handlers)[message.kind] as TaskHandler<TaskKind> | undefined;
    if (!handler) throw new Error(`No handler for task kind "${message.kind}".`);
    const output = await handler(message.input as never, {
      progress: (data) => send({ type: 'progress', data }),
      shouldStop: () => {
        if (cancelled || terminating) stoppedEarly = true;
        return cancelled || terminating;
      },
    });
    // A task cut short by SIGTERM (not by a cancel) is unfinished work: hand it back.
    if (terminating && !cancelled && stoppedEarly) await send({ type: 'interrupted' });
    else await send({ type: 'done', output });
  } catch (error) {
    await send({ type: 'error', error: serializeError(error) });
  } finally {
    busy = false;
    if (terminating) process.exit(0);
  }
});
