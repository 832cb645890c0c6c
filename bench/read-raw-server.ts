/**
 * The hand-written baseline of `npm run bench -- read`: node:http + postgres.js answering the
 * same read as Peso's `{ datasets(first: 10) { edges { node { id name currentVersion { rowCount
 * columns { name type } } } } } }` for an API key, with the same credential check (hash the
 * secret, look the key up by prefix, compare, refuse revoked or expired keys) and then one SQL
 * statement that builds the whole JSON answer. Prepared statements, a pool of 10 like Peso's.
 * Run as its own process: `DATABASE_URL=… tsx bench/read-raw-server.ts` prints its URL.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';

const sql = postgres(process.env.DATABASE_URL!, { max: 10, prepare: true, onnotice: () => {} });
const KEY = /^Bearer peso_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

const ANSWER = `
select json_build_object('data', json_build_object('datasets', json_build_object('edges',
  coalesce((
    select json_agg(json_build_object('node', json_build_object(
      'id', encode(convert_to('Dataset:' || d.id, 'UTF8'), 'base64'),
      'name', d.name,
      'currentVersion', (
        select json_build_object('rowCount', v.row_count, 'columns', (
          select coalesce(json_agg(json_build_object('name', c.name, 'type', c.type) order by c.position), '[]')
          from dataset_columns c where c.version_id = v.id))
        from dataset_versions v where v.dataset_id = d.id order by v.number desc limit 1)
    )) order by d.name, d.id)
    from (
      select d.* from datasets d
      where d.org_id = $1 and exists (select 1 from dataset_policies p where p.dataset_id = d.id
        and p.principal_kind = 'API_KEY' and p.principal_api_key_id = $2)
      order by d.name, d.id limit 10
    ) d
  ), '[]'))))::text as body`;

function refuse(res: import('node:http').ServerResponse, message: string) {
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] }));
}

const server = createServer(async (req, res) => {
  // The body (the GraphQL document) is read and ignored: this server answers one read only.
  for await (const _ of req);
  try {
    const match = KEY.exec(req.headers.authorization ?? '');
    if (!match) return refuse(res, 'Invalid API key.');
    const [key] = await sql<
      Array<{
        id: string;
        org_id: string;
        secret_hash: string;
        revoked_at: Date | null;
        expires_at: Date | null;
      }>
    >`select id, org_id, secret_hash, revoked_at, expires_at from api_keys where prefix = ${match[1]!}`;
    const hash = Buffer.from(createHash('sha256').update(match[2]!).digest('base64url'));
    if (
      !key ||
      hash.length !== key.secret_hash.length ||
      !timingSafeEqual(hash, Buffer.from(key.secret_hash))
    )
      return refuse(res, 'Invalid API key.');
    if (key.revoked_at) return refuse(res, 'API key revoked.');
    if (key.expires_at && key.expires_at.getTime() <= Date.now())
      return refuse(res, 'API key expired.');
    const [row] = await sql.unsafe<Array<{ body: string }>>(ANSWER, [key.org_id, key.id], {
      prepare: true,
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(row!.body);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ message: String(error) }] }));
  }
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`raw server at http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void sql.end({ timeout: 1 }).then(() => process.exit(0));
});
