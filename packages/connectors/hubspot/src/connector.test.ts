import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  FatalError,
  PluginRegistry,
  RetryableError,
  createMemoryMetrics,
  createPluginContext,
  parseConfig,
  type ConnectorInstance,
  type JsonValue,
  type Logger,
  type Page,
  type SluiceRecord,
} from '@sluice/core';
import {
  HUBSPOT_FAKE_CUSTOM_TYPE,
  SEARCH_RESULT_CAP,
  startHubSpotFake,
  type HubSpotFake,
} from '@sluice/testing';
import { startTcpProxy } from '@sluice/testing/fakes';
import { hubspotConfigSchema, hubspotConnector, hubspotPlugin } from './index.js';

const fast = { requests: 100_000, searchRequestsPerSecond: 10_000, retryDelayMs: 5, maxRetries: 3 };

function connect(
  fake: HubSpotFake,
  overrides: Record<string, unknown> = {},
  logger?: Logger,
): Promise<ConnectorInstance> {
  const config = parseConfig(hubspotConfigSchema, {
    accessToken: fake.token,
    basePath: fake.url,
    ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
    object: 'contacts',
    properties: ['email', 'hs_lead_status'],
    rateLimit: fast,
    ...overrides,
  });
  return Promise.resolve(
    hubspotConnector.create(config, createPluginContext(logger ? { logger } : {})),
  );
}

async function readAll(
  instance: ConnectorInstance,
  state?: JsonValue,
  signal = new AbortController().signal,
): Promise<Page[]> {
  const pages: Page[] = [];
  for await (const page of instance.read(state === undefined ? {} : { state }, signal))
    pages.push(page);
  return pages;
}

const ids = (pages: Page[]) => pages.flatMap((p) => p.records.map((r) => String(r.id)));
const lastState = (pages: Page[]) =>
  [...pages].reverse().find((p) => p.state !== undefined)!.state!;
const searches = (fake: HubSpotFake) => fake.requests.filter((r) => r.path.endsWith('/search'));

