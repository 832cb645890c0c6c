import type { IncomingMessage } from 'node:http';
import type { ExecutionResult } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';

/** Close code for a consumer that does not read fast enough: "try again later". */
export const SLOW_CONSUMER = 1013;

export interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
}

/**
 * A result's `next` payload serialized once for every subscriber it goes to: the result of one
 * event executed once per group of identical subscriptions (`useSharedSubscriptions`) is the
 * same object for each subscriber, and so is this. Returned from graphql-ws's `onNext`, it is
 * written into the message by `send` below as the same bytes for every socket.
 */
class SharedPayload {
  private json: string | null = null;
  /** Whole frames by message prefix (the subscription id), shared by sockets using that id. */
  private frames = new Map<string, Buffer>();
  constructor(private readonly result: ExecutionResult) {}

  toJSON(): string {
    serializing = this;
    return MARKER;
  }

  frame(prefix: string): Buffer {
    let frame = this.frames.get(prefix);
    if (!frame) {
      this.json ??= JSON.stringify(this.result);
      frame = Buffer.from(`${prefix}${this.json}}`);
      // Clients almost always use a handful of ids; bound the map for those that do not.
      if (this.frames.size < 16) this.frames.set(prefix, frame);
    }
    return frame;
  }
}

const MARKER = '\u0000shared-payload';
/** How the marker ends a serialized `next` message: `…"payload":"\u0000shared-payload"}`. */
const MARKER_TAIL = `"payload":${JSON.stringify(MARKER)}}`;
/** The payload whose `toJSON` ran last: the message being serialized, sent synchronously next. */
let serializing: SharedPayload | null = null;

const shared = new WeakMap<ExecutionResult, SharedPayload>();

/**
 * For graphql-ws's `onNext`: a result without errors travels as a shared payload (serialized
 * once); one with errors is left to the default path (errors are masked per subscriber).
 */
export function sharedPayload(result: ExecutionResult): ExecutionResult | undefined {
  if (result.errors?.length) return undefined;
  let payload = shared.get(result);
  if (!payload) {
    payload = new SharedPayload(result);
    shared.set(result, payload);
  }
  return payload as unknown as ExecutionResult;
}

/** The bytes to write for a message graphql-ws serialized. */
function frameOf(data: string): string | Buffer {
  const payload = serializing;
  serializing = null;
  if (!payload || !data.endsWith(MARKER_TAIL)) return data;
  return payload.frame(data.slice(0, data.length - MARKER_TAIL.length + '"payload":'.length));
}

/**
 * graphql-ws over `ws` (as graphql-ws's own `useServer`, with keep-alive pings), with bounded
 * send buffers: a message is written without waiting for the previous one to drain, so one
 * socket that reads slowly never holds back the others or its own stream's events, and a socket
 * with more than `maxBufferedBytes` still waiting to be sent is closed with 1013 and a reason
 * (its client reconnects and reads the current state again) instead of growing without end.
 */
export function serveGraphqlWs<
  P extends Record<string, unknown>,
  E extends Record<PropertyKey, unknown>,
>(
  options: ServerOptions<P, Extra & Partial<E>>,
  wss: WebSocketServer,
  limits: { maxBufferedBytes: number; keepAliveMs?: number },
) {
  const server = makeServer(options);
  const keepAlive = limits.keepAliveMs ?? 12_000;
  wss.options.handleProtocols = handleProtocols;
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.once('error', () => {
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    let pongWait: NodeJS.Timeout | null = null;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAlive);
      socket.once('pong', () => {
        if (pongWait) clearTimeout(pongWait);
        pongWait = null;
      });
      socket.ping();
    }, keepAlive);
    ping.unref();
    let dropped = false;
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data: string) => {
          const frame = frameOf(data);
          if (socket.readyState !== socket.OPEN || dropped) return;
          if (socket.bufferedAmount > limits.maxBufferedBytes) {
            dropped = true;
            // Nothing more is queued: the close frame waits behind the backlog, and `ws` cuts
            // the connection if the client has not answered it within its close timeout (30 s).
            socket.close(SLOW_CONSUMER, 'Slow consumer: too many messages waiting to be sent');
            return;
          }
          socket.send(frame, { binary: false });
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', async (event) => {
            try {
              await cb(String(event));
            } catch {
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request } as Extra & Partial<E>,
    );
    socket.once('close', (code, reason) => {
      if (pongWait) clearTimeout(pongWait);
      clearInterval(ping);
      void closed(code, String(reason));
    });
  });
  return {
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => {
        wss.close((err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
