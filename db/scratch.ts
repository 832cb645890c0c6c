import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** A throwaway database: ephemeral PGlite, or a new PostgreSQL database next to `baseUrl`. */
export async function scratchDatabase(baseUrl: string | undefined) {
  if (!baseUrl) return { url: 'memory://', drop: async () => {} };
  const name = `peso_bench_${randomBytes(6).toString('hex')}`;
  // Only DDL here: no catalog query as the connection starts (see openPostgres for why).
  const options = { max: 1, onnotice: () => {}, fetch_types: false };
  const admin = postgres(baseUrl, options);
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again = postgres(baseUrl, options);
      await again.unsafe(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}