describe('hubspot connector scenarios', () => {
  let fake: HubSpotFake;
  beforeAll(async () => {
    fake = await startHubSpotFake(); // 25,000 contacts
  });
  afterAll(() => fake.close());

  it('reads 25,000 contacts in list pages, then only what changed, including same-millisecond updates', async () => {
    const connector = await connect(fake);
    const full = await readAll(connector);
    expect(full).toHaveLength(250);
    expect(new Set(ids(full)).size).toBe(25_000);
    expect(fake.requests.every((r) => !r.path.endsWith('/search'))).toBe(true);
    const first = full[0]!.records[0]!;
    expect(first).toMatchObject({ id: '1', objectType: 'contacts', archived: false });
    expect(Object.keys(first.properties as object).sort()).toEqual([
      'email',
      'hs_lead_status',
      'hs_object_id',
      'lastmodifieddate',
    ]);
    expect(full.at(-1)!.state).toMatchObject({ phase: 'incremental', lastId: null });
    expect(full[3]!.state).toMatchObject({ phase: 'full', after: '400' });

    const changed = fake.touch('contacts', 60, { sameMillisecond: 8 });
    const created = fake.create('contacts', 3);
    const incremental = await readAll(connector, lastState(full));
    expect(new Set(ids(incremental))).toEqual(new Set([...changed, ...created]));
    expect(ids(incremental)).toHaveLength(63);
    const touched = incremental.flatMap((p) => p.records).find((r) => r.id === changed[0])!;
    expect((touched.properties as Record<string, string>).hs_lead_status).toBe('IN_PROGRESS');
    // Nothing changed since: the next run reads nothing and keeps the checkpoint.
    const again = await readAll(connector, lastState(incremental));
    expect(ids(again)).toEqual([]);
  }, 60_000);

  it('never skips or repeats objects updated in the same millisecond, resuming from any checkpoint', async () => {
    const connector = await connect(fake);
    const t = Date.now() - 30_000;
    const all = fake.objects('contacts');
    // 450 objects in one millisecond (more than two search pages), then a tie group of 30
    // straddling the first page boundary of the following query, then singles.
    const big = all.slice(1000, 1450).map((o) => o.id);
    const straddle = all.slice(2000, 2030).map((o) => o.id);
    const singles = all.slice(3000, 3300).map((o) => o.id);
    fake.setModified('contacts', big, t);
    singles.slice(0, 185).forEach((id, i) => fake.setModified('contacts', [id], t + 1 + i));
    fake.setModified('contacts', straddle, t + 200);
    singles.slice(185).forEach((id, i) => fake.setModified('contacts', [id], t + 201 + i));
    // Objects touched by earlier tests fall in the range too: expect whatever the store holds.
    const expected = new Set(all.filter((o) => o.updatedAt >= t - 10).map((o) => o.id));
    for (const id of [...big, ...straddle, ...singles]) expect(expected.has(id)).toBe(true);

    const start = { v: 1, phase: 'incremental', modifiedAt: t - 10, lastId: null };
    const pages = await readAll(connector, start);
    const read = ids(pages);
    expect(read).toHaveLength(expected.size);
    expect(new Set(read)).toEqual(expected);
    const states = pages.map((p) => p.state as { modifiedAt: number; lastId: string | null });
    expect(states.some((s) => s.modifiedAt === t && s.lastId !== null)).toBe(true);

    for (let i = 0; i < pages.length; i++) {
      const before = pages.slice(0, i + 1).flatMap((p) => p.records.map((r) => String(r.id)));
      const resumed = ids(await readAll(connector, pages[i]!.state!));
      const seen = [...before, ...resumed];
      expect(new Set(seen), `resume from page ${i}`).toEqual(expected);
      expect(seen, `no duplicate after resuming from page ${i}`).toHaveLength(expected.size);
    }
  }, 60_000);

  it('reads more than 10,000 changed objects without paging a search past the cap', async () => {
    const connector = await connect(fake);
    const t = Date.now() - 20_000;
    const changed = fake.objects('contacts').slice(5000, 17_000);
    changed.forEach((o, i) => fake.setModified('contacts', [o.id], t + Math.floor(i / 3)));
    fake.resetRequests();
    const pages = await readAll(connector, {
      v: 1,
      phase: 'incremental',
      modifiedAt: t,
      lastId: null,
    });
    expect(changed.length).toBeGreaterThan(SEARCH_RESULT_CAP);
    const expected = new Set(
      fake
        .objects('contacts')
        .filter((o) => o.updatedAt >= t)
        .map((o) => o.id),
    );
    for (const o of changed) expect(expected.has(o.id)).toBe(true);
    expect(ids(pages)).toHaveLength(expected.size);
    expect(new Set(ids(pages))).toEqual(expected);
    expect(fake.requests.every((r) => r.status === 200)).toBe(true);
    expect(searches(fake).every((r) => (r.body as { after?: string }).after === undefined)).toBe(
      true,
    );
  }, 60_000);

  it('waits out TEN_SECONDLY_ROLLING 429s and logs them', async () => {
    const warnings: string[] = [];
    const waits: { attempt: number; delayMs: number }[] = [];
    const logger = createPluginContext().logger;
    const spy: Logger = {
      ...logger,
      warn: ((o: { attempt: number; delayMs: number }, msg?: string) => {
        warnings.push(String(msg));
        waits.push({ attempt: o.attempt, delayMs: o.delayMs });
      }) as Logger['warn'],
      child: () => spy,
    };
    const connector = await connect(fake, { object: 'companies' }, spy);
    fake.inject({ status: 429, policyName: 'TEN_SECONDLY_ROLLING', times: 2 });
    fake.inject({ status: 429, policyName: 'SECONDLY', times: 1 });
    const pages = await readAll(connector);
    expect(new Set(ids(pages)).size).toBe(200);
    expect(warnings.filter((w) => w.includes('rate limit'))).toHaveLength(3);
    // Core's backoff: full jitter below retryDelayMs (5) doubled per retry of the same call.
    expect(waits.map((w) => w.attempt)).toEqual([1, 2, 3]);
    for (const { attempt, delayMs } of waits) {
      expect(Number.isInteger(delayMs)).toBe(true);
      expect(delayMs).toBeGreaterThanOrEqual(0);
      expect(delayMs).toBeLessThan(5 * 2 ** (attempt - 1));
    }
  });

  it('maps a DAILY 429 to a FatalError that says when it resets', async () => {
    const connector = await connect(fake, { object: 'deals' });
    fake.inject({ status: 429, policyName: 'DAILY' });
    const error = await readAll(connector).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/daily API limit.*midnight/);
    expect((error as FatalError).details).toMatchObject({ policyName: 'DAILY', status: 429 });
  });

  it('names the field and the page of a malformed response', async () => {
    const connector = await connect(fake, { object: 'tickets' });
    fake.inject({
      status: 200,
      body: JSON.stringify({
        results: [
          {
            id: '9',
            properties: { subject: 5 },
            createdAt: '2026-01-01T00:00:00Z',
            updatedAt: '2026-01-01T00:00:00Z',
          },
        ],
      }),
    });
    const error = (await readAll(connector).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(FatalError);
    expect(error.message).toContain('list tickets (first page)');
    expect(error.message).toContain('results[0].properties.subject must be a string or null');
    fake.inject({
      status: 200,
      body: JSON.stringify({ results: [], paging: { next: { after: 7 } } }),
    });
    const paging = (await readAll(connector).catch((e: unknown) => e)) as Error;
    expect(paging.message).toContain('paging.next.after');
  });

  it('rejects a corrupt checkpoint with the field that is wrong', async () => {
    const connector = await connect(fake);
    const error = (await readAll(connector, {
      v: 1,
      phase: 'incremental',
      modifiedAt: 'yesterday',
      lastId: null,
    }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(FatalError);
    expect(error.message).toContain('state.modifiedAt');
  });

  it('stops promptly on abort during a slow response and keeps the last checkpoint usable', async () => {
    const connector = await connect(fake, { object: 'companies', pageSize: 50 });
    const controller = new AbortController();
    const seen: Page[] = [];
    fake.inject({ delayMs: 3_000, match: (r) => r.query.get('after') === '100' });
    const started = Date.now();
    const error = await (async () => {
      for await (const page of connector.read({}, controller.signal)) {
        seen.push(page);
        if (seen.length === 2) setTimeout(() => controller.abort(new Error('shutdown')), 50);
      }
    })().catch((e: unknown) => e);
    expect((error as Error).message).toBe('shutdown');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(seen).toHaveLength(2);
    const rest = await readAll(connector, seen[1]!.state!);
    expect(new Set([...ids(seen), ...ids(rest)]).size).toBe(200);
  });

  it('reads companies, deals, tickets and custom objects with associations', async () => {
    const deals = await connect(fake, {
      object: 'deals',
      properties: ['dealname', 'amount'],
      associations: ['companies', 'contacts'],
    });
    const records = (await readAll(deals)).flatMap((p) => p.records) as SluiceRecord[];
    expect(records).toHaveLength(300);
    expect(records[0]).toMatchObject({
      id: '1',
      objectType: 'deals',
      associations: { companies: ['1'], contacts: ['8'] },
    });
    const pets = await connect(fake, { object: HUBSPOT_FAKE_CUSTOM_TYPE, properties: undefined });
    const petPages = await readAll(pets);
    expect(ids(petPages)).toHaveLength(120);
    expect(Object.keys(petPages[0]!.records[0]!.properties as object)).toEqual(
      expect.arrayContaining(['pet_name', 'species', 'age', 'hs_lastmodifieddate']),
    );
    fake.touch(HUBSPOT_FAKE_CUSTOM_TYPE, 4);
    expect(ids(await readAll(pets, lastState(petPages)))).toHaveLength(4);
    const withStart = await connect(fake, { object: 'tickets', startDate: '2025-06-01' });
    const since = ids(await readAll(withStart));
    const expected = fake
      .objects('tickets')
      .filter((o) => o.updatedAt >= Date.UTC(2025, 5, 1)).length;
    expect(since).toHaveLength(expected);
  });

  it('check() explains a bad token and a missing scope; discover() lists the properties', async () => {
    const bad = await connect(fake, { accessToken: 'pat-na1-revoked' });
    const denied = await bad.check!();
    expect(denied.ok).toBe(false);
    expect(denied.message).toMatch(/rejected the access token.*accessToken/);
    fake.setToken('pat-na1-companies-only', ['crm.objects.companies.read']);
    const narrow = await connect(fake, { accessToken: 'pat-na1-companies-only' });
    const scope = await narrow.check!();
    expect(scope.ok).toBe(false);
    expect(scope.message).toContain('crm.objects.contacts.read');
    const good = await connect(fake, { properties: undefined, associations: ['companies'] });
    expect((await good.check!()).ok).toBe(true);
    const [stream] = await good.discover!();
    expect(stream!.name).toBe('contacts');
    const names = stream!.fields.map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'id',
        'updatedAt',
        'properties.lastmodifieddate',
        'properties.email',
        'associations.companies',
      ]),
    );
    expect(stream!.fields.find((f) => f.name === 'properties.lastmodifieddate')!.type).toBe(
      'datetime',
    );
  });

  it('validates its config with paths', () => {
    const error = (() => {
      try {
        parseConfig(hubspotConfigSchema, { accessToken: '', object: 'Contacts!', pageSize: 500 }, [
          'sources',
          'crm',
        ]);
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => i.path).sort()).toEqual([
      'sources.crm.accessToken',
      'sources.crm.object',
      'sources.crm.pageSize',
    ]);
  });

  it('registers as a plugin and counts records in metrics', async () => {
    const registry = new PluginRegistry().register(hubspotPlugin);
    expect(registry.kinds('connector')).toEqual(['hubspot']);
    const metrics = createMemoryMetrics();
    const connector = await registry.createConnector(
      'hubspot',
      {
        accessToken: fake.token,
        basePath: fake.url,
        ssrf: { allow: ['127.0.0.1'] },
        object: 'companies',
        rateLimit: fast,
      },
      createPluginContext({ metrics }),
    );
    await readAll(connector);
    expect(metrics.get('hubspot_records_read_total', { object: 'companies' })).toBe(200);
  });

  it('maps a network failure to a RetryableError', async () => {
    const closed = await startHubSpotFake({ sizes: { contacts: 5 } });
    await closed.close();
    const connector = await connect(closed);
    const error = await readAll(connector).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toMatch(/Could not reach HubSpot to list contacts/);
  });
});

