import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotFake, type HubSpotFake } from './hubspot.js';

// Wire-level checks of the fake with plain fetch; the HubSpot connector's tests drive it
// through the official SDK.
describe('HubSpot fake', () => {
  let fake: HubSpotFake;
  const call = async (path: string, init: RequestInit = {}, token = fake.token) => {
    const res = await fetch(`${fake.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...init.headers,
      },
    });
    return {
      status: res.status,
      headers: res.headers,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      body: (await res.json()) as Record<string, any>,
    };
  };
  const search = (body: unknown, type = 'contacts') =>
    call(`/crm/v3/objects/${type}/search`, { method: 'POST', body: JSON.stringify(body) });

  beforeAll(async () => {
    fake = await startHubSpotFake({ sizes: { contacts: 12_000, companies: 20 } });
  });
  afterAll(() => fake.close());

  it('generates the same data set from the same seed', async () => {
    const other = await startHubSpotFake({ sizes: { contacts: 12_000, companies: 20 } });
    try {
      expect(other.objects('contacts').slice(0, 50)).toEqual(fake.objects('contacts').slice(0, 50));
      expect(other.objects('contacts')).toHaveLength(12_000);
    } finally {
      await other.close();
    }
  });

  it('lists objects in id order with after-paging, selected properties and associations', async () => {
    const first = await call(
      '/crm/v3/objects/contacts?limit=100&properties=email&associations=companies',
    );
    expect(first.status).toBe(200);
    expect(first.body.results).toHaveLength(100);
    expect(first.body.results[0]).toMatchObject({ id: '1', archived: false });
    expect(Object.keys(first.body.results[0].properties).sort()).toEqual([
      'email',
      'hs_object_id',
      'lastmodifieddate',
    ]);
    expect(first.body.results[0].associations.companies.results[0].id).toBe('1');
    expect(first.body.paging.next.after).toBe('100');
    const second = await call(
      `/crm/v3/objects/contacts?limit=100&after=${first.body.paging.next.after}`,
    );
    expect(second.body.results[0].id).toBe('101');
    const last = await call('/crm/v3/objects/contacts?limit=100&after=11950');
    expect(last.body.results).toHaveLength(50);
    expect(last.body.paging).toBeUndefined();
    expect((await call('/crm/v3/objects/contacts?limit=101')).status).toBe(400);
    expect(first.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
  });

  it('searches with filters, one sort, after offsets and the 10,000-result cap', async () => {
    const from = Date.UTC(2025, 3, 1);
    const body = {
      filterGroups: [
        { filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(from) }] },
      ],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      properties: ['email', 'lastmodifieddate'],
      limit: 200,
    };
    const page = await search(body);
    expect(page.status).toBe(200);
    const expected = fake.objects('contacts').filter((o) => o.updatedAt >= from).length;
    expect(page.body.total).toBe(expected);
    const times = page.body.results.map((r: { properties: { lastmodifieddate: string } }) =>
      Date.parse(r.properties.lastmodifieddate),
    );
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(from);
    expect(page.body.paging.next.after).toBe('200');
    expect((await search({ ...body, after: '9800' })).status).toBe(200);
    const past = await search({ ...body, after: '9900' });
    expect(past.status).toBe(400);
    expect(past.body.message).toMatch(/10000/);
    expect((await search({ ...body, limit: 201 })).status).toBe(400);
    expect((await search({ ...body, sorts: ['email', 'lastmodifieddate'] })).status).toBe(400);
    const byId = await search({
      filterGroups: [
        { filters: [{ propertyName: 'hs_object_id', operator: 'GT', value: '11990' }] },
      ],
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
      limit: 5,
    });
    expect(byId.body.results.map((r: { id: string }) => r.id)).toEqual([
      '11991',
      '11992',
      '11993',
      '11994',
      '11995',
    ]);
    expect(byId.body.total).toBe(10);
  });

  it('mutates data with several updates in the same millisecond', async () => {
    const ids = fake.touch('contacts', 10, { sameMillisecond: 4 });
    expect(ids).toHaveLength(10);
    const touched = ids.map((id) => fake.objects('contacts')[Number(id) - 1]!.updatedAt);
    expect(new Set(touched.slice(0, 4)).size).toBe(1);
    expect(new Set(touched).size).toBe(7);
    const created = fake.create('contacts', 2);
    expect(created).toEqual(['12001', '12002']);
    const got = await call('/crm/v3/objects/contacts/12002');
    expect(got.body.properties.email).toBe('new-12002');
  });

  it('injects 429s with policy names and headers, 401s, 5xx, malformed bodies and delays', async () => {
    fake.inject({ status: 429, policyName: 'TEN_SECONDLY_ROLLING' });
    const limited = await call('/crm/v3/objects/companies');
    expect(limited.status).toBe(429);
    expect(limited.body.policyName).toBe('TEN_SECONDLY_ROLLING');
    expect(limited.headers.get('x-hubspot-ratelimit-daily-remaining')).not.toBeNull();
    fake.inject({ status: 429, policyName: 'DAILY' });
    expect((await call('/crm/v3/objects/companies')).body.message).toBe(
      'You have reached your daily limit.',
    );
    fake.inject({ status: 503 });
    expect((await call('/crm/v3/objects/companies')).status).toBe(503);
    expect((await call('/crm/v3/objects/companies', {}, 'wrong')).status).toBe(401);
    fake.inject({ status: 200, body: '{"results":[{"id":7}]}' });
    expect((await call('/crm/v3/objects/companies')).body).toEqual({ results: [{ id: 7 }] });
    fake.inject({ delayMs: 150 });
    const t0 = Date.now();
    expect((await call('/crm/v3/objects/companies')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    fake.setToken('narrow', ['crm.objects.companies.read']);
    const denied = await call('/crm/v3/objects/contacts', {}, 'narrow');
    expect(denied.status).toBe(403);
    expect(denied.body.category).toBe('MISSING_SCOPES');
  });

  it('enforces an optional rolling limit and counts requests per window', async () => {
    const limited = await startHubSpotFake({
      sizes: { contacts: 10 },
      rateLimit: { max: 3, intervalMs: 60_000 },
    });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) {
        statuses.push(
          (
            await fetch(`${limited.url}/crm/v3/objects/contacts`, {
              headers: { authorization: `Bearer ${limited.token}` },
            })
          ).status,
        );
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(limited.maxRequestsInWindow(60_000)).toBe(5);
      expect(limited.maxRequestsInWindow(60_000, 'other')).toBe(0);
    } finally {
      await limited.close();
    }
  });

  it('serves property definitions and v4 batch association reads', async () => {
    const props = await call('/crm/v3/properties/contacts');
    expect(props.body.results.map((p: { name: string }) => p.name)).toContain('lastmodifieddate');
    const assoc = await call('/crm/v4/associations/contacts/companies/batch/read', {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ id: '1' }, { id: '2' }] }),
    });
    expect(assoc.body.results[0]).toMatchObject({ from: { id: '1' }, to: [{ toObjectId: 1 }] });
  });
});
