import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  print,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppContext } from '../context';

/** Printed documents, so that equal operations sent as separate texts group together. */
const printed = new WeakMap<DocumentNode, string>();

/**
 * The group a subscription belongs to: the same operation with the same variables under the same
 * credential, organization, role and attributes (what row policies read). Subscribers of one group see exactly the same thing, so an
 * event needs executing once for all of them. Null (never shared) without a signed-in viewer.
 */
function groupOf(args: ExecutionArgs): string | null {
  const viewer = (args.contextValue as Partial<AppContext> | undefined)?.viewer;
  if (!viewer) return null;
  let text = printed.get(args.document);
  if (text === undefined) {
    text = print(args.document);
    printed.set(args.document, text);
  }
  return JSON.stringify([
    viewer.orgId,
    viewer.apiKeyId ?? viewer.membershipId,
    viewer.role,
    viewer.attributes,
    args.operationName ?? null,
    args.variableValues ?? null,
    text,
  ]);
}

/** Per event object: its result per group, computed by the first subscriber of the group. */
const results = new WeakMap<object, Map<string, Promise<ExecutionResult> | ExecutionResult>>();

function executeShared(
  args: ExecutionArgs,
  group: string | null,
  event: unknown,
): Promise<ExecutionResult> | ExecutionResult {
  const run = () => execute({ ...args, rootValue: event }) as Promise<ExecutionResult>;
  if (group === null || event === null || typeof event !== 'object') return run();
  let byGroup = results.get(event);
  if (!byGroup) {
    byGroup = new Map();
    results.set(event, byGroup);
  }
  let result = byGroup.get(group);
  if (!result) {
    result = run();
    byGroup.set(group, result);
  }
  return result;
}

/** `source` with `map` applied to each value; returning it returns the source at once. */
function mapStream<T, U>(
  source: AsyncIterable<T>,
  map: (value: T) => Promise<U> | U,
): AsyncGenerator<U, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  const mapped = async (step: IteratorResult<T>): Promise<IteratorResult<U, void>> => {
    if (step.done) return { value: undefined, done: true };
    try {
      return { value: await map(step.value), done: false };
    } catch (error) {
      await iterator.return?.();
      throw error;
    }
  };
  return {
    next: async () => mapped(await iterator.next()),
    return: async () => {
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    throw: async (error: unknown) => {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    async [Symbol.asyncDispose]() {
      await iterator.return?.();
    },
  } as AsyncGenerator<U, void, undefined>;
}

/**
 * Executes each event of a subscription once per group of identical subscriptions (same
 * operation, variables, credential and role) rather than once per subscriber: the bus hands the
 * same event object to every subscriber of a topic, and the result is kept on it. Each
 * subscriber's own stream (`openStream`) still decides whether that subscriber gets the event —
 * its checks run before an event reaches execution. The result being the same object, its
 * serialization is shared too (`sharedPayload` in `websocket.ts`).
 */
export function useSharedSubscriptions(): Plugin {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const source = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in source)) return source;
        const group = groupOf(args);
        return mapStream(source as AsyncIterable<unknown>, (event) =>
          executeShared(args, group, event),
        );
      });
    },
  };
}
