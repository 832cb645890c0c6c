import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The parts of a chat completion request the tests look at; the rest stays in the object. */
export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  response_format?: unknown;
  [key: string]: unknown;
}

/** A string is the assistant's content; an object is sent as-is as an HTTP error answer. */
export type ChatReply = string | { status: number; body: unknown };

export interface OpenAiServer {
  /** What to give the client as its base URL, e.g. `http://127.0.0.1:1234/v1`. */
  baseUrl: string;
  /** Every chat completion request body received, in order. */
  requests: ChatRequest[];
  close(): Promise<void>;
}

/**
 * Starts an OpenAI-compatible server on a random local port that answers
 * `POST /v1/chat/completions` with whatever `handler` returns, in the OpenAI wire format, so
 * tests run the real SDK over real HTTP. Requests without a Bearer credential get a 401.
 */
export async function startOpenAiServer(
  handler: (request: ChatRequest) => ChatReply | Promise<ChatReply>,
): Promise<OpenAiServer> {
  const requests: ChatRequest[] = [];

  const server = createServer((req, res) => {
    answer(req, res).catch((error: unknown) => {
      sendError(res, 500, String(error), 'server_error');
    });
  });

  async function answer(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      sendError(res, 404, `Unknown request URL: ${req.method} ${req.url}`, 'invalid_request_error');
      return;
    }
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) {
      sendError(res, 401, 'You did not provide an API key.', 'invalid_request_error');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
    requests.push(request);

    const reply = await handler(request);
    if (typeof reply !== 'string') {
      send(res, reply.status, reply.body);
      return;
    }
    const promptTokens = request.messages.reduce((n, m) => n + m.content.length, 0);
    send(res, 200, {
      id: `chatcmpl-${randomBytes(12).toString('hex')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      // Characters, not tokens: the tests need the field's shape, not a tokenizer.
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: reply.length,
        total_tokens: promptTokens + reply.length,
      },
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // The SDK keeps connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, message: string, type: string) {
  send(res, status, { error: { message, type, param: null, code: null } });
}