describe('hubspot connector: outgoing-connection guard on basePath', () => {
  it('refuses loopback and metadata base URLs without opt-in: coded error, no TCP connection; reads with it', async () => {
    const fake = await startHubSpotFake({ sizes: { contacts: 3 } });
    const proxy = await startTcpProxy(Number(new URL(fake.url).port), '127.0.0.1', {
      listenHost: '::',
    });
    try {
      for (const host of [
        '127.0.0.1',
        'localhost',
        '[::1]',
        '[::ffff:127.0.0.1]',
        '[::127.0.0.1]',
        '2130706433',
        '169.254.169.254',
      ]) {
        const config = parseConfig(hubspotConfigSchema, {
          accessToken: fake.token,
          basePath: `http://${host}:${proxy.port}`,
          object: 'contacts',
          properties: ['email'],
          rateLimit: fast,
        });
        const connector = await hubspotConnector.create(config, createPluginContext());
        const error = await readAll(connector).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error, host).toBeInstanceOf(FatalError);
        expect(error, host).toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
          details: { field: 'basePath' },
        });
        expect((error as Error).message, host).toMatch(
          /^basePath: refusing to connect to .*(loopback|linkLocal) addresses are blocked/,
        );
        expect(await connector.check!(), host).toMatchObject({
          ok: false,
          details: { code: 'SLUICE_ERR_BLOCKED_ADDRESS' },
        });
      }
      expect(proxy.accepted).toBe(0);

      const allowed = await hubspotConnector.create(
        parseConfig(hubspotConfigSchema, {
          accessToken: fake.token,
          basePath: `http://127.0.0.1:${proxy.port}`,
          ssrf: { allow: ['127.0.0.1'] },
          object: 'contacts',
          properties: ['email'],
          rateLimit: fast,
        }),
        createPluginContext(),
      );
      expect(ids(await readAll(allowed))).toHaveLength(3);
      expect(proxy.accepted).toBeGreaterThan(0);
    } finally {
      await proxy.close();
      await fake.close();
    }
  });
});
