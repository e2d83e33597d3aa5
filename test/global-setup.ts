// vitest global setup (vitest.config.ts): before any test file runs, makes sure the services the
// suite uses are up — PostgreSQL and MariaDB on 127.0.0.1, Debian's prometheus and shellcheck —
// by running scripts/ci/services.sh, which starts only what is down (a few hundred ms when all
// run). A failure stops the run with that script's output instead of failing tests one by one.
// SLUICE_SKIP_SERVICES=1 skips it, for a machine whose services you manage yourself.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  // eslint-disable-next-line no-restricted-properties -- test harness, not a plugin
  if (process.env.SLUICE_SKIP_SERVICES === '1') return;
  const script = join(import.meta.dirname, '..', 'scripts', 'ci', 'services.sh');
  const result = spawnSync('bash', [script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  if (result.error || result.status !== 0) {
    throw new Error(
      `scripts/ci/services.sh failed (${result.error?.message ?? `exit ${result.status}`}); the tests need its services:\n${output}\n` +
        '(set SLUICE_SKIP_SERVICES=1 to run without it against services you started yourself)',
    );
  }
  if (output) console.log(output);
}
