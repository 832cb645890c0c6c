import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_TABS } from '../../src/http/graphiql-tabs';
import { chromiumAvailable, launchBrowser, type TestBrowser } from '../helpers/browser';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * GraphiQL in a real browser (Debian's chromium through playwright-core), with every request
 * that leaves the server refused: it must render from Peso's own assets, open with Peso's tabs,
 * and run an operation. The screenshot goes to test-artifacts/graphiql.png.
 */
/** An editor's text: Monaco renders spaces as no-break spaces. */
const text = async (locator: { innerText(): Promise<string> }) =>
  (await locator.innerText()).replace(/\u00a0/g, ' ');

describe.skipIf(!chromiumAvailable)('GraphiQL in a browser, offline', () => {
  let server: TestServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('renders from local assets only, with the example tabs, and runs the sign-in tab', async () => {
    const page = await browser.page();
    const outside: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(server.url) || url.startsWith('blob:') || url.startsWith('data:'))
        return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(`${server.url}/graphql`);
    await page.locator('.graphiql-container').first().waitFor({ timeout: 60_000 });
    const tabs = page.locator('.graphiql-tab');
    await expect.poll(() => tabs.count(), { timeout: 30_000 }).toBe(GRAPHIQL_TABS.length);
    // The first tab's editor shows Peso's welcome, not yoga's.
    const editor = page.locator('.graphiql-query-editor .view-lines').first();
    await expect.poll(() => text(editor), { timeout: 30_000 }).toContain('Welcome to Peso');
    expect(await page.content()).not.toContain('Welcome to Yoga');

    // Run the tab as it is, with its placeholder password.
    await page.locator('.graphiql-execute-button').click();
    const menu = page.getByRole('menuitem', { name: 'Login' });
    if (await menu.isVisible().catch(() => false)) await menu.click();
    else await page.getByText('Login', { exact: true }).last().click();
    const response = page.locator('.graphiql-response .view-lines');
    // The variables of the tab were sent: the demo email, and a password that is not its own.
    await expect
      .poll(() => text(response), { timeout: 30_000 })
      .toContain('"message": "Invalid email or password."');
    expect(await text(response)).toContain('"code": "UNAUTHENTICATED"');
    await browser.screenshot(page, 'graphiql');

    expect(outside).toEqual([]);
    // The only errors a page may log: the schema it may not introspect before signing in.
    expect(
      browser.errors.filter((e) => !/introspect|401|Unauthorized|UNAUTHENTICATED/i.test(e)),
    ).toEqual([]);
  }, 180_000);
});
