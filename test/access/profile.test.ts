import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../db/client';
import { openGate } from '../../src/access/gate';
import { gatedProfile } from '../../src/access/profile';
import { resolveViewer } from '../../src/auth/viewer';
import { type AuthedContext, contextFor } from '../../src/context';
import { histogram } from '../../src/drift/statistics';
import { createLogger } from '../../src/log';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { customers, loadCustomers, SET_POLICY } from '../query/fixtures';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let viewer: Awaited<ReturnType<typeof inviteMember>>;
let datasetId: string;
const all = customers();

async function ctxOf(token: string): Promise<AuthedContext> {
  const who = await resolveViewer(server.database.db, server.config.secret, `Bearer ${token}`);
  return contextFor(
    {
      database: server.database,
      config: server.config,
      log: createLogger('silent'),
      events: server.platform.events,
      jobs: server.platform.jobs,
    },
    who,
  ) as AuthedContext;
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'profile');
  const globalId = (await loadCustomers(server, owner.token)).datasetId;
  datasetId = decodeGlobalID(globalId).id;
  viewer = await inviteMember(server, owner.token, 'VIEWER');
  const attrs = await server.gql(
    'mutation($id: ID!, $a: JSONObject!) { setMemberAttributes(membershipId: $id, attributes: $a) { __typename } }',
    { id: viewer.membershipId, a: { region: 'north' } },
    owner.token,
  );
  expect(attrs.data?.setMemberAttributes.__typename).toBe('Membership');
  const policy = await server.gql(
    SET_POLICY,
    {
      input: {
        datasetId: globalId,
        role: 'VIEWER',
        rowFilter: { column: 'region', eq: '$viewer.attributes.region' },
        columnRules: [
          { column: 'email', rule: 'PARTIAL' },
          { column: 'notes', rule: 'HIDE' },
        ],
      },
    },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
});

afterAll(() => server?.close());

describe('gatedProfile', () => {
  it('counts values and buckets in one statement, with moments', async () => {
    const ctx = await ctxOf(owner.token);
    const gate = await openGate(ctx, { datasetId });
    const edges = [0, 25, 50, 75, 100];
    const profile = await gatedProfile(ctx, gate, [
      { column: 'region' },
      { column: 'spend', edges },
      { column: 'spend' },
    ]);
    expect(profile.rows).toBe(40);
    const [region, buckets, spend] = profile.columns;
    expect(region?.values).toEqual([
      { value: 'north', count: 13 },
      { value: 'east', count: 9 },
      { value: 'south', count: 9 },
      { value: 'west', count: 9 },
    ]);
    const values = all.map((c) => c.spend);
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length);
    expect(buckets?.count).toBe(40);
    expect(buckets?.min).toBe(Math.min(...values));
    expect(buckets?.max).toBe(Math.max(...values));
    expect(Math.abs((buckets?.mean as number) - mean)).toBeLessThan(1e-9);
    expect(Math.abs((buckets?.std as number) - std)).toBeLessThan(1e-9);
    const b = buckets!.buckets!;
    expect(b.below).toBe(values.filter((v) => v < 0).length);
    for (const [k, e] of edges.entries()) {
      expect(b.at[k]).toBe(values.filter((v) => v === e).length);
      const next = edges[k + 1] ?? Infinity;
      expect(b.after[k]).toBe(values.filter((v) => v > e && v < next).length);
    }
    // The same counts make numpy's histogram (last bin closed).
    const binned = b.at.slice(0, -1).map((n, k) => n + (b.after[k] as number));
    binned[binned.length - 1] = (binned.at(-1) as number) + (b.at.at(-1) as number);
    expect(binned).toEqual(histogram(values, edges));
    expect(spend?.values?.reduce((s, v) => s + v.count, 0)).toBe(40);
    expect(spend?.truncated).toBe(false);
  });

  it("applies the viewer's row filter", async () => {
    const ctx = await ctxOf(viewer.token);
    const gate = await openGate(ctx, { datasetId });
    const profile = await gatedProfile(ctx, gate, [
      { column: 'region' },
      { column: 'spend', edges: [0, 50, 100] },
    ]);
    expect(profile.rows).toBe(13);
    expect(profile.columns[0]?.values).toEqual([{ value: 'north', count: 13 }]);
    const north = all.filter((c) => c.region === 'north').map((c) => c.spend);
    expect(profile.columns[1]?.max).toBe(Math.max(...north));
  });

  it('refuses columns the viewer does not read in clear; a hidden one is a missing one', async () => {
    const ctx = await ctxOf(viewer.token);
    const gate = await openGate(ctx, { datasetId });
    await expect(gatedProfile(ctx, gate, [{ column: 'email' }])).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(gatedProfile(ctx, gate, [{ column: 'notes' }])).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'No column named "notes".',
    });
    await expect(gatedProfile(ctx, gate, [{ column: 'nope' }])).rejects.toMatchObject({
      message: 'No column named "nope".',
    });
    await expect(
      gatedProfile(ctx, gate, [{ column: 'spend', edges: [3, 1] }]),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(
      gatedProfile(ctx, gate, [{ column: 'region', edges: [1, 2] }]),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('another org does not find the dataset', async () => {
    const other = await signUpOwner(server, 'profile-other');
    const ctx = await ctxOf(other.token);
    await expect(openGate(ctx, { datasetId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('is audited', async () => {
    const rows = await query<{ action: string; columns_read: string[]; row_count: unknown }>(
      server.database,
      `select action, columns_read, row_count from audit_events where action = 'PROFILE' order by at`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.map((r) => Number(r.row_count))).toContain(13);
  });
});
