import { Signature } from '@hubspot/api-client';
import { describe, expect, it } from 'vitest';
import { hubspotSignedUri, signHubSpotV3 } from './hubspot.js';
import { signSlackRequest } from './slack.js';
import { parseStandardWebhooksSecret, signStandardWebhook } from './standard-webhooks.js';
import { verifyWebhook } from './verify.js';

// Published vector of the Standard Webhooks reference libraries.
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SW_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const SW_TS = 1614265330;
const SW_BODY = Buffer.from('{"test": 2432232314}');
const SW_SIG = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

// Published example of Slack's "Verifying requests from Slack".
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_TS = 1531420618;
const SLACK_BODY = Buffer.from(
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
);
const SLACK_SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

const swHeaders = (sig = SW_SIG, ts = SW_TS, id = SW_ID) => ({
  'webhook-id': id,
  'webhook-timestamp': String(ts),
  'webhook-signature': sig,
});

describe('Standard Webhooks', () => {
  const base = {
    scheme: 'standard-webhooks' as const,
    secret: SW_SECRET,
    rawBody: SW_BODY,
    now: SW_TS * 1000,
  };

  it('signs the published test vector', () => {
    expect(signStandardWebhook(SW_SECRET, SW_ID, SW_TS, SW_BODY)).toBe(SW_SIG);
    expect(parseStandardWebhooksSecret('whsec_not base64!').ok).toBe(false);
  });

  it('accepts the vector and returns webhook-id as delivery id', () => {
    expect(verifyWebhook({ ...base, headers: swHeaders() })).toEqual({
      ok: true,
      deliveryId: SW_ID,
      timestamp: SW_TS * 1000,
    });
  });

  it('accepts the vector with every spelling of the secret the webhook destination accepts (one parser in core)', () => {
    const bare = SW_SECRET.slice('whsec_'.length);
    for (const secret of [SW_SECRET, bare]) {
      expect(verifyWebhook({ ...base, secret, headers: swHeaders() }), secret).toEqual({
        ok: true,
        deliveryId: SW_ID,
        timestamp: SW_TS * 1000,
      });
    }
    const unpadded = Buffer.from('seventeen bytes!!');
    const signature = signStandardWebhook(
      `whsec_${unpadded.toString('base64')}`,
      SW_ID,
      SW_TS,
      SW_BODY,
    );
    const secret = `whsec_${unpadded.toString('base64').replace(/=+$/, '')}`;
    expect(verifyWebhook({ ...base, secret, headers: swHeaders(signature) }).ok).toBe(true);
  });

  it('accepts any matching signature among several, and mixed-case header names', () => {
    const headers = {
      'Webhook-Id': SW_ID,
      'Webhook-Timestamp': String(SW_TS),
      'Webhook-Signature': `v1,Ym9ndXM= v1a,xyz ${SW_SIG}`,
    };
    expect(verifyWebhook({ ...base, headers }).ok).toBe(true);
  });

  it('rejects a wrong secret, a tampered body, a tampered id and a stale or future timestamp', () => {
    const wrong = verifyWebhook({
      ...base,
      secret: 'whsec_' + Buffer.from('another secret').toString('base64'),
      headers: swHeaders(),
    });
    expect(wrong).toMatchObject({ ok: false, reason: 'bad-signature', status: 401 });
    expect(
      verifyWebhook({
        ...base,
        rawBody: Buffer.from('{"test": 2432232315}'),
        headers: swHeaders(),
      }),
    ).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(
      verifyWebhook({ ...base, headers: swHeaders(SW_SIG, SW_TS, 'msg_other') }),
    ).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(
      verifyWebhook({ ...base, now: (SW_TS + 301) * 1000, headers: swHeaders() }),
    ).toMatchObject({ ok: false, reason: 'stale-timestamp', status: 401 });
    expect(
      verifyWebhook({ ...base, now: (SW_TS - 301) * 1000, headers: swHeaders() }),
    ).toMatchObject({ ok: false, reason: 'stale-timestamp' });
    expect(verifyWebhook({ ...base, now: (SW_TS + 299) * 1000, headers: swHeaders() }).ok).toBe(
      true,
    );
  });

  it('names missing and malformed headers and bad secrets', () => {
    expect(
      verifyWebhook({
        ...base,
        headers: { 'webhook-timestamp': '1', 'webhook-signature': SW_SIG },
      }),
    ).toMatchObject({
      reason: 'missing-header',
      message: 'missing header webhook-id',
      status: 400,
    });
    expect(
      verifyWebhook({ ...base, headers: swHeaders(SW_SIG, 'soon' as unknown as number) }),
    ).toMatchObject({ reason: 'invalid-header' });
    expect(verifyWebhook({ ...base, headers: swHeaders('v2,abc') })).toMatchObject({
      reason: 'bad-signature',
    });
    expect(verifyWebhook({ ...base, secret: 'plain secret', headers: swHeaders() })).toMatchObject({
      reason: 'invalid-secret',
    });
    expect(verifyWebhook({ ...base, secret: undefined, headers: swHeaders() })).toMatchObject({
      reason: 'missing-secret',
      status: 500,
    });
  });
});

