// The dashboard end to end in Debian's headless chromium (test/browser/harness.ts) against the
// real built server process on the embedded PGlite store: every view signed in through the form,
// checked by axe-core (no serious or critical violation), at 390 px, and saved as a 1280 px
// screenshot in .ci/out/screenshots/<view>.png. Tests run in order on one server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  startServer,
  tempDir,
  listDeadLetters,
  triggerRun,
  waitForRun,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';
import { receivedRecords, startReceiver, type Receiver } from '../e2e/services.js';
import {
  expectCleanPage,
  expectFitsPhone,
  launchBrowser,
  openPage,
  screenshot,
  seriousViolations,
  signIn,
  type WatchedPage,
} from './harness.js';

const ADMIN = 'browser-admin-key-0123456';
const OPERATOR = 'browser-operator-key-0123';
const VIEWER = 'browser-viewer-key-012345';

const yaml = (dir: string, hook: string, operatorScopes = '[run]') => `
store: { dataDir: ${dir}/data }
server:
  apiKeys:
    - { name: admin, key: ${ADMIN}, scopes: [admin] }
    - { name: operator, key: ${OPERATOR}, scopes: ${operatorScopes} }
    - { name: viewer, key: ${VIEWER}, scopes: [read] }
destinations:
  files:
    kind: file
    root: ${dir}/out
    path: 'traffic/{{batch.id}}.ndjson'
    format: ndjson
    expect:
      - { name: email-only, check: one-of, field: channel, values: [email], action: warn }
  hook:
    kind: webhook
    url: ${hook}/hook
    mode: batch
    retry: { maxAttempts: 1 }
    ssrf: { allow: [127.0.0.1] }
pipelines:
  traffic:
    source: { kind: sample, perRun: 40, pageSize: 10, channels: [email, paid] }
    schedule: { cron: '0 8 * * *', timezone: Europe/Berlin }
    routes:
      - name: paid
        priority: 10
        when: { path: $.channel, op: eq, value: paid }
        to: [hook]
      - name: all
        to: [files]
        expect:
          - { check: required, field: channel }
  backlog:
    source: { kind: sample, perRun: 3000000, pageSize: 500 }
    routes:
      - { name: all, to: [files] }
`;

