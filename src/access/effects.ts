/**
 * A request whose result must not be answered again from memory: it wrote the audit log, spent a
 * privacy budget, or read something unfinished. Marked by the gate and the services; read by
 * replays (src/insights/replay.ts).
 */
const UNREPEATABLE = Symbol('unrepeatable');

/** Marks the request's result as one that must not be replayed (it had an effect, or is unfinished). */
export function unrepeatable(ctx: object): void {
  (ctx as { [UNREPEATABLE]?: boolean })[UNREPEATABLE] = true;
}

export function isUnrepeatable(ctx: object): boolean {
  return (ctx as { [UNREPEATABLE]?: boolean })[UNREPEATABLE] === true;
}
