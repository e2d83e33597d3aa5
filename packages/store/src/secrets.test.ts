import { describe, expect, it } from 'vitest';
import { findPlaintextSecrets, isSecretKey, isSecretReference } from './secrets.js';

describe('the secret rule', () => {
  it('recognises secret field names, ignoring case, _ and -', () => {
    for (const key of [
      'password',
      'PGPASSWORD',
      'client_secret',
      'apiKey',
      'api-key',
      'accessToken',
      'private_key',
      'credentials',
      'Authorization',
      'pass',
      'secretAccessKey',
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of [
      'tokenUrl',
      'user',
      'keyPrefix',
      'propertyId',
      'passwordField',
      'secretName',
    ]) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });

  it('accepts env and file references, optionally after an auth scheme', () => {
    expect(isSecretReference('${env:TOKEN}')).toBe(true);
    expect(isSecretReference('${file:/run/secrets/token}')).toBe(true);
    expect(isSecretReference('Bearer ${env:TOKEN}')).toBe(true);
    expect(isSecretReference('abc ${env:TOKEN}')).toBe(false);
    expect(isSecretReference('${vault:TOKEN}')).toBe(false);
    expect(isSecretReference('xoxb-1234')).toBe(false);
  });

  it('lists every plaintext secret with its path, including marked paths and URL passwords', () => {
    const issues = findPlaintextSecrets(
      {
        apiKey: 'abc',
        token: '${env:OK}',
        nested: [{ password: 42 }, { password: null }],
        credentials: { type: 'service_account', private_key: '-----BEGIN PRIVATE KEY-----\nMIIE' },
        custom: { value: 'plain' },
        url: 'postgres://u:pw@db/x',
        dsn: 'postgres://u:${env:PW}@db/x',
        empty: { password: '' },
      },
      ['custom.value'],
    );
    expect(issues.map((i) => i.path)).toEqual([
      'apiKey',
      'nested[0].password',
      'credentials.private_key',
      'custom.value',
      'url',
    ]);
    expect(issues[0]?.message).toMatch(/\$\{env:NAME\}/);
    expect(
      findPlaintextSecrets({ kind: 'slack', channel: '#alerts', token: '${env:SLACK_TOKEN}' }),
    ).toEqual([]);
  });

  // Regression: a source with `credentials: { type: access-token, accessToken: ${env:T} }` (the
  // BigQuery/GA4 shape) was refused as a plaintext secret, so no server could store it.
  it('accepts structured credentials whose secret fields are references', () => {
    expect(
      findPlaintextSecrets({
        kind: 'bigquery',
        credentials: { type: 'access-token', accessToken: '${env:BQ_TOKEN}' },
      }),
    ).toEqual([]);
    expect(findPlaintextSecrets({ credentials: { type: 'application-default' } })).toEqual([]);
    expect(
      findPlaintextSecrets({
        credentials: {
          type: 'service-account',
          clientEmail: 'sluice@p.iam.gserviceaccount.com',
          privateKey: '${file:/run/secrets/bq-key.pem}',
        },
      }),
    ).toEqual([]);
    expect(
      findPlaintextSecrets({
        credentials: { type: 'access-token', accessToken: 'ya29.plain' },
        other: { credentials: { key: '-----BEGIN RSA PRIVATE KEY-----\nabc' } },
      }).map((i) => i.path),
    ).toEqual(['credentials.accessToken', 'other.credentials.key']);
  });
});
