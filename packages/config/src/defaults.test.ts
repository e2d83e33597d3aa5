import { describe, expect, it } from 'vitest';
import { DEFAULTS, MIB, defaultOf } from './index.js';

describe('DEFAULTS', () => {
  it('holds the documented values', () => {
    expect(DEFAULTS.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      apiKeys: [],
      auth: true,
      cors: false,
      bodyLimitBytes: MIB,
      dashboard: true,
      rateLimit: { perMinute: 600 },
    });
    expect(DEFAULTS.store.dataDir).toBe('./.sluice');
    expect(DEFAULTS.schedule).toEqual({
      timezone: 'UTC',
      missed: 'skip',
      jitterMs: 0,
      enabled: true,
    });
    expect(DEFAULTS.webhook).toEqual({
      toleranceSeconds: 300,
      maxBytes: 1024 * 1024,
      payload: 'input',
    });
    expect(DEFAULTS.webhookInbox).toEqual({ maxRecords: 1000, maxWaitMs: 500, maxDepth: 100_000 });
    expect(DEFAULTS.route).toEqual({ priority: 0, mode: 'continue', onError: 'dead-letter' });
  });
  it('is deeply frozen', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.server.rateLimit)).toBe(true);
    expect(() => {
      (DEFAULTS.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('defaultOf', () => {
  it('returns a fresh mutable copy on every call', () => {
    const make = defaultOf(DEFAULTS.server);
    const a = make();
    const b = make();
    expect(a).toEqual(DEFAULTS.server);
    expect(a).not.toBe(b);
    a.rateLimit.perMinute = 1;
    expect(b.rateLimit.perMinute).toBe(600);
    expect(Object.isFrozen(a)).toBe(false);
  });
});
