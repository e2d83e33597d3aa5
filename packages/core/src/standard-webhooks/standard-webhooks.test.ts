import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  MIN_SIGNING_KEY_BYTES,
  constantTimeEqual,
  createWebhookSigner,
  parseStandardWebhooksSecret,
  signStandardWebhook,
  signingSecretProblem,
  verifyStandardWebhook,
} from './index.js';

// Published vector of the Standard Webhooks reference libraries.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

const KEY = Buffer.from('sluice-standard-webhooks-key-32b');

/** Every form of one key that both sides must accept. */
const ACCEPTED_FORMS: readonly string[] = [
  `whsec_${KEY.toString('base64')}`, // as senders issue it
  KEY.toString('base64'), // bare base64
  `whsec_${Buffer.from('seventeen bytes!!').toString('base64')}`, // padded with "="
  Buffer.from('sixteen bytes!!!').toString('base64'), // padded with "==", bare
  `whsec_${Buffer.from('seventeen bytes!!').toString('base64').replace(/=+$/, '')}`, // padding left out
  Buffer.from('sixteen bytes!!!').toString('base64').replace(/=+$/, ''), // padding left out, bare
];

/** Secrets refused by both sides (by ours as a problem, by the official package as a throw). */
const REFUSED_FORMS: readonly string[] = [
  '',
  'whsec_',
  'hunter 2', // not base64 at all
  'whsec_YQ', // too short without its padding
  'whsec_YQ=', // wrong padding
  'whsec_YWJj====', // too much padding
  'whsec_not base64!',
  `whsec_${Buffer.from([0xfb, 0xff, 0xfe, 0xfb, 0xef, 0xbe, 0xfa, 0xff, 0xfb, 0xff, 0xbf, 0xff]).toString('base64url')}`, // URL-safe alphabet
];

const officialAccepts = (secret: string): boolean => {
  try {
    new Webhook(secret);
    return true;
  } catch {
    return false;
  }
};

describe('the Standard Webhooks secret parser', () => {
  it('accepts the forms the official package accepts, with the same key', () => {
    for (const secret of ACCEPTED_FORMS) {
      const parsed = parseStandardWebhooksSecret(secret);
      expect(parsed.ok, secret).toBe(true);
      expect(officialAccepts(secret), secret).toBe(true);
      expect(signingSecretProblem(secret), secret).toBeUndefined();
    }
    expect(parseStandardWebhooksSecret(ACCEPTED_FORMS[0]!)).toEqual({ ok: true, key: KEY });
    expect(parseStandardWebhooksSecret(ACCEPTED_FORMS[1]!)).toEqual({ ok: true, key: KEY });
  });

  it('refuses the forms the official package refuses, without quoting the secret', () => {
    for (const secret of REFUSED_FORMS) {
      const parsed = parseStandardWebhooksSecret(secret);
      expect(parsed.ok, secret).toBe(false);
      expect(officialAccepts(secret), secret).toBe(false);
      // One fixed message: it never quotes the secret.
      expect(parsed).toEqual({
        ok: false,
        problem:
          'must be "whsec_" followed by base64 key bytes (standard alphabet; "=" padding optional, but when present it must make the length a multiple of 4), or that base64 alone',
      });
      expect(signingSecretProblem(secret), secret).toMatch(/base64/);
    }
  });

  it('refuses padding that does not end a 4-character group, which the official package tolerates', () => {
    for (const secret of ['whsec_YWJjZA=', 'whsec_YWJjZGU==']) {
      expect(parseStandardWebhooksSecret(secret).ok, secret).toBe(false);
      expect(officialAccepts(secret), secret).toBe(true);
    }
  });

  it('refuses a length that leaves one character over, which the official package would silently drop', () => {
    for (const secret of [
      'whsec_YWJjZ',
      'hunter2xy',
      `whsec_${KEY.toString('base64').replace(/=+$/, '')}xy`,
    ]) {
      expect(parseStandardWebhooksSecret(secret).ok, secret).toBe(false);
      // The official package signs with the key of the text minus its last character: another key.
      const dropped = secret.slice(0, -1);
      const at = new Date(TS * 1000);
      expect(new Webhook(secret).sign(ID, at, BODY), secret).toBe(
        new Webhook(dropped).sign(ID, at, BODY),
      );
    }
  });

  it('signs only with a key of at least 16 bytes', () => {
    expect(MIN_SIGNING_KEY_BYTES).toBe(16);
    expect(signingSecretProblem(`whsec_${Buffer.alloc(15, 1).toString('base64')}`)).toBe(
      'the key must be at least 16 bytes (128 bits)',
    );
    expect(signingSecretProblem(`whsec_${Buffer.alloc(16, 1).toString('base64')}`)).toBeUndefined();
    expect(() => createWebhookSigner('whsec_c2VjcmV0')).toThrow(
      new TypeError('signing.secret the key must be at least 16 bytes (128 bits)'),
    );
    expect(() => createWebhookSigner('whsec_not base64!')).toThrow(
      /^signing\.secret must be "whsec_" followed by base64/,
    );
    // Bare base64 is a form, but "hunter2" decodes to 5 bytes: too short to sign with.
    expect(signingSecretProblem('hunter2')).toBe('the key must be at least 16 bytes (128 bits)');
  });
});

