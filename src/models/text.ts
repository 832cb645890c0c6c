/**
 * Hashed text features: a text becomes a fixed-width vector from its words, word bigrams and the
 * character trigrams of its words (which carry inflections and short multilingual text), each
 * hashed into one of `buckets` slots with a sign (collisions cancel rather than add up),
 * weighted by 1 + log(count) and L2-normalised. Pure and deterministic: the same function runs
 * when a model trains and when it predicts, so nothing but the bucket count is stored.
 */

/** Slots of a hashed text feature (2^12). */
export const TEXT_BUCKETS = 4096;

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;

/** FNV-1a, 32-bit, over the UTF-16 code units of `s`. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The words of a text: lowercased, with compatibility forms folded (NFKC). */
export function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** The terms a text is counted by: `w:word`, `b:word word` and `c:tri` (words padded with `_`). */
export function terms(text: string): string[] {
  const list = words(text);
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const word = list[i]!;
    out.push(`w:${word}`);
    if (i + 1 < list.length) out.push(`b:${word} ${list[i + 1]}`);
    const padded = `_${word}_`;
    for (let j = 0; j + 3 <= padded.length; j++) out.push(`c:${padded.slice(j, j + 3)}`);
  }
  return out;
}

/**
 * Writes the hashed vector of `text` into `out` from `offset` (`buckets` slots, expected zero).
 * An empty or missing text leaves them zero.
 */
export function hashText(text: string, buckets: number, out: Float32Array, offset: number): void {
  const counts = new Map<string, number>();
  for (const term of terms(text)) counts.set(term, (counts.get(term) ?? 0) + 1);
  const slots = new Map<number, number>();
  for (const [term, n] of counts) {
    const h = fnv1a(term);
    // The slot from the hash modulo the width, the sign from its top bit.
    const index = h % buckets;
    const sign = h >>> 31 ? -1 : 1;
    slots.set(index, (slots.get(index) ?? 0) + sign * (1 + Math.log(n)));
  }
  let norm = 0;
  for (const v of slots.values()) norm += v * v;
  if (norm === 0) return;
  const scale = 1 / Math.sqrt(norm);
  for (const [index, v] of slots) out[offset + index] = v * scale;
}
