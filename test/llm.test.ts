import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type Database, openDatabase } from '../db/client';
import { llmCache } from '../db/schema/queries';
import { scratchDatabase } from '../db/scratch';
import { type Config, loadConfig } from '../src/config';
import {
  completeStructured,
  LlmError,
  LlmNotConfiguredError,
  LlmOutputError,
} from '../src/llm/client';
import {
  type ChatReply,
  type ChatRequest,
  type OpenAiServer,
  startOpenAiServer,
} from './helpers/openai-server';

/**
 * The real OpenAI SDK, through `completeStructured`, against a local OpenAI-compatible server
 * and a real database (PGlite, or PostgreSQL with TEST_DATABASE_URL).
 */
const API_KEY = `sk-test-${randomBytes(16).toString('hex')}`;
const MODEL = 'peso-test-model';
const SYSTEM = 'You summarize datasets. Answer in JSON.';
const USER = 'Summarize the dataset "penguins" (344 rows).';

const summarySchema = z.object({
  title: z.string(),
  score: z.number().min(0).max(1),
  tags: z.array(z.string()),
});
const GOOD_ANSWER = { title: 'Penguins', score: 0.75, tags: ['biology', 'antarctica'] };

let openai: OpenAiServer;
let reply: (request: ChatRequest) => ChatReply;
let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let database: Database;
let config: Config;
const logLines: string[] = [];
const log = pino({ level: 'warn' }, { write: (line: string) => logLines.push(line) });

function configWith(env: Record<string, string>): Config {
  return loadConfig({
    DATABASE_URL: scratch.url,
    PESO_SECRET: randomBytes(32).toString('base64url'),
    OPENAI_BASE_URL: openai.baseUrl,
    OPENAI_MODEL: MODEL,
    ...env,
  });
}

function summarize(overrides: { config?: Config; user?: string; schema?: z.ZodType<any> } = {}) {
  return completeStructured(
    { db: database.db, config: overrides.config ?? config, log },
    {
      name: 'dataset_summary',
      system: SYSTEM,
      user: overrides.user ?? USER,
      schema: overrides.schema ?? summarySchema,
    },
  );
}

async function cachedRows() {
  return database.db.select().from(llmCache);
}

beforeAll(async () => {
  openai = await startOpenAiServer((request) => reply(request));
  scratch = await scratchDatabase(process.env.TEST_DATABASE_URL);
  config = configWith({ OPENAI_API_KEY: API_KEY });
  database = await openDatabase(config.database);
});

afterAll(async () => {
  await openai?.close();
  await database?.close();
  await scratch?.drop();
});

beforeEach(async () => {
  await database.db.delete(llmCache);
  openai.requests.length = 0;
  logLines.length = 0;
  reply = () => JSON.stringify(GOOD_ANSWER);
});