describe('signing', () => {
  it('signs the published test vector, from a string or the raw bytes', () => {
    expect(signStandardWebhook(SECRET, ID, TS, BODY)).toBe(SIGNATURE);
    expect(signStandardWebhook(SECRET, ID, TS, Buffer.from(BODY))).toBe(SIGNATURE);
    expect(signStandardWebhook(SECRET.slice('whsec_'.length), ID, TS, BODY)).toBe(SIGNATURE);
    expect(() => signStandardWebhook('whsec_not base64!', ID, TS, BODY)).toThrow(TypeError);
  });

  it('produces the three headers, the timestamp in whole seconds', () => {
    expect(createWebhookSigner(SECRET).sign(ID, TS + 0.9, BODY)).toEqual({
      'webhook-id': ID,
      'webhook-timestamp': String(TS),
      'webhook-signature': SIGNATURE,
    });
  });

  it('is verified by the official standardwebhooks package, for every accepted secret form', () => {
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ records: [{ id: 1, name: 'Zoë' }] });
    for (const secret of ACCEPTED_FORMS) {
      const headers = createWebhookSigner(secret).sign(`msg_${secret.length}`, now, body);
      expect(new Webhook(secret).verify(body, { ...headers }), secret).toEqual({
        records: [{ id: 1, name: 'Zoë' }],
      });
      // The official package also verifies it with the other spelling of the same key.
      const other = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : `whsec_${secret}`;
      expect(() => new Webhook(other).verify(body, { ...headers }), other).not.toThrow();
      const tampered = {
        ...headers,
        'webhook-signature': signStandardWebhook(secret, headers['webhook-id'], now, `${body} `),
      };
      expect(() => new Webhook(secret).verify(body, tampered)).toThrow(
        'No matching signature found',
      );
    }
  });
});

describe('verifying', () => {
  const message = {
    secret: SECRET,
    id: ID,
    timestampSeconds: TS,
    signature: SIGNATURE,
    body: Buffer.from(BODY),
    nowMs: TS * 1000,
  };

  it('accepts the published vector', () => {
    expect(verifyStandardWebhook(message)).toEqual({ ok: true });
    expect(verifyStandardWebhook({ ...message, body: BODY })).toEqual({ ok: true });
  });

  it('accepts what the official standardwebhooks package signs, for every accepted secret form', () => {
    const now = Math.floor(Date.now() / 1000);
    for (const secret of ACCEPTED_FORMS) {
      const signature = new Webhook(secret).sign(
        `msg_${secret.length}`,
        new Date(now * 1000),
        BODY,
      );
      const result = verifyStandardWebhook({
        secret,
        id: `msg_${secret.length}`,
        timestampSeconds: now,
        signature,
        body: BODY,
        nowMs: Date.now(),
      });
      expect(result, secret).toEqual({ ok: true });
      const wrongId = verifyStandardWebhook({
        secret,
        id: 'msg_other',
        timestampSeconds: now,
        signature,
        body: BODY,
        nowMs: Date.now(),
      });
      expect(wrongId, secret).toMatchObject({ ok: false, reason: 'bad-signature' });
    }
  });

  it('accepts any matching v1 entry among several separated by spaces, skipping other versions', () => {
    expect(
      verifyStandardWebhook({
        ...message,
        signature: `v1,Ym9ndXM= v1a,xyz v2,${SIGNATURE.slice(3)} ${SIGNATURE}`,
      }),
    ).toEqual({ ok: true });
    expect(
      verifyStandardWebhook({ ...message, signature: `v2,${SIGNATURE.slice(3)}` }),
    ).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifyStandardWebhook({ ...message, signature: `v1,Ym9ndXM= v1` })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('rejects a wrong secret, a tampered body or id, and a timestamp outside the tolerance', () => {
    const otherSecret = `whsec_${Buffer.from('another secret').toString('base64')}`;
    expect(verifyStandardWebhook({ ...message, secret: otherSecret })).toEqual({
      ok: false,
      reason: 'bad-signature',
      message: 'no v1 signature in webhook-signature matched',
    });
    expect(verifyStandardWebhook({ ...message, body: '{"test": 2432232315}' })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyStandardWebhook({ ...message, id: 'msg_other' })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyStandardWebhook({ ...message, nowMs: (TS + 301) * 1000 })).toEqual({
      ok: false,
      reason: 'stale-timestamp',
      message: 'webhook-timestamp is more than 300s away from the server clock',
    });
    expect(verifyStandardWebhook({ ...message, nowMs: (TS - 301) * 1000 })).toMatchObject({
      ok: false,
      reason: 'stale-timestamp',
    });
    expect(verifyStandardWebhook({ ...message, nowMs: (TS + 300) * 1000 })).toEqual({ ok: true });
    expect(verifyStandardWebhook({ ...message, nowMs: (TS - 300) * 1000 })).toEqual({ ok: true });
    expect(
      verifyStandardWebhook({ ...message, nowMs: (TS + 61) * 1000, toleranceSeconds: 60 }),
    ).toMatchObject({ ok: false, reason: 'stale-timestamp' });
  });

  it('rejects a secret in no accepted form and a timestamp that is not whole seconds', () => {
    const bad = verifyStandardWebhook({ ...message, secret: 'plain secret' });
    expect(bad).toMatchObject({ ok: false, reason: 'invalid-secret' });
    expect(!bad.ok && bad.message).not.toContain('plain secret');
    expect(verifyStandardWebhook({ ...message, timestampSeconds: TS + 0.5 })).toMatchObject({
      ok: false,
      reason: 'invalid-timestamp',
    });
    expect(verifyStandardWebhook({ ...message, timestampSeconds: -1 })).toMatchObject({
      ok: false,
      reason: 'invalid-timestamp',
    });
  });
});

describe('constantTimeEqual', () => {
  it('compares bytes, different lengths unequal', () => {
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
  });
});
