// Writes a fresh random secret to a file (mode 600, never overwriting one), so the value is on
// no command line and in no output: `node new-secret.mjs FILE key` — an API key of 48 hex
// characters; `node new-secret.mjs FILE whsec` — a Standard Webhooks secret (whsec_ + base64).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const [file, kind] = process.argv.slice(2);
if (!file || (kind !== 'key' && kind !== 'whsec')) {
  console.error('usage: node new-secret.mjs FILE key|whsec');
  process.exit(2);
}
const value =
  kind === 'whsec'
    ? `whsec_${randomBytes(24).toString('base64')}`
    : randomBytes(24).toString('hex');
writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
