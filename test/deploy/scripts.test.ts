// The operator scripts in scripts/: shellcheck-clean, `--help` works, and each dry run prints
// the commands it would run (nothing is executed against a cloud or a database).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const scripts = ['install.sh', 'docker-build.sh', 'deploy-aws.sh', 'deploy-gcp.sh', 'backup.sh'];

function run(script: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync('bash', [join(root, 'scripts', script), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

describe('scripts', () => {
  it('pass shellcheck', () => {
    const files = [
      ...readdirSync(join(root, 'scripts'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.sh')).map((f) => `scripts/${f}`),
      '.ci/run',
    ];
    expect(files.length).toBeGreaterThanOrEqual(scripts.length + 3);
    const result = spawnSync('shellcheck', ['-x', ...files], { cwd: root, encoding: 'utf8' });
    expect(result.error, 'shellcheck must be installed (scripts/ci/services.sh installs it)').toBeUndefined();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(scripts)('%s has --help and strict mode', (script) => {
    const text = execFileSync('cat', [join(root, 'scripts', script)], { encoding: 'utf8' });
    expect(text).toContain('set -euo pipefail');
    const help = run(script, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: scripts\//);
    expect(help.stdout).toContain('--dry-run');
  });

  it.each(scripts)('%s rejects an unknown option', (script) => {
    const args = script === 'backup.sh' ? ['backup', '--bogus'] : ['--bogus'];
    const result = run(script, args);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('unknown option: --bogus');
  });

  it('install.sh --dry-run installs, builds and writes a starter config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-install-'));
    const result = run('install.sh', ['--dry-run', '--config', join(dir, 'sluice.yaml')]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`+ npm ci --prefix ${root}`);
    expect(result.stdout).toContain('nx run-many -t build');
    expect(result.stdout).toContain(`+ cp ${root}/examples/quickstart/sluice.yaml ${join(dir, 'sluice.yaml')}`);
    expect(existsSync(join(dir, 'sluice.yaml'))).toBe(false);
  });

  it('install.sh leaves an existing config alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-install-'));
    writeFileSync(join(dir, 'sluice.yaml'), 'mine');
    const result = run('install.sh', ['--dry-run', '--skip-build', '--config', join(dir, 'sluice.yaml')]);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain('+ cp');
    expect(result.stderr).toContain('exists; leaving it as it is');
  });

  it('docker-build.sh --dry-run builds and pushes the versioned image', () => {
    const result = run('docker-build.sh', ['--dry-run', '--image', 'registry.example/sluice', '--push']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\+ docker build -t registry\.example\/sluice:\d+\.\d+\.\d+ -f \S+\/Dockerfile \S+/);
    expect(result.stdout).toMatch(/\+ docker push registry\.example\/sluice:\d+\.\d+\.\d+/);
    const multi = run('docker-build.sh', ['--dry-run', '--tag', 't1', '--platform', 'linux/amd64,linux/arm64', '--push']);
    expect(multi.stdout).toContain('+ docker buildx build --platform linux/amd64\\,linux/arm64 -t ghcr.io/sluice-dev/sluice:t1');
    expect(multi.stdout).toContain('--push');
  });

  it('deploy-aws.sh --dry-run creates the database, cluster, task definition and service', () => {
    const result = run('deploy-aws.sh', [
      '--dry-run', '--create-db', '--image', 'acct.dkr.ecr.eu-central-1.amazonaws.com/sluice:0.1.0',
      '--subnets', 'subnet-a,subnet-b', '--security-groups', 'sg-1', '--desired-count', '3',
    ]);
    expect(result.status, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toContain('+ aws rds create-db-instance --region eu-central-1 --db-instance-identifier sluice --engine postgres');
    expect(out).toContain('--manage-master-user-password');
    expect(out).toContain('+ aws ecs create-cluster --region eu-central-1 --cluster-name sluice');
    expect(out).toContain('+ aws ecs register-task-definition');
    expect(out).toContain('"image": "acct.dkr.ecr.eu-central-1.amazonaws.com/sluice:0.1.0"');
    expect(out).toMatch(/\+ aws ecs create-service .*--desired-count 3 --launch-type FARGATE/);
    expect(out).toContain('+ aws ecs wait services-stable');
  });

  it('deploy-aws.sh names a missing required option', () => {
    const result = run('deploy-aws.sh', ['--dry-run', '--image', 'x']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('--subnets is required');
    expect(run('deploy-aws.sh', ['--dry-run', '--image', 'x', '--subnets', 'a', '--security-groups', 'b', '--desired-count', 'many']).stderr).toContain(
      '--desired-count must be a number',
    );
  });

  it('deploy-gcp.sh --dry-run creates Cloud SQL and deploys Cloud Run with secrets', () => {
    const result = run('deploy-gcp.sh', ['--dry-run', '--create-db', '--project', 'acme', '--image', 'europe-docker.pkg.dev/acme/sluice/sluice:0.1.0']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('+ gcloud sql instances create sluice --project acme --region europe-west3 --database-version POSTGRES_16');
    expect(result.stdout).toContain('+ gcloud sql databases create sluice --project acme --instance sluice');
    expect(result.stdout).toMatch(/\+ gcloud run deploy sluice .*--no-cpu-throttling --min-instances 1/);
    expect(result.stdout).toContain('--add-cloudsql-instances acme:europe-west3:sluice');
    expect(result.stdout).toContain('SLUICE_STORE_URL=sluice-store-url:latest');
    expect(run('deploy-gcp.sh', ['--dry-run', '--image', 'x']).stderr).toContain('--project is required');
  });

  it('backup.sh --dry-run backs up and restores PostgreSQL and PGlite stores', () => {
    const pg = run('backup.sh', ['backup', '--dry-run', '--pg-url', 'postgres://u@h/db', '--file', 'b.dump']);
    expect(pg.stdout).toContain('+ pg_dump --format=custom --no-owner --file b.dump postgres://u@h/db');
    const pgRestore = run('backup.sh', ['restore', '--dry-run', '--pg-url', 'postgres://u@h/db', '--file', 'b.dump']);
    expect(pgRestore.stdout).toContain('+ pg_restore --clean --if-exists --no-owner --dbname postgres://u@h/db b.dump');
    const lite = run('backup.sh', ['backup', '--dry-run', '--data-dir', './.sluice', '--file', 'b.tgz']);
    expect(lite.stdout).toContain('+ tar -czf b.tgz -C . .sluice');
    expect(run('backup.sh', ['backup', '--dry-run', '--file', 'x']).stderr).toContain('give --pg-url or --data-dir');
    expect(run('backup.sh', ['backup', '--dry-run', '--pg-url', 'a', '--data-dir', 'b', '--file', 'x']).stderr).toContain('not both');
    expect(run('backup.sh', ['explode']).status).not.toBe(0);
  });

  it('backup.sh really backs up and restores a data folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-backup-'));
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'PG_VERSION'), '17');
    const file = join(dir, 'backup.tgz');
    expect(run('backup.sh', ['backup', '--data-dir', data, '--file', file]).status).toBe(0);
    writeFileSync(join(data, 'PG_VERSION'), 'changed');
    expect(run('backup.sh', ['restore', '--data-dir', data, '--file', file]).status).toBe(0);
    expect(execFileSync('cat', [join(data, 'PG_VERSION')], { encoding: 'utf8' })).toBe('17');
    expect(readdirSync(dir).some((f) => f.startsWith('data.before-restore-'))).toBe(true);
  });
});
