import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { z } from 'zod';
import type { Db } from '../../db/client';
import { llmCache } from '../../db/schema/queries';
import type { Config } from '../config';
import { PesoError } from '../errors';
import type { Logger } from '../log';

/** No `OPENAI_API_KEY`: LLM features are off until one is set. */
export class LlmNotConfiguredError extends PesoError {
  readonly code = 'LLM_NOT_CONFIGURED';
  constructor() {
    super(
      'LLM features are not configured: set OPENAI_API_KEY, and optionally OPENAI_BASE_URL to use ' +
        'any OpenAI-compatible server and OPENAI_MODEL to choose the model.',
    );
  }
}

/** The model provider could not be reached or answered with an HTTP error. */
export class LlmError extends PesoError {
  readonly code = 'LLM_UNAVAILABLE';
}

/** The model answered, but not with JSON matching the requested schema. */
export class LlmOutputError extends PesoError {
  readonly code = 'LLM_BAD_OUTPUT';
}

export interface LlmDeps {
  db: Db;
  config: Config;
  log: Logger;
}

export interface StructuredRequest<T> {
  /** Names the task: the response format's name (letters, digits, `_`, `-`; at most 64). */
  name: string;
  system: string;
  user: string;
  /** The answer's shape: a zod object whose fields are all required (`.nullable()` for absent). */
  schema: z.ZodType<T>;
}

/** What OpenAI accepts as a response format name. */
const FORMAT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Provider error text kept in logs, enough to diagnose without flooding them. */
const MAX_LOGGED_DETAIL = 500;

const clients = new WeakMap<Config, OpenAI>();

/**
 * Asks the configured model for a JSON answer in the shape of `request.schema` (strict Structured
 * Outputs) and returns it validated. Valid answers are cached in `llm_cache` by a hash of model
 * and prompt, so asking the same thing again costs no call and returns `cached: true`.
 *
 * Throws `LlmNotConfiguredError` without an API key, `LlmError` when the provider fails, and
 * `LlmOutputError` when the answer is not JSON matching the schema (nothing is cached then).
 * A schema that strict Structured Outputs cannot express (a root that is not an object, an
 * `.optional()` field) is a programming error and throws a plain `Error`.
 */
export async function completeStructured<T>(
  deps: LlmDeps,
  request: StructuredRequest<T>,
): Promise<{ value: T; cached: boolean }> {
  const { apiKey, model } = deps.config.openai;
  if (!apiKey) throw new LlmNotConfiguredError();
  if (!FORMAT_NAME.test(request.name)) {
    throw new Error(`Invalid LLM request name ${JSON.stringify(request.name)}.`);
  }
  // The SDK's converter, rather than bare z.toJSONSchema: it closes every object and rejects
  // what strict mode cannot express here, instead of letting the provider answer 400 later.
  const responseFormat = zodResponseFormat(request.schema, request.name);
  const log = deps.log.child({ llm: request.name, model });
  const promptHash = createHash('sha256')
    .update(JSON.stringify([model, request.name, request.system, request.user]))
    .digest('hex');

  const [hit] = await deps.db
    .select({ response: llmCache.response })
    .from(llmCache)
    .where(eq(llmCache.promptHash, promptHash))
    .limit(1);
  if (hit) {
    const cached = request.schema.safeParse(hit.response);
    if (cached.success) return { value: cached.data, cached: true };
    // The schema changed under the same name since this answer was stored; an entry that can
    // never validate again would otherwise turn every later call into LLM_BAD_OUTPUT.
    log.warn({ issues: issueSummary(cached.error) }, 'cached LLM answer no longer fits its schema');
    await deps.db.delete(llmCache).where(eq(llmCache.promptHash, promptHash));
  }

  let completion: OpenAI.ChatCompletion;
  try {
    completion = await clientFor(deps.config, apiKey).chat.completions.create({
      model,
      temperature: 0,
      messages: [
        { role: 'system', content: request.system },
        { role: 'user', content: request.user },
      ],
      response_format: responseFormat,
    });
  } catch (error) {
    throw unavailable(error, apiKey, log);
  }

  const choice = completion.choices[0];
  const content = choice?.message.content;
  if (!content) {
    log.warn(
      { finishReason: choice?.finish_reason, refused: Boolean(choice?.message.refusal) },
      'LLM answer was empty',
    );
    throw new LlmOutputError(`The model gave no answer for ${request.name}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    // Only the length: the content may quote the prompt's data.
    log.warn(
      { finishReason: choice.finish_reason, length: content.length },
      'LLM answer was not JSON',
    );
    throw new LlmOutputError(`The model's answer for ${request.name} was not valid JSON.`);
  }
  const parsed = request.schema.safeParse(json);
  if (!parsed.success) {
    log.warn({ issues: issueSummary(parsed.error) }, 'LLM answer did not match its schema');
    throw new LlmOutputError(
      `The model's answer for ${request.name} did not match the expected shape.`,
    );
  }

  // Two identical concurrent calls both miss and both answer; the first stored answer wins.
  await deps.db
    .insert(llmCache)
    .values({ promptHash, model, response: json })
    .onConflictDoNothing();
  return { value: parsed.data, cached: false };
}

/** One client per configuration, so its connection pool is reused across calls. */
function clientFor(config: Config, apiKey: string): OpenAI {
  let client = clients.get(config);
  if (!client) {
    client = new OpenAI({
      apiKey,
      // null, not undefined: the SDK would otherwise read OPENAI_BASE_URL from the process
      // environment, and the config is the one source of settings.
      baseURL: config.openai.baseUrl ?? null,
      maxRetries: 1,
      timeout: 30_000,
    });
    clients.set(config, client);
  }
  return client;
}

/**
 * Turns an SDK failure into an `LlmError` whose message names the cause but carries no provider
 * text (which may echo the key or the prompt); the details go to the log, key scrubbed.
 */
function unavailable(error: unknown, apiKey: string, log: Logger): unknown {
  if (!(error instanceof APIError)) return error;
  const detail = error.message.split(apiKey).join('[redacted]').slice(0, MAX_LOGGED_DETAIL);
  log.warn(
    {
      status: error.status,
      requestId: error.requestID,
      providerCode: error.code,
      providerType: error.type,
      detail,
    },
    'LLM request failed',
  );
  if (error instanceof APIConnectionTimeoutError) {
    return new LlmError('The language model provider did not answer in time; try again later.');
  }
  if (error instanceof APIConnectionError) {
    return new LlmError(
      'The language model provider could not be reached; check OPENAI_BASE_URL or try again later.',
    );
  }
  if (error.status === 401 || error.status === 403) {
    return new LlmError(
      `The language model provider refused the credentials (HTTP ${error.status}); check OPENAI_API_KEY.`,
    );
  }
  if (error.status === 429) {
    return new LlmError('The language model provider is rate limiting requests; try again later.');
  }
  return new LlmError(`The language model provider failed (HTTP ${error.status ?? 'error'}).`);
}

/** Paths and messages of failed checks; never the offending values, which may quote data. */
function issueSummary(error: z.ZodError): string[] {
  return error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
}
