// What the console's test, screenshots and benchmark share: Debian's
// Chromium started headless through playwright-core (no browser download:
// the machine's /usr/bin/chromium), and signing in through the page.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// The flags a root, offline, GPU-less machine needs; background networking
// off, or Chromium keeps dialling Google's hosts on a closed network.
const FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

// Returns { browser, context, page, close }.  The profile is a new empty
// directory, removed by close().
export async function openBrowser({ width = 1440, height = 900 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'amibox-chromium.'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width, height },
    acceptDownloads: true, deviceScaleFactor: 1,
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return {
    context, page, errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Signs in through the form; resolves when the navigation is shown.
export async function signIn(page, endpoint, key, secret, next = '') {
  await page.goto(`${endpoint}/console/${next ? `#/signin?next=${encodeURIComponent(next)}` : ''}`);
  await page.fill('#access-key', key);
  await page.fill('#secret-key', secret);
  await page.click('form button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}
