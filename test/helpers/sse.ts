/**
 * A GraphQL-over-SSE subscriber (the distinct-connections mode graphql-yoga serves): POSTs the
 * operation with `accept: text/event-stream` and collects each `next` payload until the server
 * sends `complete` or closes the stream.
 */
export function sseSubscribe<T = any>(
  graphqlUrl: string,
  query: string,
  variables: Record<string, unknown>,
  auth: string,
) {
  const events: T[] = [];
  const controller = new AbortController();
  const done = (async () => {
    let response: Response;
    try {
      response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${auth}`,
        },
        body: JSON.stringify({ query, variables }),
        signal: controller.signal,
      });
    } catch (error) {
      // Closed by the test before the server answered: a stream that simply ended.
      if (controller.signal.aborted) return;
      throw error;
    }
    if (!response.body) throw new Error(`no event stream (HTTP ${response.status})`);
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = response.body.getReader();
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = message.split('\n');
          const event = lines
            .find((l) => l.startsWith('event:'))
            ?.slice(6)
            .trim();
          const data = lines
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (event === 'complete') return;
          if (data) events.push(JSON.parse(data) as T);
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  return {
    events,
    done,
    /** Ends the stream from the client's side (`done` then resolves). */
    close: () => controller.abort(),
  };
}
