/**
 * The subscribers of the `fanout` benchmark, in their own process (so their work does not share
 * the server's event loop): opens N WebSockets — graphql-ws subscriptions to one run's
 * `trainingProgress`, or plain sockets of a raw broadcast — and reports, per event, when its first
 * and last copies arrived. Driven over IPC by bench/fanout.ts.
 */
import WebSocket from 'ws';

interface Setup {
  url: string;
  count: number;
  mode: 'graphql' | 'raw';
  token?: string;
  query?: string;
  variables?: Record<string, unknown>;
}

const send = (message: unknown) => process.send!(message);

/** Receipt times per event step: first, last, and how many copies came. */
const receipts = new Map<number, { first: number; last: number; copies: number }>();
/** One frame per step as received on the first socket (compared with the raw bytes). */
const samples = new Map<number, string>();

function received(text: string, index: number) {
  const now = performance.now();
  const message = JSON.parse(text) as {
    type?: string;
    payload?: { data?: { trainingProgress?: { step?: number } } };
  };
  const step = message.payload?.data?.trainingProgress?.step;
  if (typeof step !== 'number' || step < 1) return; // the current state, sent on subscribing
  let r = receipts.get(step);
  if (!r) {
    r = { first: now, last: now, copies: 0 };
    receipts.set(step, r);
  }
  r.last = now;
  r.copies++;
  if (index === 0) samples.set(step, text);
  if (r.copies === setup.count) send({ type: 'event', step, spread: r.last - r.first });
}

async function open(index: number): Promise<WebSocket> {
  const socket =
    setup.mode === 'graphql'
      ? new WebSocket(setup.url, 'graphql-transport-ws')
      : new WebSocket(setup.url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  if (setup.mode === 'raw') {
    socket.on('message', (data) => received(String(data), index));
    return socket;
  }
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const text = String(data);
      if (text.startsWith('{"type":"connection_ack"')) {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: setup.query, variables: setup.variables },
          }),
        );
        return;
      }
      if (text.includes('"type":"next"')) {
        // The first message is the run's current state: the subscription is live.
        resolve();
        received(text, index);
      } else if (!text.includes('"type":"ping"')) reject(new Error(text));
    });
    socket.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${setup.token}` },
      }),
    );
  });
  return socket;
}

let setup: Setup;
const sockets: WebSocket[] = [];
process.on('message', async (message: { type: string } & Partial<Setup>) => {
  if (message.type === 'open') {
    setup = message as Setup;
    // A few hundred handshakes at a time.
    for (let i = 0; i < setup.count; i += 200) {
      const batch = Array.from({ length: Math.min(200, setup.count - i) }, (_, j) => open(i + j));
      sockets.push(...(await Promise.all(batch)));
    }
    send({ type: 'ready' });
  } else if (message.type === 'sample') {
    send({ type: 'sample', frames: Object.fromEntries(samples) });
  } else if (message.type === 'close') {
    for (const s of sockets) s.terminate();
    process.exit(0);
  }
});
