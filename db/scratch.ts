import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** A throwaway database: ephemeral PGlite, or a new PostgreSQL database next to `baseUrl`. */
export async function scratchDatabase(baseUrl: string | undefined) {
  if (!baseUrl) return { url: 'memory://', drop: async () => {} };
  const name = `peso_bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again = postgres(baseUrl, { max: 1, onnotice: () => {} });
      await again.unsafe(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}
