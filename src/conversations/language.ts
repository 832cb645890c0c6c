import { eld } from 'eld/medium';

/**
 * ISO 639-1 code of a text's language, or null when the detector is not confident (a bare
 * "ok" could be many languages). eld's medium database handles chat-length text.
 */
export function languageOf(text: string): string | null {
  const result = eld.detect(text);
  return result.language && result.isReliable() ? result.language : null;
}
