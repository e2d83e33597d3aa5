import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { googleCredentialsSchema } from './config.js';

const keyFile = JSON.stringify({
  type: 'service_account',
  project_id: 'acme',
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
  client_email: 'loader@acme.iam.gserviceaccount.com',
});

describe('credentials', () => {
  it('accepts the JSON text of a service-account key file (from ${file:...})', () => {
    expect(v.parse(googleCredentialsSchema, keyFile)).toEqual({
      type: 'service-account',
      clientEmail: 'loader@acme.iam.gserviceaccount.com',
      privateKey: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
    });
    expect(v.parse(googleCredentialsSchema, { type: 'access-token', accessToken: 't' })).toEqual({
      type: 'access-token',
      accessToken: 't',
    });
  });

  it('names what is wrong with a key file', () => {
    expect(v.safeParse(googleCredentialsSchema, 'not json').success).toBe(false);
    const wrongType = v.safeParse(
      googleCredentialsSchema,
      JSON.stringify({ type: 'authorized_user' }),
    );
    expect(wrongType.success).toBe(false);
    const messages = v.safeParse(
      googleCredentialsSchema,
      JSON.stringify({ type: 'service_account', client_email: 'x', private_key: 'y' }),
    );
    expect(messages.success).toBe(false);
  });
});