describe('completeStructured', () => {
  it('returns the validated, typed answer', async () => {
    const result = await completeStructured(
      { db: database.db, config, log },
      { name: 'dataset_summary', system: SYSTEM, user: USER, schema: summarySchema },
    );
    expect(result).toEqual({ value: GOOD_ANSWER, cached: false });
    expectTypeOf(result.value).toEqualTypeOf<{ title: string; score: number; tags: string[] }>();
  });

  it('sends the model, both messages and a strict json_schema response format', async () => {
    await summarize();
    expect(openai.requests).toHaveLength(1);
    const request = openai.requests[0]!;
    expect(request.model).toBe(MODEL);
    expect(request.temperature).toBe(0);
    expect(request.messages).toEqual([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: USER },
    ]);
    expect(request.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: {
        name: 'dataset_summary',
        strict: true,
        schema: {
          type: 'object',
          properties: {
            title: { type: 'string' },
            score: { type: 'number' },
            tags: { type: 'array', items: { type: 'string' } },
          },
          required: ['title', 'score', 'tags'],
          additionalProperties: false,
        },
      },
    });
  });

  it('serves the same prompt again from the cache without a request', async () => {
    await summarize();
    const again = await summarize();
    expect(again).toEqual({ value: GOOD_ANSWER, cached: true });
    expect(openai.requests).toHaveLength(1);
    const rows = await cachedRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ model: MODEL, response: GOOD_ANSWER });
    expect(rows[0]!.promptHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('asks again for a different prompt or model', async () => {
    await summarize();
    const otherPrompt = await summarize({ user: 'Summarize the dataset "cars" (406 rows).' });
    expect(otherPrompt.cached).toBe(false);
    const otherModel = await summarize({
      config: configWith({ OPENAI_API_KEY: API_KEY, OPENAI_MODEL: 'other-model' }),
    });
    expect(otherModel.cached).toBe(false);
    expect(openai.requests.map((r) => r.model)).toEqual([MODEL, MODEL, 'other-model']);
    expect(await cachedRows()).toHaveLength(3);
  });

  it('asks again when a cached answer no longer fits the schema', async () => {
    await summarize();
    const widened = summarySchema.extend({ language: z.string() });
    reply = () => JSON.stringify({ ...GOOD_ANSWER, language: 'en' });
    const result = await summarize({ schema: widened });
    expect(result).toEqual({ value: { ...GOOD_ANSWER, language: 'en' }, cached: false });
    expect(openai.requests).toHaveLength(2);
    expect(await summarize({ schema: widened })).toMatchObject({ cached: true });
  });

  it('fails with LLM_NOT_CONFIGURED and no request without an API key', async () => {
    const unconfigured = configWith({});
    expect(unconfigured.openai.apiKey).toBeUndefined();
    const error = await summarize({ config: unconfigured }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmNotConfiguredError);
    expect(error).toMatchObject({ code: 'LLM_NOT_CONFIGURED' });
    expect((error as Error).message).toContain('OPENAI_API_KEY');
    expect(openai.requests).toHaveLength(0);
  });

  it('fails with LLM_BAD_OUTPUT on content that is not JSON, and caches nothing', async () => {
    reply = () => 'Sure! Here is your summary: penguins are great.';
    const error = await summarize().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmOutputError);
    expect(error).toMatchObject({ code: 'LLM_BAD_OUTPUT' });
    expect(await cachedRows()).toHaveLength(0);

    reply = () => JSON.stringify(GOOD_ANSWER);
    expect(await summarize()).toMatchObject({ cached: false });
    expect(openai.requests).toHaveLength(2);
  });

  it('fails with LLM_BAD_OUTPUT on JSON that breaks the schema, and caches nothing', async () => {
    reply = () => JSON.stringify({ title: 'Penguins', score: 7, tags: 'biology' });
    const error = await summarize().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmOutputError);
    expect(error).toMatchObject({ code: 'LLM_BAD_OUTPUT' });
    expect(await cachedRows()).toHaveLength(0);
    expect(logLines.join('')).toContain('score');
  });

  // The provider's error body echoes the key and the prompt, as a hostile or careless
  // OpenAI-compatible server might; neither may reach the error a client reads.
  const leakyBody = (request: ChatRequest) => ({
    error: {
      message: `key ${API_KEY} rejected for prompt ${request.messages[1]!.content}`,
      type: 'server_error',
      param: null,
      code: null,
    },
  });

  it('fails with LLM_UNAVAILABLE on HTTP 500, after one retry, without leaking', async () => {
    reply = (request) => ({ status: 500, body: leakyBody(request) });
    const error = await summarize().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect(error).toMatchObject({ code: 'LLM_UNAVAILABLE' });
    const message = (error as Error).message;
    expect(message).toContain('500');
    expect(message).not.toContain(API_KEY);
    expect(message).not.toContain(USER);
    expect(message).not.toContain('rejected for prompt');
    expect(openai.requests).toHaveLength(2);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(API_KEY);
    expect(await cachedRows()).toHaveLength(0);
  });

  it('fails with LLM_UNAVAILABLE on HTTP 401, without retrying or leaking', async () => {
    reply = (request) => ({ status: 401, body: leakyBody(request) });
    const error = await summarize().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect(error).toMatchObject({ code: 'LLM_UNAVAILABLE' });
    const message = (error as Error).message;
    expect(message).toContain('OPENAI_API_KEY');
    expect(message).not.toContain(API_KEY);
    expect(message).not.toContain(USER);
    expect(openai.requests).toHaveLength(1);
    expect(logLines.join('')).not.toContain(API_KEY);
  });

  it('fails with LLM_UNAVAILABLE when the provider cannot be reached', async () => {
    const gone = await startOpenAiServer(() => '{}');
    await gone.close();
    const error = await summarize({
      config: { ...config, openai: { ...config.openai, baseUrl: gone.baseUrl } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect(error).toMatchObject({ code: 'LLM_UNAVAILABLE' });
    expect((error as Error).message).toContain('OPENAI_BASE_URL');
  });

  it('refuses a schema strict Structured Outputs cannot express before any request', async () => {
    const optionalField = z.object({ title: z.string(), note: z.string().optional() });
    await expect(summarize({ schema: optionalField })).rejects.toThrow(/optional/);
    expect(openai.requests).toHaveLength(0);
  });
});

describe('the local OpenAI-compatible server', () => {
  it('answers 401 in the OpenAI error format without a Bearer credential', async () => {
    const response = await fetch(`${openai.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [] }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(openai.requests).toHaveLength(0);
  });
});
