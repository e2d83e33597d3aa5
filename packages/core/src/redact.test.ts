import { describe, expect, it } from 'vitest';
import { REDACTED, createRedactor } from './redact.js';

describe('createRedactor: forms and shapes a secret can take', () => {
  it('finds a secret in its JSON-escaped form (quotes, backslashes, newlines)', () => {
    const secret = 'pa"ss\\word\nline two';
    const redact = createRedactor([secret]);
    expect(redact(`expected number, got ${JSON.stringify(secret)}`)).toBe(
      `expected number, got "${REDACTED}"`,
    );
    expect(redact({ raw: `x${secret}y` })).toEqual({ raw: `x${REDACTED}y` });
  });

  it('finds a secret percent-encoded, as in a URL', () => {
    const redact = createRedactor(['p@ss/w rd']);
    expect(redact('connect postgres://app:p%40ss%2Fw%20rd@db/app failed')).toBe(
      `connect postgres://app:${REDACTED}@db/app failed`,
    );
  });

  it('redacts an object in every place it appears, not only the first', () => {
    const redact = createRedactor(['s3cr3t-value']);
    const record = { token: 's3cr3t-value' };
    // A dry run lists the same output record under its route and under its destination.
    const out = redact({ records: [{ output: [record] }], destinations: { files: [record] } });
    expect(out).toEqual({
      records: [{ output: [{ token: REDACTED }] }],
      destinations: { files: [{ token: REDACTED }] },
    });
    expect(record.token).toBe('s3cr3t-value');
  });

  it('cuts a value that contains itself instead of returning it unredacted', () => {
    const redact = createRedactor(['s3cr3t-value']);
    const cyclic: Record<string, unknown> = { token: 's3cr3t-value' };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ token: REDACTED, self: '[circular]' });
  });

  it('redacts object keys, keeps dates and follows toJSON', () => {
    const redact = createRedactor(['s3cr3t-value']);
    const at = new Date('2026-01-02T03:04:05Z');
    const custom = { toJSON: () => ({ echoed: 'id s3cr3t-value' }) };
    expect(redact({ 's3cr3t-value': 1, at, custom })).toEqual({
      [REDACTED]: 1,
      at,
      custom: { echoed: `id ${REDACTED}` },
    });
    expect((redact({ at }) as { at: Date }).at).toBeInstanceOf(Date);
  });

  it('copies an error with its stack, code, details and cause, all redacted', () => {
    const redact = createRedactor(['s3cr3t-value']);
    const cause = new Error('driver said s3cr3t-value');
    const error = Object.assign(new TypeError('login with s3cr3t-value failed', { cause }), {
      code: 'E_LOGIN',
      details: { user: 'u:s3cr3t-value' },
    });
    const copy = redact(error) as TypeError & { code: string; details: object; cause: Error };
    expect(copy).not.toBe(error);
    expect(copy.name).toBe('TypeError');
    expect(copy.message).toBe(`login with ${REDACTED} failed`);
    expect(copy.stack).toContain(`login with ${REDACTED} failed`);
    expect(copy.stack).toContain('redact.test.ts');
    expect(copy.code).toBe('E_LOGIN');
    expect(copy.details).toEqual({ user: `u:${REDACTED}` });
    expect(copy.cause.message).toBe(`driver said ${REDACTED}`);
    expect(JSON.stringify({ stack: copy.stack, cause: copy.cause.stack })).not.toContain(
      's3cr3t-value',
    );
  });
});
