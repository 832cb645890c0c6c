import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`; `.ci/run` installs it when missing). */
export const CHROMIUM = process.env.PESO_CHROMIUM ?? '/usr/bin/chromium';

/** Whether a browser test can run here; the suite says why it skips when not. */
export const chromiumAvailable = existsSync(CHROMIUM);

/** Where browser tests save their screenshots (gitignored). */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface TestBrowser {
  /** A fresh page in a fresh context (no shared storage between pages). */
  page(): Promise<Page>;
  /** Saves a full-page screenshot as test-artifacts/<name>.png and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  /** Messages the pages logged as errors, and uncaught page errors. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Launches the system chromium headless, one per test file (pages are cheap, browsers are not).
 * playwright starts it with a fresh temporary --user-data-dir of its own, removed on close
 * (`launch` refuses one passed in `args`); each `page()` is a new context, so pages share no
 * storage. Console errors and uncaught exceptions of every page are collected in `errors`.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
  });
  const errors: string[] = [];
  return {
    errors,
    async page() {
      const context = await browser.newContext({
        viewport: { width: 1400, height: 1000 },
        acceptDownloads: true,
      });
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(String(error)));
      return page;
    },
    async screenshot(page, name) {
      await mkdir(ARTIFACTS, { recursive: true });
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => browser.close(),
  };
}
