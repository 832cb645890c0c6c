import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** API keys look like `peso_<prefix>_<secret>`: the prefix finds the row, the secret proves it. */
const PATTERN = /^peso_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function isApiKeyFormat(credential: string): boolean {
  return credential.startsWith('peso_');
}

export function generateApiKey(): { key: string; prefix: string; secretHash: string } {
  const bytes = randomBytes(12);
  const prefix = Array.from(bytes, (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');
  const secret = randomBytes(32).toString('base64url');
  return { key: `peso_${prefix}_${secret}`, prefix, secretHash: hashSecret(secret) };
}

export function parseApiKey(key: string): { prefix: string; secret: string } | null {
  const match = PATTERN.exec(key);
  return match ? { prefix: match[1]!, secret: match[2]! } : null;
}

/** SHA-256 suffices: the secret has 256 bits of entropy, so there is nothing to brute-force. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret));
  const b = Buffer.from(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}