describe('dashboard in headless chromium', () => {
  let dir: string;
  let receiver: Receiver;
  let server: ServerProcess;
  let browser: Browser;
  const pages: WatchedPage[] = [];
  const open = async () => {
    const watched = await openPage(browser);
    pages.push(watched);
    return watched;
  };

  beforeAll(async () => {
    dir = tempDir('browser');
    receiver = await startReceiver();
    [server, browser] = await Promise.all([
      startServer({ config: writeConfig(dir, yaml(dir, receiver.url)), adminKey: ADMIN }),
      launchBrowser(),
    ]);
  }, 120_000);
  afterAll(async () => {
    for (const { context } of pages) await context.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    await receiver?.close();
  });

  it('sign-in: refuses a wrong key, keeps the right one in session storage only', async () => {
    const watched = await open();
    const { page } = watched;
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await expectFitsPhone(page);
    await screenshot(page, 'sign-in');

    await page.getByLabel('API key').fill('not-a-key-of-this-server');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('That API key is not valid.');

    await page.getByLabel('API key').fill(VIEWER);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('sluice.apiKey'))).toBe(VIEWER);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(page.url()).not.toContain(VIEWER);
    expect(watched.requests.every((url) => !url.includes(VIEWER))).toBe(true);
    // The key survives a reload of the tab, and signing out forgets it.
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await expect.poll(() => page.getByText('viewer (read)').count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('sluice.apiKey'))).toBeNull();
    expectCleanPage(watched, server.url, [401]);
  });

  it('overview: pipelines with next cron fire in their time zone; a run appears live', async () => {
    const watched = await open();
    const { page } = watched;
    await signIn(page, server.url, OPERATOR);
    const row = page.locator('tr[data-pipeline="traffic"]');
    await row.waitFor();
    // 08:00 in Europe/Berlin, shown in that zone whatever the browser's own zone is.
    await expect.poll(() => row.locator('.next-fire').textContent()).toMatch(/08:00:00/);
    expect(await row.locator('.next-fire').textContent()).toContain('Europe/Berlin');
    expect(await row.locator('.last-run').textContent()).toBe('never run');
    expect(await row.locator('.records-in').textContent()).toBe('0');
    expect(await row.locator('.records-out').textContent()).toBe('0');

    // A run started elsewhere (the API, as cron or a script would) shows up without a reload.
    const runId = await triggerRun(server, 'traffic');
    await page.locator(`tr[data-run="${runId}"]`).waitFor({ timeout: 15_000 });
    const finished = await waitForRun(server, runId);
    await expect
      .poll(() => page.locator(`tr[data-run="${runId}"] .status`).textContent(), {
        timeout: 15_000,
      })
      .toBe('succeeded');
    await expect.poll(() => row.locator('.last-run .status').textContent()).toBe('succeeded');
    // Records in/out of the last 24 hours: the 40 records read, and every delivery (files and,
    // for paid records, the webhook) of that run, under their column headers.
    expect(finished.counts.read).toBe(40);
    const out = finished.counts.delivered ?? 0;
    expect(out).toBeGreaterThanOrEqual(40);
    await expect.poll(() => row.locator('.records-in').textContent()).toBe('40');
    expect(await row.locator('.records-out').textContent()).toBe(out.toLocaleString('en'));
    const headers = await page
      .getByRole('table', { name: 'Pipelines' })
      .getByRole('columnheader')
      .allTextContents();
    // A no-break space keeps '24 h' on one line.
    expect(headers).toEqual(
      expect.arrayContaining(['Records in (24\u00a0h)', 'Records out (24\u00a0h)']),
    );
    // Its paid records failed at the webhook (the receiver answers 500 from here on): dead letters.
    receiver.status = 500;
    await row.getByRole('button', { name: 'Run now: traffic' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/^Run of traffic queued/);
    await expect
      .poll(async () => Number(await row.locator('.dead-letters').textContent()), {
        timeout: 20_000,
      })
      .toBeGreaterThan(0);

    expect(await seriousViolations(page)).toEqual([]);
    await expectFitsPhone(page);
    await screenshot(page, 'overview');
    expectCleanPage(watched, server.url);
  });

  it('overview for a read-only key: no run buttons', async () => {
    const watched = await open();
    const { page } = watched;
    await signIn(page, server.url, VIEWER);
    await page.locator('tr[data-pipeline="traffic"]').waitFor();
    expect(await page.getByRole('button', { name: /Run now/ }).count()).toBe(0);
    expectCleanPage(watched, server.url);
  });
  it('run view: status and log while running, cancel; a finished run with its counts', async () => {
    const watched = await open();
    const { page } = watched;
    await signIn(page, server.url, OPERATOR);
    const runId = await triggerRun(server, 'backlog');
    await page.goto(`${server.url}/#/runs/${runId}`);
    await expect
      .poll(() => page.locator('#run-status').textContent(), { timeout: 20_000 })
      .toBe('running');
    // The log section is there (and polled) while the run runs.
    await page.getByRole('heading', { name: 'Log', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toBe('Cancellation requested.');
    await expect
      .poll(() => page.locator('#run-status').textContent(), { timeout: 20_000 })
      .toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    // A cancelled run has no breakdown, so no per-route or per-destination tables.
    expect(await page.locator('caption').count()).toBe(0);
    expect((await server.api('GET', `/api/v1/runs/${runId}`)).body.status).toBe('cancelled');

    // From the overview's recent runs to a finished run of traffic: its counts and log.
    await page.goto(`${server.url}/#/`);
    const traffic = (await server.api('GET', '/api/v1/runs?pipeline=traffic&status=succeeded')).body
      .items[0];
    await page.getByRole('link', { name: `Run ${traffic.id}` }).click();
    await expect.poll(() => page.locator('#run-status').textContent()).toBe('succeeded');
    const counts = JSON.parse((await page.locator('#run-counts').textContent())!);
    expect(counts).toMatchObject({ read: 40 });
    // Its breakdown as two tables: half the sample is paid (also to the hook), all go to files.
    const cells = (table: string) =>
      page
        .locator(`table:has(caption:text-is("${table}")) tbody tr`)
        .evaluateAll((rows) =>
          rows.map((row) => [...row.children].map((cell) => cell.textContent ?? '')),
        );
    const routes = await cells('Routes');
    expect(Object.fromEntries(routes)).toEqual({ paid: '20', all: '40' });
    expect(routes.map(([name]) => name)).toEqual(Object.keys(traffic.breakdown.routes));
    const { destinations } = traffic.breakdown as {
      destinations: Record<string, { delivered: number; failed: number; deadLettered: number }>;
    };
    expect(destinations.files).toMatchObject({ delivered: 40, failed: 0, deadLettered: 0 });
    expect(destinations.hook!.delivered + destinations.hook!.deadLettered).toBe(20);
    expect(await cells('Destinations')).toEqual(
      Object.entries(destinations).map(([name, d]) => [
        name,
        String(d.delivered),
        String(d.failed),
        String(d.deadLettered),
      ]),
    );
    expect(await page.getByRole('columnheader', { name: 'Dead-lettered' }).count()).toBe(1);
    // Route `all` checks that every record has a channel; destination `files` warns about every
    // record that is not e-mail (the 20 paid ones), delivering them all the same.
    expect(await page.locator('caption').allTextContents()).toEqual([
      'Routes',
      'Destinations',
      'Expectations',
      'Destination expectations',
    ]);
    expect(await cells('Expectations')).toEqual([['all', 'required:channel', '40', '0']]);
    expect(await cells('Destination expectations')).toEqual([['files', 'email-only', '40', '20']]);
    expect(traffic.breakdown.destinationExpectations).toEqual({
      files: { 'email-only': expect.objectContaining({ checked: 40, violations: 20 }) },
    });
    expect(await page.locator('#run-log').textContent()).not.toBe('');
    expect(page.url()).toBe(`${server.url}/#/runs/${traffic.id}`);

    expect(await seriousViolations(page)).toEqual([]);
    await expectFitsPhone(page);
    await screenshot(page, 'run');
    expectCleanPage(watched, server.url);
  });

  it('dead letters: filter, inspect, replay one and see it delivered, replay selected, discard', async () => {
    receiver.status = 200;
    const watched = await open();
    const { page } = watched;
    await signIn(page, server.url, OPERATOR);
    await page.locator('tr[data-pipeline="traffic"] .dead-letters a').click();
    await page.getByRole('heading', { name: 'Dead letters', exact: true }).waitFor();
    expect(page.url()).toContain('#/dead-letters?pipeline=traffic');
    expect(await page.getByLabel('Pipeline').inputValue()).toBe('traffic');
    const rows = page.locator('tr[data-dead-letter]');
    await rows.first().waitFor();
    const before = await listDeadLetters(server, { pipeline: 'traffic', status: 'pending' });
    expect(await rows.count()).toBe(before.length);

    const id = (await rows.first().getAttribute('data-dead-letter'))!;
    const letter = before.find((l) => l.id === id)!;
    expect(letter.destination).toBe('hook');
    const short = id.slice(0, 8);
    await page.getByRole('button', { name: `Inspect dead letter ${short}` }).click();
    const record = JSON.parse((await page.getByLabel('Record', { exact: true }).textContent())!);
    expect(record).toEqual(letter.record);
    expect(await page.getByLabel('Error', { exact: true }).textContent()).toContain('500');
    await screenshot(page, 'dead-letters');

    await page.getByRole('button', { name: `Replay dead letter ${short}` }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toMatch(/^Replay of 1 dead letter queued\./);
    await page.getByRole('link', { name: /^Open replay run/ }).click();
    await expect
      .poll(() => page.locator('#run-status').textContent(), { timeout: 20_000 })
      .toBe('succeeded');
    expect(receivedRecords(receiver)).toContainEqual(letter.record);
    expect((await server.api('GET', `/api/v1/dead-letters/${id}`)).body.status).toBe('replayed');

    // Two selected at once, then one discarded.
    await page.goto(`${server.url}/#/dead-letters?pipeline=traffic`);
    await expect.poll(() => rows.count()).toBe(before.length - 1);
    const [a, b, c] = await Promise.all(
      [0, 1, 2].map((i) => rows.nth(i).getAttribute('data-dead-letter')),
    );
    await page.getByLabel(`Select dead letter ${a!.slice(0, 8)}`).check();
    await page.getByLabel(`Select dead letter ${b!.slice(0, 8)}`).check();
    await page.getByRole('button', { name: 'Replay selected (2)' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toMatch(/^Replay of 2 dead letters queued\./);
    await page.getByRole('button', { name: `Discard dead letter ${c!.slice(0, 8)}` }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toMatch(/^Dead letter discarded\./);
    await expect.poll(() => page.locator(`tr[data-dead-letter="${c}"]`).count()).toBe(0);
    expect((await server.api('GET', `/api/v1/dead-letters/${c}`)).body.status).toBe('discarded');
    await expect
      .poll(async () => (await server.api('GET', `/api/v1/dead-letters/${b}`)).body.status, {
        timeout: 20_000,
      })
      .toBe('replayed');

    // Filtering by destination narrows the list (the files destination never failed).
    await page.getByLabel('Destination').selectOption('files');
    await expect.poll(() => page.url()).toContain('destination=files');
    await expect.poll(() => rows.count()).toBe(0);

    expect(await seriousViolations(page)).toEqual([]);
    await expectFitsPhone(page);
    expectCleanPage(watched, server.url);
  });

  it('a key downgraded to read while signed in: its replay is refused (403) and shown; then no buttons', async () => {
    const watched = await open();
    const { page } = watched;
    await signIn(page, server.url, OPERATOR);
    await page.goto(`${server.url}/#/dead-letters?pipeline=traffic`);
    const replay = page.getByRole('button', { name: /^Replay dead letter / }).first();
    await replay.waitFor();
    writeConfig(dir, yaml(dir, receiver.url, '[read]'));
    expect((await server.api('POST', '/api/v1/reload')).status).toBe(200);
    await replay.click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/^Refused \(403\)/);
    // Signed in again (the page asks the API for the key's scopes): nothing to click.
    await page.reload();
    await expect.poll(() => page.getByText('operator (read)').count()).toBe(1);
    await page.locator('tr[data-dead-letter]').first().waitFor();
    expect(await page.getByRole('button', { name: /^(Replay|Discard)/ }).count()).toBe(0);
    expect(await page.getByRole('checkbox').count()).toBe(0);
    expectCleanPage(watched, server.url, [403]);
  });
  it('dry run: pasted NDJSON, per-route and per-destination output, nothing written', async () => {
    const watched = await open();
    const { page } = watched;
    await signIn(page, server.url, VIEWER);
    await page.getByRole('link', { name: 'Dry run' }).click();
    await page.getByRole('heading', { name: 'Dry run', exact: true }).waitFor();
    const delivered = receiver.requests.length;

    await page.getByLabel(/^Records/).fill('not json');
    await page.getByRole('button', { name: 'Run dry run' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/^Line 1 is not valid JSON/);

    await page.getByLabel('Pipeline').selectOption('traffic');
    await page
      .getByLabel(/^Records/)
      .fill('{"channel":"paid","sessions":120}\n\n{"channel":"email","sessions":900}\n');
    await page.getByRole('button', { name: 'Run dry run' }).click();
    await expect
      .poll(() => page.locator('#dry-run-result [role="status"]').textContent())
      .toBe('2 records: 2 matched, 0 to the default route, 0 unmatched, 0 with errors.');
    expect(await page.locator('tr[data-route="paid"] .matched').textContent()).toBe('1');
    expect(await page.locator('tr[data-route="all"] .matched').textContent()).toBe('2');
    expect(await page.locator('[data-destination="hook"] h3').textContent()).toBe('hook: 1 record');
    expect(await page.locator('[data-destination="files"] h3').textContent()).toBe(
      'files: 2 records',
    );
    expect(JSON.parse((await page.getByLabel('Records for hook').textContent())!)).toEqual({
      channel: 'paid',
      sessions: 120,
    });
    expect(receiver.requests.length).toBe(delivered);

    expect(await seriousViolations(page)).toEqual([]);
    await expectFitsPhone(page);
    await screenshot(page, 'dry-run');
    expectCleanPage(watched, server.url);
  });
  it('pipeline view: route graph, disable and enable, run now with parameters', async () => {
    const watched = await open();
    const { page } = watched;
    await signIn(page, server.url, ADMIN);
    await page.getByRole('link', { name: 'traffic', exact: true }).click();
    await page.getByRole('heading', { name: 'Pipeline traffic' }).waitFor();
    expect(page.url()).toBe(`${server.url}/#/pipelines/traffic`);
    expect(await page.getByRole('img').getAttribute('aria-label')).toBe(
      'traffic: source sample to 2 routes to 2 destinations',
    );
    const graph = (await page.locator('svg.graph').textContent())!;
    for (const text of ['source', 'sample', 'paid · priority 10', '$.channel eq "paid"', 'hook'])
      expect(graph).toContain(text);
    // The routes in evaluation order: descending priority.
    expect(await page.locator('tr[data-route] th').allTextContents()).toEqual(['paid', 'all']);
    expect(await page.locator('tr[data-route="paid"] td').allTextContents()).toEqual([
      '10',
      '$.channel eq "paid"',
      'continue',
      'hook',
    ]);

    await page.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => page.locator('#pipeline-state').textContent()).toMatch(/^Disabled/);
    expect((await server.api('GET', '/api/v1/pipelines/traffic')).body.enabled).toBe(false);
    expect(await page.getByRole('button', { name: 'Run now' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => page.locator('#pipeline-state').textContent()).toMatch(/^Enabled/);
    expect((await server.api('GET', '/api/v1/pipelines/traffic')).body.enabled).toBe(true);

    await page.getByLabel(/^Parameters/).fill('nope');
    await page.getByRole('button', { name: 'Run now' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/^Parameters are not valid JSON/);
    await page.getByLabel(/^Parameters/).fill('{"note":"from the dashboard"}');
    await page.getByRole('button', { name: 'Run now' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toMatch(/^Run of traffic queued\./);
    expect(await seriousViolations(page)).toEqual([]);
    await expectFitsPhone(page);
    await screenshot(page, 'pipeline');
    await page.getByRole('link', { name: 'Open the run' }).click();
    await expect
      .poll(() => page.locator('#run-status').textContent(), { timeout: 20_000 })
      .toBe('succeeded');
    const runId = page.url().split('/').pop()!;
    expect((await server.api('GET', `/api/v1/runs/${runId}`)).body.params).toEqual({
      note: 'from the dashboard',
    });

    // A new version saved through the API: the view compares it with the one before.
    const current = (await server.api('GET', '/api/v1/pipelines/traffic')).body.config;
    const next = {
      ...current,
      routes: current.routes.map((r: { name: string }) =>
        r.name === 'paid' ? { ...r, priority: 20 } : r,
      ),
    };
    expect((await server.api('PUT', '/api/v1/pipelines/traffic', next)).status).toBe(200);
    await page.goto(`${server.url}/#/pipelines/traffic`);
    await expect.poll(() => page.locator('#pipeline-state').textContent()).toMatch(/version 2$/);
    await expect
      .poll(() => page.locator('#version-summary').textContent())
      .toBe('2 changed lines.');
    const diff = (await page.getByLabel('Differences from v1 to v2').textContent())!;
    expect(diff).toMatch(/^- +"priority": 10,?$/m);
    expect(diff).toMatch(/^\+ +"priority": 20,?$/m);
    expect(await page.locator('tr[data-route="paid"] td').first().textContent()).toBe('20');
    await page.getByLabel('From version').selectOption('2');
    await expect.poll(() => page.locator('#version-summary').textContent()).toBe('No differences.');
    await page.getByLabel('From version').selectOption('1');
    expect(await seriousViolations(page)).toEqual([]);
    await expectFitsPhone(page);
    await screenshot(page, 'pipeline');
    expectCleanPage(watched, server.url);

    // A read-only key sees the graph and no action.
    const viewer = await open();
    await signIn(viewer.page, server.url, VIEWER);
    await viewer.page.goto(`${server.url}/#/pipelines/traffic`);
    await viewer.page.getByRole('heading', { name: 'Pipeline traffic' }).waitFor();
    expect(
      await viewer.page.getByRole('button', { name: /^(Disable|Enable|Run now)$/ }).count(),
    ).toBe(0);
    expectCleanPage(viewer, server.url);
  });
  it('pipeline view: backfill a date range, progress per chunk, resumed without rerunning', async () => {
    const watched = await open();
    const { page } = watched;
    await signIn(page, server.url, ADMIN);
    await page.goto(`${server.url}/#/pipelines/traffic`);
    await page.getByLabel('From date').fill('2026-11-01');
    await page.getByLabel('To date').fill('2026-11-03');
    await page.getByLabel('Days per chunk').fill('1');
    await page.getByRole('button', { name: 'Start backfill' }).click();
    const chunks = page.locator('tr[data-chunk]');
    await expect.poll(() => chunks.count()).toBe(3);
    expect(await chunks.locator('.action').allTextContents()).toEqual([
      'enqueued',
      'enqueued',
      'enqueued',
    ]);
    await expect
      .poll(() => page.locator('#backfill-progress').textContent(), { timeout: 30_000 })
      .toBe('3 of 3 chunks finished.');
    expect(await chunks.locator('.chunk-status').allTextContents()).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    // The same range again keeps the finished chunks.
    await page.getByRole('button', { name: 'Start backfill' }).click();
    await expect
      .poll(() => chunks.locator('.action').allTextContents())
      .toEqual(['kept', 'kept', 'kept']);
    expect(await seriousViolations(page)).toEqual([]);
    await expectFitsPhone(page);
    await screenshot(page, 'backfill');
    expectCleanPage(watched, server.url);
  });
});
