import { readFile } from 'node:fs/promises';
import { print } from 'graphql';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DashboardDriftAlertsDocument,
  type DashboardDriftAlertsQuery,
  DashboardRunSeriesDocument,
  type DashboardRunSeriesQuery,
} from '../../dashboard/generated/graphql';
import { chromiumAvailable, launchBrowser, type TestBrowser } from '../helpers/browser';
import { createApiKey, signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { customers, customersCsv, loadCustomers, SET_POLICY } from '../query/fixtures';

/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a real
 * server with a worker: what a person sees, live over graphql-ws, under the viewer's access.
 * Screenshots go to test-artifacts/.
 */

const CREATE_MONITOR = `mutation($input: DriftMonitorInput!) { createDriftMonitor(input: $input) {
  __typename ... on DriftMonitor { id } ... on Error { code message } } }`;
// The dashboard's own typed documents (codegen), as the page sends them.
const OPEN_ALERTS = print(DashboardDriftAlertsDocument);
const RUN_SERIES = print(DashboardRunSeriesDocument);
const HISTORY = `query($id: ID!) { trainingRun(id: $id) { status config history } }`;

let server: TestServer;
let browser: TestBrowser;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let viewerKey: string;
let viewerKeyId: string;
let keyPage: Page;
let datasetId: string;
let ownerPage: Page;

async function signIn(page: Page, credentials: { email: string; password: string } | string) {
  await page.goto(`${server.url}/dashboard`);
  if (typeof credentials === 'string') {
    await page.getByRole('tab', { name: 'API key' }).click();
    await page.fill('input[name=apiKey]', credentials);
  } else {
    await page.fill('input[name=email]', credentials.email);
    await page.fill('input[name=password]', credentials.password);
  }
  await page.click('[data-testid=signin] button[type=submit]');
  await page.waitForSelector('[data-testid=viewer]');
}

/** Clicks `button` and reads the file it downloads. */
async function downloaded(page: Page, click: () => Promise<void>) {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), bytes: await readFile((await download.path())!) };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const attribute = (page: Page, selector: string, name: string) =>
  page.locator(selector).first().getAttribute(name);

/** The customers with spend tripled and every row moved to one region: a real shift. */
const shiftedCsv = () =>
  customersCsv(customers().map((c) => ({ ...c, spend: c.spend * 3 + 40, region: 'east' })));