describe('HubSpot v3', () => {
  const secret = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
  const url = 'https://www.example.com/webhook_uri';
  const body = Buffer.from('{"example_field":"example_value"}');
  const now = 1_760_000_000_000;
  const headers = (sig: string, ts = now) => ({
    'X-HubSpot-Signature-v3': sig,
    'X-HubSpot-Request-Timestamp': String(ts),
  });

  it('computes the same signature as the official SDK', () => {
    const official = Signature.getSignature('POST', 'v3', {
      clientSecret: secret,
      requestBody: body.toString(),
      url,
      timestamp: now,
      signature: '',
    });
    expect(signHubSpotV3(secret, 'POST', url, body, now)).toBe(official);
  });

  it('accepts a valid request; the delivery id is stable for the same signed request', () => {
    const sig = signHubSpotV3(secret, 'POST', url, body, now);
    const first = verifyWebhook({
      scheme: 'hubspot-v3',
      secret,
      headers: headers(sig),
      rawBody: body,
      method: 'post',
      url,
      now: now + 1000,
    });
    const again = verifyWebhook({
      scheme: 'hubspot-v3',
      secret,
      headers: headers(sig),
      rawBody: body,
      method: 'POST',
      url,
      now: now + 2000,
    });
    expect(first.ok && again.ok && first.deliveryId === again.deliveryId).toBe(true);
  });

  it('decodes the escapes HubSpot decodes before signing', () => {
    expect(hubspotSignedUri('https://x.test/h?a=1%3A2%2C3&b=%20')).toBe(
      'https://x.test/h?a=1:2,3&b=%20',
    );
    const signed = signHubSpotV3(secret, 'POST', 'https://x.test/h?a=1:2', body, now);
    expect(
      verifyWebhook({
        scheme: 'hubspot-v3',
        secret,
        headers: headers(signed),
        rawBody: body,
        url: 'https://x.test/h?a=1%3A2',
        now,
      }).ok,
    ).toBe(true);
  });

  it('rejects a wrong secret, another URL or method, a tampered body, a stale timestamp, a missing url', () => {
    const sig = signHubSpotV3(secret, 'POST', url, body, now);
    const check = (over: object) =>
      verifyWebhook({
        scheme: 'hubspot-v3',
        secret,
        headers: headers(sig),
        rawBody: body,
        method: 'POST',
        url,
        now,
        ...over,
      });
    expect(check({ secret: 'other' })).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(check({ url: url + '?x=1' })).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(check({ method: 'PUT' })).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(check({ rawBody: Buffer.from('{}') })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    expect(check({ now: now + 300_001 })).toMatchObject({ ok: false, reason: 'stale-timestamp' });
    expect(check({ url: undefined })).toMatchObject({ ok: false, reason: 'invalid-header' });
    expect(check({ headers: { 'X-HubSpot-Signature-v3': sig } })).toMatchObject({
      ok: false,
      reason: 'missing-header',
    });
  });
});

describe('Slack v0', () => {
  const now = SLACK_TS * 1000;

  it('signs and accepts the published example', () => {
    expect(signSlackRequest(SLACK_SECRET, SLACK_TS, SLACK_BODY)).toBe(SLACK_SIG);
    const headers = {
      'x-slack-signature': SLACK_SIG,
      'x-slack-request-timestamp': String(SLACK_TS),
    };
    const result = verifyWebhook({
      scheme: 'slack',
      secret: SLACK_SECRET,
      headers,
      rawBody: SLACK_BODY,
      now,
    });
    expect(result).toMatchObject({ ok: true, timestamp: now });
    expect(result.ok && result.deliveryId.startsWith('slack:')).toBe(true);
  });

  it('rejects a wrong secret, a tampered body or timestamp, a stale request and an upper-case hex signature', () => {
    const headers = {
      'x-slack-signature': SLACK_SIG,
      'x-slack-request-timestamp': String(SLACK_TS),
    };
    const check = (over: object) =>
      verifyWebhook({
        scheme: 'slack',
        secret: SLACK_SECRET,
        headers,
        rawBody: SLACK_BODY,
        now,
        ...over,
      });
    expect(check({ secret: 'nope' })).toMatchObject({ reason: 'bad-signature' });
    expect(check({ rawBody: Buffer.concat([SLACK_BODY, Buffer.from('x')]) })).toMatchObject({
      reason: 'bad-signature',
    });
    expect(
      check({ headers: { ...headers, 'x-slack-request-timestamp': String(SLACK_TS + 1) }, now }),
    ).toMatchObject({ reason: 'bad-signature' });
    expect(check({ now: now + 10 * 60_000 })).toMatchObject({ reason: 'stale-timestamp' });
    expect(
      check({ headers: { ...headers, 'x-slack-signature': SLACK_SIG.toUpperCase() } }),
    ).toMatchObject({ reason: 'bad-signature' });
    expect(check({ toleranceSeconds: 60, now: now + 61_000 })).toMatchObject({
      reason: 'stale-timestamp',
    });
  });
});

describe('scheme none and unknown schemes', () => {
  it('accepts everything, using a sender id when present', () => {
    expect(
      verifyWebhook({
        scheme: 'none',
        headers: { 'Idempotency-Key': 'k1' },
        rawBody: Buffer.from('{}'),
      }),
    ).toEqual({ ok: true, deliveryId: 'none:k1' });
    const anonymous = verifyWebhook({ scheme: 'none', headers: {}, rawBody: Buffer.from('{}') });
    expect(anonymous.ok && anonymous.deliveryId.startsWith('none:')).toBe(true);
  });

  it('refuses an unknown scheme', () => {
    expect(
      verifyWebhook({ scheme: 'md5' as never, secret: 's', headers: {}, rawBody: Buffer.alloc(0) }),
    ).toMatchObject({ ok: false, reason: 'unknown-scheme' });
  });
});
