import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPluginContext,
  systemClock,
  type Clock,
  type ConnectorInstance,
  type Page,
} from '@sluice/core';
import { startHubSpotFake, type HubSpotFake } from '@sluice/testing';
import { hubspotConnector } from './index.js';
import { TokenBucket, rateLimiterFor, tokenKey } from './rate-limit.js';
import { hubspotConfigSchema } from './config.js';
import * as v from 'valibot';

/** A clock that only moves when a sleeper asks it to, so bucket maths is exact. */
function manualClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('TokenBucket', () => {
  it('never lets more than the budget through in any rolling interval', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ requests: 100, intervalMs: 10_000 }, clock);
    const times: number[] = [];
    for (let i = 0; i < 500; i++) {
      await bucket.take();
      times.push(clock.now());
    }
    let max = 0;
    for (let end = 0, start = 0; end < times.length; end++) {
      while (times[end]! - times[start]! >= 10_000) start++;
      max = Math.max(max, end - start + 1);
    }
    expect(max).toBeLessThanOrEqual(100);
    expect(max).toBeGreaterThanOrEqual(90);
    expect(times[9]).toBe(0); // a burst of a tenth of the budget
  });

  it('pauses every taker after a 429 and honours abort while waiting', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ requests: 10, intervalMs: 1_000 }, clock);
    bucket.pause(5_000);
    await bucket.take();
    expect(clock.now()).toBeGreaterThanOrEqual(5_000);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(bucket.take(controller.signal)).rejects.toThrow('stop');
    await bucket.take();
  });

  it('is shared by token hash, and the strictest policy wins', () => {
    const a = rateLimiterFor('token-a', { requests: 100, intervalMs: 10_000 }, 4, systemClock);
    const again = rateLimiterFor('token-a', { requests: 50, intervalMs: 10_000 }, 4, systemClock);
    const other = rateLimiterFor('token-b', { requests: 100, intervalMs: 10_000 }, 4, systemClock);
    expect(again).toBe(a);
    expect(other).not.toBe(a);
    expect(a.general.policy.requests).toBe(50);
    rateLimiterFor('token-a', { requests: 500, intervalMs: 10_000 }, 4, systemClock);
    expect(a.general.policy.requests).toBe(50);
    expect(tokenKey('token-a')).not.toContain('token');
    expect(tokenKey('token-a')).toHaveLength(32);
  });
});

describe('rate limiting against the fake', () => {
  let fake: HubSpotFake;
  beforeAll(async () => {
    // The fake enforces 12 requests per 600 ms like HubSpot's rolling policy would.
    fake = await startHubSpotFake({
      sizes: { contacts: 1_500, companies: 300 },
      rateLimit: { max: 12, intervalMs: 600 },
    });
  });
  afterAll(() => fake.close());

  // `create` imports the implementation first, so it answers with a promise.
  const create = async (object: string): Promise<ConnectorInstance> =>
    hubspotConnector.create(
      v.parse(hubspotConfigSchema, {
        accessToken: fake.token,
        basePath: fake.url,
        ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
        object,
        properties: ['hs_object_id'],
        rateLimit: { requests: 12, intervalMs: 600, searchRequestsPerSecond: 100 },
      }),
      createPluginContext(),
    );

  const drain = async (creating: Promise<ConnectorInstance>) => {
    const instance = await creating;
    const pages: Page[] = [];
    for await (const page of instance.read({}, new AbortController().signal)) pages.push(page);
    return pages.flatMap((p) => p.records).length;
  };

  it('keeps two pipelines on one token under the shared limit together', async () => {
    const [contacts, companies] = await Promise.all([
      drain(create('contacts')),
      drain(create('companies')),
    ]);
    expect(contacts).toBe(1_500);
    expect(companies).toBe(300);
    expect(fake.requests).toHaveLength(18);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(0);
    expect(fake.maxRequestsInWindow(600, fake.token)).toBeLessThanOrEqual(12);
  });
});