beforeAll(async () => {
  if (!chromiumAvailable) return;
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'dashboard');
  ({ datasetId } = await loadCustomers(server, owner.token));
  // A second dataset the viewer's key is given no policy on: it must not appear for the key.
  await loadCustomers(server, owner.token, 'unlisted');
  const monitor = await server.gql(
    CREATE_MONITOR,
    {
      input: {
        datasetId,
        name: 'customers drift',
        checkOnNewVersion: true,
        columns: [{ column: 'spend' }, { column: 'region' }],
      },
    },
    owner.token,
  );
  expect(monitor.data?.createDriftMonitor.__typename, JSON.stringify(monitor)).toBe('DriftMonitor');
  const key = await createApiKey(server, owner.token, 'VIEWER');
  viewerKey = key.secret;
  viewerKeyId = key.id;
  const policy = await server.gql(
    SET_POLICY,
    { input: { datasetId, apiKeyId: key.id, columnRules: [{ column: 'spend', rule: 'MASK' }] } },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe.skipIf(!chromiumAvailable)('dashboard in chromium', () => {
  it('signs in with a password, starts a training run and draws its chart from live events', async () => {
    ownerPage = await browser.page();
    await signIn(ownerPage, owner);
    await expect(ownerPage.getByTestId('viewer').textContent()).resolves.toContain('OWNER');
    // The dataset's insights: a histogram of every column, the correlation heatmap.
    await ownerPage.getByTestId('distribution-spend').waitFor();
    await ownerPage.getByTestId('correlations').waitFor();
    await expect(ownerPage.getByTestId('correlations').textContent()).resolves.toContain('spend');
    // Charts save as PNG and SVG: the heatmap (SVG drawn to a canvas for PNG) and a uPlot chart.
    const heatmap = ownerPage.getByTestId('correlations');
    const heatmapSvg = await downloaded(ownerPage, () =>
      heatmap.getByRole('button', { name: 'SVG' }).click(),
    );
    expect(heatmapSvg.name).toMatch(/correlations\.svg$/);
    expect(heatmapSvg.bytes.toString('utf8')).toMatch(/^<svg[\s\S]*spend[\s\S]*<\/svg>$/);
    const heatmapPng = await downloaded(ownerPage, () =>
      heatmap.getByRole('button', { name: 'PNG' }).click(),
    );
    expect([...heatmapPng.bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    await browser.screenshot(ownerPage, 'dashboard-datasets');
    await ownerPage.click('[data-tab=models]');
    const form = ownerPage.getByTestId('train-form');
    await form.locator('select[name=dataset]').selectOption({ label: 'customers' });
    await form.locator('select[name=target]').selectOption('region');
    await form.locator('input[name=name]').fill('region from the dashboard');
    await form.locator('input[name=epochs]').fill('60');
    await form.locator('button[type=submit]').click();

    const run = ownerPage.getByTestId('run-chart').first();
    await run.waitFor();
    const runId = (await run.getAttribute('data-run'))!;
    const loss = '[data-testid=run-chart] [data-testid=loss-chart]';
    // The chart grows while the run is running: points drawn from events as they arrive.
    await ownerPage.waitForFunction(
      (s) => Number(document.querySelector(s)?.getAttribute('data-points')) >= 2,
      loss,
      { timeout: 120_000 },
    );
    const early = Number(await attribute(ownerPage, loss, 'data-points'));
    const earlyEvents = Number(await run.getAttribute('data-live-events'));
    await browser.screenshot(ownerPage, 'dashboard-training-live');
    await ownerPage.waitForFunction(
      ([s, n]) =>
        Number(document.querySelector(s as string)?.getAttribute('data-points')) > (n as number),
      [loss, early] as const,
      { timeout: 120_000 },
    );
    await ownerPage.waitForFunction(
      () =>
        document.querySelector('[data-testid=run-chart]')?.getAttribute('data-status') ===
        'SUCCEEDED',
      null,
      { timeout: 180_000 },
    );
    const final = await server.gql<DashboardRunSeriesQuery>(RUN_SERIES, { id: runId }, owner.token);
    const trained = final.data!.trainingRun!;
    const stored = (await server.gql(HISTORY, { id: runId }, owner.token)).data!.trainingRun;
    expect(stored.status).toBe('SUCCEEDED');
    // The form's values were sent as typed (the epochs field is not reset by a re-render).
    expect(JSON.stringify(stored.config)).toContain('"epochs":60');
    const history = stored.history as unknown[];
    // Every epoch was an event the page received and drew: the chart ends with as many loss
    // points as the history the server kept (no more than 1,000, so none were merged).
    const lossSeries = trained.series.find((s) => s.name === 'loss')!;
    expect(lossSeries.total).toBe(history.length);
    expect(lossSeries.points).toHaveLength(history.length);
    expect(Number(await attribute(ownerPage, loss, 'data-points'))).toBe(lossSeries.total);
    expect(Number(await run.getAttribute('data-live-events'))).toBeGreaterThan(earlyEvents);
    expect(Number(await run.getAttribute('data-live-events'))).toBeGreaterThanOrEqual(
      history.length,
    );
    await expect(
      ownerPage.locator('[data-testid=run-chart] [data-testid=metric-chart]').count(),
    ).resolves.toBe(1);
    // The models table follows: the run's end reloads it.
    await ownerPage
      .getByTestId('models')
      .locator('td[data-column=latest]', { hasText: 'SUCCEEDED' })
      .waitFor();
    await browser.screenshot(ownerPage, 'dashboard-training-done');
    expect(browser.errors).toEqual([]);
  }, 300_000);

  it('shows a drift alert arrive live when a shifted version is uploaded, with its distributions, and acknowledges it', async () => {
    await ownerPage.click('[data-tab=drift]');
    const alerts = ownerPage.getByTestId('drift-alerts');
    await alerts.waitFor();
    await ownerPage.getByTestId('connection').filter({ hasText: 'live' }).waitFor();
    await expect(alerts.locator('tbody tr').count()).resolves.toBe(0);

    // The upload from a second page: the first keeps its feed open.
    const uploader = await browser.page();
    await signIn(uploader, owner);
    await uploader.click('[data-tab=uploads]');
    const form = uploader.getByTestId('upload-form');
    await form.locator('select[name=dataset]').selectOption({ label: 'customers' });
    await form.locator('input[type=file]').setInputFiles({
      name: 'customers-shifted.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(shiftedCsv()),
    });
    await form.locator('button[type=submit]').click();
    const upload = uploader.getByTestId('uploads').locator('tbody tr').first();
    await upload
      .locator('td[data-column=status]', { hasText: 'READY' })
      .waitFor({ timeout: 60_000 });
    await expect(upload.locator('td[data-column=rows]').textContent()).resolves.toContain('40');
    await browser.screenshot(uploader, 'dashboard-upload');

    // The check runs on the new version; its alert reaches the open feed without a reload.
    const row = alerts.locator('tbody tr', { hasText: 'customers drift' });
    await row.waitFor({ timeout: 120_000 });
    await expect(row.locator('.badge.new').count()).resolves.toBe(1);
    await expect(row.locator('td[data-column=columns]').textContent()).resolves.toContain('spend');
    await row.click();
    const report = ownerPage.getByTestId('drift-report');
    await report.getByTestId('drift-bins-spend').waitFor();
    await report.getByTestId('drift-bins-region').waitFor();
    const spend = report.getByTestId('drift-columns').locator('tbody tr', { hasText: 'spend' });
    await expect(spend.locator('td[data-column=drifted]').textContent()).resolves.toContain('yes');
    await browser.screenshot(ownerPage, 'dashboard-drift-alert');

    const open = await server.gql<DashboardDriftAlertsQuery>(
      OPEN_ALERTS,
      { open: true },
      owner.token,
    );
    expect(open.data!.driftAlerts).toHaveLength(1);
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.getByRole('button', { name: 'Acknowledge' }).waitFor({ state: 'detached' });
    await expect(row.locator('td[data-column=acknowledged]').textContent()).resolves.toContain(
      'dashboard',
    );
    const after = await server.gql<DashboardDriftAlertsQuery>(
      OPEN_ALERTS,
      { open: true },
      owner.token,
    );
    expect(after.data!.driftAlerts).toEqual([]);
    expect(browser.errors).toEqual([]);
  }, 300_000);

  it('shows conversation volume, sentiment and topics over time', async () => {
    const day = 86_400_000;
    const texts = [
      'My invoice charged me twice, please refund the payment',
      'Where is my package? The delivery is late',
      'Thanks, the new app is great and I love it',
      'The billing page shows the wrong amount on my invoice',
      'My order has not shipped yet and tracking shows nothing',
    ];
    const lines = texts.map((text, i) => {
      const start = new Date(Date.now() - (3 + 9 * i) * day).toISOString();
      return JSON.stringify({
        externalId: `dash-${i}`,
        channel: 'chat',
        inbox: 'main',
        status: 'OPEN',
        messages: [{ role: 'USER', text, sentAt: start }],
      });
    });
    const res = await server.upload(
      `mutation($file: File!) { ingestConversations(file: $file, format: NDJSON) {
        __typename ... on ConversationIngest { id } ... on Error { code message } } }`,
      {},
      { name: 'conversations.ndjson', content: lines.join('\n') },
      owner.token,
    );
    expect(res.data?.ingestConversations.__typename, JSON.stringify(res)).toBe(
      'ConversationIngest',
    );
    for (;;) {
      const run = await server.gql(
        `query($id: ID!) { conversationIngest(id: $id) { ... on ConversationIngest { status } } }`,
        { id: res.data!.ingestConversations.id },
        owner.token,
      );
      const status = run.data!.conversationIngest.status;
      expect(status).not.toBe('FAILED');
      if (status === 'SUCCEEDED') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await ownerPage.click('[data-tab=conversations]');
    await ownerPage.getByText('5 conversations').waitFor();
    const periods = ownerPage.getByTestId('conversation-periods');
    const volumes = (await periods.locator('td[data-column=volume]').allTextContents()).map(Number);
    expect(volumes.reduce((a, b) => a + b, 0)).toBe(5);
    expect(
      Number(await attribute(ownerPage, '[data-testid=conversation-volume]', 'data-points')),
    ).toBe(volumes.length);
    await ownerPage.getByTestId('conversation-sentiment').waitFor();
    const topics = await ownerPage
      .getByTestId('topics')
      .locator('td[data-column=topic]')
      .allTextContents();
    expect(topics.length).toBeGreaterThan(0);
    await browser.screenshot(ownerPage, 'dashboard-conversations');
    // Per day instead of per week: one period per conversation, on the day it started.
    const days = texts.map((_, i) =>
      new Date(Date.now() - (3 + 9 * i) * day).toISOString().slice(0, 10),
    );
    await ownerPage.locator('select[name=granularity]').selectOption('DAY');
    await ownerPage.waitForFunction(
      (expected) =>
        [...document.querySelectorAll('[data-testid=conversation-periods] td[data-column=period]')]
          .map((td) => td.textContent?.trim())
          .sort()
          .join() === expected,
      [...days].sort().join(),
    );
    expect(browser.errors).toEqual([]);
  }, 120_000);

  it('keeps a masked column masked for a viewer signed in with an API key, on screen and in the CSV', async () => {
    const page = await browser.page();
    keyPage = page;
    await signIn(page, viewerKey);
    await expect(page.getByTestId('viewer').textContent()).resolves.toContain('VIEWER');
    // Only the dataset a policy names the key on (the table renders its rows all at once).
    await page.getByTestId('datasets').locator('td[data-column=name]').first().waitFor();
    const names = await page
      .getByTestId('datasets')
      .locator('td[data-column=name]')
      .allTextContents();
    expect(names.map((n) => n.trim())).toEqual(['customers']);
    const rows = page.getByTestId('rows');
    await rows.waitFor();
    await expect(rows.locator('th[data-column=spend]').getAttribute('data-masked')).resolves.toBe(
      'true',
    );
    const cells = (await rows.locator('td[data-column=spend]').allTextContents()).map((c) =>
      c.trim(),
    );
    expect(cells.length).toBeGreaterThan(0);
    expect(new Set(cells)).toEqual(new Set(['***']));
    // No distribution is drawn from a masked column; clear ones are, from the insights API.
    await page.getByTestId('distribution-region').waitFor();
    await page.getByTestId('distribution-id').waitFor();
    await expect(page.getByTestId('distribution-spend').count()).resolves.toBe(0);
    const statistics = page.getByTestId('column-statistics').locator('td[data-column=name]');
    expect((await statistics.allTextContents()).map((n) => n.trim())).not.toContain('spend');
    const heatmap = page.getByTestId('correlations');
    if ((await heatmap.count()) > 0)
      await expect(heatmap.textContent()).resolves.not.toContain('spend');
    await browser.screenshot(page, 'dashboard-viewer-masked');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      rows.getByRole('button', { name: 'CSV' }).click(),
    ]);
    const csv = await readFile((await download.path())!, 'utf8');
    const [header, ...lines] = csv.trim().split('\r\n');
    const column = header!.split(',').indexOf('spend');
    expect(column).toBeGreaterThanOrEqual(0);
    expect(lines.length).toBe(cells.length);
    for (const line of lines) expect(line.split(',')[column]).toBe('***');
    // (The current version, uploaded by the drift test, has every row in region east.)
    const region = page.getByTestId('distribution-region');
    const png = await downloaded(page, () => region.getByRole('button', { name: 'PNG' }).click());
    expect(png.name).toMatch(/\.png$/);
    expect([...png.bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    const svg = await downloaded(page, () => region.getByRole('button', { name: 'SVG' }).click());
    expect(svg.bytes.toString('utf8')).toMatch(/^<svg[\s\S]*>east<[\s\S]*<\/svg>$/);
    // Not one of the values the owner reads in clear is anywhere on the page.
    // Timestamps (…T07:20:53.512Z) are left out: their seconds look like such values.
    const text = (await page.locator('body').textContent())!.replace(
      /\d{4}-\d\d-\d\dT[\d:.]+Z/g,
      '',
    );
    // (Values above 41 with a fraction: every number the page derives from clear columns —
    // ids 1–40 and their statistics, dates, counts — stays below or has no fraction.)
    const clear = customers()
      .map((c) => c.spend)
      .filter((v) => v > 41 && !Number.isInteger(v));
    expect(clear.length).toBeGreaterThan(10);
    for (const value of clear) expect(text).not.toContain(String(value));
    expect(browser.errors).toEqual([]);
  }, 120_000);

  it('goes back to sign-in once the key is revoked, keeping nothing of what it showed', async () => {
    const revoked = await server.gql(
      `mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on Error { code message } } }`,
      { id: viewerKeyId },
      owner.token,
    );
    expect(revoked.data?.revokeApiKey.__typename, JSON.stringify(revoked)).toBe('ApiKey');
    await keyPage.click('[data-tab=models]');
    await keyPage.getByTestId('signin').waitFor();
    await expect(keyPage.getByTestId('rows').count()).resolves.toBe(0);
    await expect(keyPage.evaluate(() => sessionStorage.length)).resolves.toBe(0);
    // The console's 401 for the refused request is the only error.
    expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
  }, 60_000);
});
