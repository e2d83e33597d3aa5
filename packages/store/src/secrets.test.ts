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
        credentials: { type: 'service_account' },
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
      'credentials',
      'custom.value',
      'url',
    ]);
    expect(issues[0]?.message).toMatch(/\$\{env:NAME\}/);
    expect(
      findPlaintextSecrets({ kind: 'slack', channel: '#alerts', token: '${env:SLACK_TOKEN}' }),
    ).toEqual([]);
  });
});
