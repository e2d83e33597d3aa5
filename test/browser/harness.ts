// The dashboard in a real browser: Debian's chromium (/usr/bin/chromium, installed by
// scripts/ci/services.sh when missing), driven headless by playwright-core — no browser
// download — against the REAL built server process (test/e2e/harness.ts). Also: the axe-core
// accessibility scan, screenshots at 1280 px into .ci/out/screenshots/, and a guard that the
// page makes no request outside the server and hits no CSP violation.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import axe from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { ROOT } from '../e2e/harness.js';

export const CHROMIUM = '/usr/bin/chromium';

/** The flags every launch uses: headless, no sandbox (containers), and nothing that phones home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOTS = join(ROOT, '.ci/out/screenshots');

/** Desktop and phone widths the dashboard must work at. */
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: run scripts/ci/services.sh (installs Debian's chromium) or apt-get install chromium`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A page of a fresh context (its own session storage) that records what the guard checks. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Every URL the page requested. */
  requests: string[];
  /** Console errors, CSP violations among them ("Refused to …"), and uncaught page errors. */
  errors: string[];
}

export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number } = DESKTOP,
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  // Fail a step with Playwright's own message (what it waited for) well before the test's timeout.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const watched: WatchedPage = { page, context, requests: [], errors: [] };
  page.on('request', (request) => watched.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') watched.errors.push(message.text());
  });
  page.on('pageerror', (error) => watched.errors.push(String(error)));
  return watched;
}

/**
 * Asserts the page only talked to `serverUrl` and hit no script error or CSP violation; console
 * errors of failed API calls (`status of 403`) are expected where a test provokes them.
 */
export function expectCleanPage(
  watched: WatchedPage,
  serverUrl: string,
  allowStatus: number[] = [],
) {
  const outside = watched.requests.filter((url) => !url.startsWith(`${serverUrl}/`));
  expect(outside, 'requests outside the server').toEqual([]);
  const unexpected = watched.errors.filter(
    (text) => !allowStatus.some((status) => text.includes(`status of ${status}`)),
  );
  expect(unexpected, 'console errors, CSP violations or page errors').toEqual([]);
}

/** Opens the dashboard and signs in with `key` through the form, as a user would. */
export async function signIn(page: Page, serverUrl: string, key: string): Promise<void> {
  await page.goto(`${serverUrl}/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Runs axe-core in the page; returns the serious and critical violations, readable. */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const results = (await page.evaluate(() =>
    (window as unknown as { axe: typeof axe }).axe.run(document, {
      resultTypes: ['violations'],
    }),
  )) as axe.AxeResults;
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(' '))
          .join('; ')}`,
    );
}

/** Saves a full-page screenshot of the view at 1280 px: `.ci/out/screenshots/<view>.png`. */
export async function screenshot(page: Page, view: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${view}.png`);
  const size = page.viewportSize();
  if (size?.width !== DESKTOP.width) await page.setViewportSize(DESKTOP);
  await page.screenshot({ path, fullPage: true });
  if (size && size.width !== DESKTOP.width) await page.setViewportSize(size);
  return path;
}

/** The view at phone width: nothing wider than the screen but scrolling tables. */
export async function expectFitsPhone(page: Page): Promise<void> {
  const size = page.viewportSize();
  await page.setViewportSize(PHONE);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow, 'horizontal overflow at 390 px').toBeLessThanOrEqual(0);
  if (size) await page.setViewportSize(size);
}
