// Fake values for every secret the examples reference, shaped like the real thing where a
// plugin checks the shape (Slack tokens start with xoxb-, signing secrets with whsec_, key
// files are Google's JSON). The examples themselves never contain values: they reference
// `${env:NAME}` and `${file:path}`, and this module supplies both in the tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

const POSTGRES_URL = 'postgres://sluice:example-password@db.example.com:5432/analytics';
const SIGNING_SECRET = `whsec_${Buffer.from('example-signing-key-32-bytes-long').toString('base64')}`;
const PRIVATE_KEY =
  '-----BEGIN PRIVATE KEY-----\nMIIEexampleexampleexample\n-----END PRIVATE KEY-----\n';
const TOKEN = 'example-token-0123456789abcdefghijklmnop';

/**
 * The environment the examples are validated with. An example that references a variable not
 * listed here fails with "environment variable ... is not set": add it here, not to the example.
 */
export const EXAMPLE_ENV: Readonly<Record<string, string>> = {
  // stores and SQL databases
  SLUICE_DATABASE_URL: POSTGRES_URL,
  SLUICE_STORE_URL: POSTGRES_URL,
  DATABASE_URL: POSTGRES_URL,
  WAREHOUSE_URL: POSTGRES_URL,
  PG_URL: POSTGRES_URL,
  PG_PASSWORD: 'example-password',
  // API keys of the server (at least 16 characters)
  SLUICE_ADMIN_KEY: 'example-admin-key-0123456789',
  SLUICE_API_KEY: 'example-api-key-0123456789',
  SLUICE_CI_KEY: 'example-ci-key-0123456789',
  // SaaS credentials
  HUBSPOT_ACCESS_TOKEN: 'pat-eu1-00000000-0000-0000-0000-000000000000',
  HUBSPOT_TOKEN: 'pat-eu1-00000000-0000-0000-0000-000000000000',
  HUBSPOT_CLIENT_SECRET: '00000000-0000-0000-0000-000000000000',
  HUBSPOT_APP_SECRET: '00000000-0000-0000-0000-000000000000',
  GA4_PRIVATE_KEY: PRIVATE_KEY,
  BQ_PRIVATE_KEY: PRIVATE_KEY,
  SLACK_BOT_TOKEN: 'xoxb-000000000000-0000000000000-example',
  SLACK_TOKEN: 'xoxb-000000000000-0000000000000-example',
  SLACK_SIGNING_SECRET: '0123456789abcdef0123456789abcdef',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00',
  AWS_SECRET_ACCESS_KEY: 'example/secret/access/key/0123456789abcdef',
  SMTP_PASSWORD: 'example-smtp-password',
  // outgoing and incoming webhooks
  CRM_TOKEN: TOKEN,
  CRM_EVENTS_TOKEN: TOKEN,
  CRM_WEBHOOK_SECRET: SIGNING_SECRET,
  DAILY_WEBHOOK_SECRET: SIGNING_SECRET,
  SHOP_TOKEN: TOKEN,
};

/** A service-account key file as Google issues it (the fields Sluice reads, plus the usual others). */
export function serviceAccountKeyFile(): string {
  return `${JSON.stringify(
    {
      type: 'service_account',
      project_id: 'acme-analytics',
      private_key_id: '0123456789abcdef',
      private_key: PRIVATE_KEY,
      client_email: 'sluice@acme-analytics.iam.gserviceaccount.com',
      client_id: '100000000000000000000',
      token_uri: 'https://oauth2.googleapis.com/token',
    },
    null,
    2,
  )}\n`;
}

/** Content of a secret file, chosen by its name: key files, signing secrets, Slack tokens, tokens. */
export function fakeSecretFileContent(path: string): string {
  const name = basename(path).toLowerCase();
  if (name.endsWith('.json')) return serviceAccountKeyFile();
  if (name.includes('webhook') || name.includes('signing')) return `${SIGNING_SECRET}\n`;
  if (name.includes('slack')) return `${EXAMPLE_ENV.SLACK_BOT_TOKEN}\n`;
  return `${TOKEN}\n`;
}

const FILE_REFERENCE = /(?<!\$)\$\{file:([^}]+)\}/g;

/**
 * Creates a fake file for every `${file:path}` reference in `value` (relative paths under
 * `baseDir`; absolute paths such as `/run/secrets/ga4.json` under `baseDir/root/...`, with the
 * reference rewritten to point there) and returns the rewritten copy.
 *
 * @example
 * ```ts
 * const doc = withFakeSecretFiles({ credentials: '${file:./secrets/sa.json}' }, tmp);
 * ```
 */
export function withFakeSecretFiles<T>(value: T, baseDir: string): T {
  const visit = (node: unknown): unknown => {
    if (typeof node === 'string') {
      return node.replace(FILE_REFERENCE, (_match, path: string) => {
        const target = isAbsolute(path) ? join(baseDir, 'root', path) : join(baseDir, path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, fakeSecretFileContent(path), { mode: 0o600 });
        return `\${file:${isAbsolute(path) ? target : path}}`;
      });
    }
    if (Array.isArray(node)) return node.map(visit);
    if (node !== null && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, visit(v)]));
    return node;
  };
  return visit(value) as T;
}
