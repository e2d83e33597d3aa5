// The operator scripts in scripts/: shellcheck-clean, `--help` works, and each dry run prints
// the commands it would run (nothing is executed against a cloud or a database); no script puts
// a secret on a command line or in its output (fake CLIs on a PATH of logging wrappers); and
// backup.sh honours the PGlite data folder's ownership lock.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  writeFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  utimesSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDataDirLock, DataDirLockedError } from '@sluice/store';

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
      ...readdirSync(join(root, 'scripts'), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.sh'))
        .map((f) => `scripts/${f}`),
      '.ci/run',
    ];
    expect(files.length).toBeGreaterThanOrEqual(scripts.length + 3);
    const result = spawnSync('shellcheck', ['-x', ...files], { cwd: root, encoding: 'utf8' });
    expect(
      result.error,
      'shellcheck must be installed (scripts/ci/services.sh installs it)',
    ).toBeUndefined();
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
    expect(result.stdout).toContain(
      `+ cp ${root}/examples/quickstart/sluice.yaml ${join(dir, 'sluice.yaml')}`,
    );
    expect(existsSync(join(dir, 'sluice.yaml'))).toBe(false);
  });

  it('install.sh leaves an existing config alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-install-'));
    writeFileSync(join(dir, 'sluice.yaml'), 'mine');
    const result = run('install.sh', [
      '--dry-run',
      '--skip-build',
      '--config',
      join(dir, 'sluice.yaml'),
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain('+ cp');
    expect(result.stderr).toContain('exists; leaving it as it is');
  });

  it('docker-build.sh --dry-run builds and pushes the versioned image', () => {
    const result = run('docker-build.sh', [
      '--dry-run',
      '--image',
      'registry.example/sluice',
      '--push',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /\+ docker build -t registry\.example\/sluice:\d+\.\d+\.\d+ -f \S+\/Dockerfile \S+/,
    );
    expect(result.stdout).toMatch(/\+ docker push registry\.example\/sluice:\d+\.\d+\.\d+/);
    const multi = run('docker-build.sh', [
      '--dry-run',
      '--tag',
      't1',
      '--platform',
      'linux/amd64,linux/arm64',
      '--push',
    ]);
    expect(multi.stdout).toContain(
      '+ docker buildx build --platform linux/amd64\\,linux/arm64 -t ghcr.io/sluice-dev/sluice:t1',
    );
    expect(multi.stdout).toContain('--push');
  });

  it('deploy-aws.sh --dry-run creates the database, cluster, task definition and service', () => {
    const result = run('deploy-aws.sh', [
      '--dry-run',
      '--create-db',
      '--image',
      'acct.dkr.ecr.eu-central-1.amazonaws.com/sluice:0.1.0',
      '--subnets',
      'subnet-a,subnet-b',
      '--security-groups',
      'sg-1',
      '--desired-count',
      '3',
    ]);
    expect(result.status, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toContain(
      '+ aws rds create-db-instance --region eu-central-1 --db-instance-identifier sluice --engine postgres',
    );
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
    expect(
      run('deploy-aws.sh', [
        '--dry-run',
        '--image',
        'x',
        '--subnets',
        'a',
        '--security-groups',
        'b',
        '--desired-count',
        'many',
      ]).stderr,
    ).toContain('--desired-count must be a number');
  });

  it('deploy-gcp.sh --dry-run creates Cloud SQL and deploys Cloud Run with secrets', () => {
    const result = run('deploy-gcp.sh', [
      '--dry-run',
      '--create-db',
      '--project',
      'acme',
      '--image',
      'europe-docker.pkg.dev/acme/sluice/sluice:0.1.0',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      '+ gcloud sql instances create sluice --project acme --region europe-west3 --database-version POSTGRES_16',
    );
    expect(result.stdout).toContain(
      '+ gcloud sql databases create sluice --project acme --instance sluice',
    );
    expect(result.stdout).toMatch(
      /\+ gcloud run deploy sluice .*--no-cpu-throttling --min-instances 1/,
    );
    expect(result.stdout).toContain('--add-cloudsql-instances acme:europe-west3:sluice');
    expect(result.stdout).toContain('SLUICE_STORE_URL=sluice-store-url:latest');
    expect(run('deploy-gcp.sh', ['--dry-run', '--image', 'x']).stderr).toContain(
      '--project is required',
    );
  });

  it('backup.sh --dry-run backs up and restores PostgreSQL and PGlite stores', () => {
    const pg = run('backup.sh', [
      'backup',
      '--dry-run',
      '--pg-url',
      'postgres://u@h/db',
      '--file',
      'b.dump',
    ]);
    expect(pg.stdout).toContain(
      '+ pg_dump --format=custom --no-owner --file b.dump postgres://u@h/db',
    );
    const pgRestore = run('backup.sh', [
      'restore',
      '--dry-run',
      '--pg-url',
      'postgres://u@h/db',
      '--file',
      'b.dump',
    ]);
    expect(pgRestore.stdout).toContain(
      '+ pg_restore --clean --if-exists --no-owner --dbname postgres://u@h/db b.dump',
    );
    const lite = run('backup.sh', [
      'backup',
      '--dry-run',
      '--data-dir',
      './.sluice',
      '--file',
      'b.tgz',
    ]);
    expect(lite.stdout).toContain(
      '+ tar -czf b.tgz --exclude .sluice/sluice.lock --exclude .sluice/sluice.lock.takeover -C . .sluice',
    );
    expect(lite.stderr).toContain('would take the ownership lock');
    expect(run('backup.sh', ['backup', '--dry-run', '--file', 'x']).stderr).toContain(
      'give --pg-url or --data-dir',
    );
    expect(
      run('backup.sh', ['backup', '--dry-run', '--pg-url', 'a', '--data-dir', 'b', '--file', 'x'])
        .stderr,
    ).toContain('not both');
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
    // The lock taken for the backup and for the restore is released, and is in neither folder.
    expect(existsSync(join(data, 'sluice.lock'))).toBe(false);
    const aside = readdirSync(dir).find((f) => f.startsWith('data.before-restore-')) as string;
    expect(existsSync(join(dir, aside, 'sluice.lock'))).toBe(false);
    expect(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' })).not.toContain('sluice.lock');
  });
});

// ---------------------------------------------------------------------------------------------
// Secrets (issue 13 point 8b): every script runs for real against fake CLIs, with PATH holding
// ONLY logging wrappers (so every program the script executes, cloud CLI or coreutil, records
// its argv). Secrets — generated passwords, URLs with passwords, canary credentials in the
// environment — must never appear on any argv, nor in stdout/stderr; they reach the CLIs only
// through mode-600 files that are removed afterwards, or through standard input.

const REAL_TOOLS = [
  'cat',
  'od',
  'tr',
  'mktemp',
  'chmod',
  'rm',
  'dirname',
  'basename',
  'uname',
  'readlink',
  'date',
  'tar',
  'gzip',
  'sleep',
  'touch',
  'stat',
  'mkdir',
  'mv',
  'rmdir',
  'ps',
  'cp',
  'node',
  'ls',
];
const FAKE_TOOLS = ['gcloud', 'aws', 'pg_dump', 'pg_restore', 'docker', 'npm', 'npx'];
// Canary secrets in the environment of every script: none may leak.
const CANARIES = {
  SLUICE_STORE_URL: 'postgres://sluice:canary-store-password-7f3a@db.internal:5432/sluice',
  PGPASSWORD: 'canary-pgpassword-91c2',
  AWS_SECRET_ACCESS_KEY: 'canary-aws-secret-5d8e',
  SLUICE_ADMIN_KEY: 'canary-admin-key-2b6f',
};
const CANARY_VALUES = ['canary-store-password-7f3a', ...Object.values(CANARIES).slice(1)];

interface FakeWorld {
  dir: string;
  env: Record<string, string>;
  /** Every program run so far: its name and argv. */
  calls(): { name: string; args: string[] }[];
  /** What a fake CLI read from a flags file, standard input or PGPASSFILE. */
  received(name: string): string;
}

function which(tool: string): string {
  return execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
}

function fakeWorld(): FakeWorld {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-fakes-'));
  const bin = join(dir, 'bin');
  const log = join(dir, 'log');
  const tmp = join(dir, 'tmp');
  for (const d of [bin, log, tmp]) mkdirSync(d);
  const bash = which('bash');
  const cat = which('cat');
  const stat = which('stat');
  // Appends one record (name, then each argument, separated by \x1f) per call.
  const record = `printf '%s\\x1f' "$(${which('basename')} "$0")" "$@" >>'${log}/calls'; printf '\\x1e' >>'${log}/calls'`;
  for (const tool of REAL_TOOLS) {
    writeFileSync(join(bin, tool), `#!${bash}\n${record}\nexec '${which(tool)}' "$@"\n`, {
      mode: 0o755,
    });
  }
  // The fake CLIs: record argv, and keep what they were handed through files and stdin.
  const fake = `#!${bash}
${record}
name=$(${which('basename')} "$0")
args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  case "\${args[i]}" in
    --flags-file) ${stat} -c 'mode=%a' "\${args[i+1]}" >>'${log}/'"$name"'.received'; ${cat} "\${args[i+1]}" >>'${log}/'"$name"'.received' ;;
    --data-file=-) ${cat} >>'${log}/'"$name"'.received'; printf '\\n' >>'${log}/'"$name"'.received' ;;
    --file) printf 'dump' >"\${args[i+1]}" ;;
  esac
done
if [ -n "\${PGPASSFILE:-}" ]; then ${stat} -c 'mode=%a' "$PGPASSFILE" >>'${log}/'"$name"'.received'; ${cat} "$PGPASSFILE" >>'${log}/'"$name"'.received'; fi
case "$name $*" in
  "gcloud secrets describe"*) exit "\${FAKE_SECRET_EXISTS:-1}" ;;
  "aws sts get-caller-identity"*) echo 123456789012 ;;
  "aws ecs describe-services"*) echo MISSING ;;
esac
exit 0
`;
  for (const tool of FAKE_TOOLS) writeFileSync(join(bin, tool), fake, { mode: 0o755 });
  const env: Record<string, string> = { PATH: bin, TMPDIR: tmp, HOME: dir, LANG: 'C', ...CANARIES };
  return {
    dir,
    env,
    calls() {
      if (!existsSync(join(log, 'calls'))) return [];
      return readFileSync(join(log, 'calls'), 'utf8')
        .split('\x1e')
        .filter(Boolean)
        .map((entry) => {
          const [name, ...args] = entry.split('\x1f').slice(0, -1);
          return { name: name as string, args };
        });
    },
    received(name) {
      const path = join(log, `${name}.received`);
      return existsSync(path) ? readFileSync(path, 'utf8') : '';
    },
  };
}

/** Runs a script with nothing but the world's PATH and environment (plus `extra`). */
function runIn(
  world: FakeWorld,
  script: string,
  args: string[],
  extra: Record<string, string> = {},
  input?: string,
) {
  return spawnSync(which('bash'), [join(root, 'scripts', script), ...args], {
    cwd: world.dir,
    encoding: 'utf8',
    env: { ...world.env, ...extra },
    ...(input === undefined ? {} : { input }),
    timeout: 60_000,
  });
}

function expectNoLeak(
  world: FakeWorld,
  output: { stdout: string; stderr: string },
  secrets: string[],
) {
  const calls = world.calls();
  expect(calls.length).toBeGreaterThan(0);
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThanOrEqual(8);
    for (const call of calls)
      expect(call.args.join(' '), `${call.name} got a secret on its command line`).not.toContain(
        secret,
      );
    expect(output.stdout, 'a secret was printed on stdout').not.toContain(secret);
    expect(output.stderr, 'a secret was printed on stderr').not.toContain(secret);
  }
  // Temporary secret files are gone.
  expect(readdirSync(world.env.TMPDIR as string)).toEqual([]);
}

describe('scripts never put secrets on a command line or in their output', () => {
  it('deploy-gcp.sh --create-db hands the generated password to gcloud in a mode-600 flags file and the store URL on stdin', () => {
    const world = fakeWorld();
    const result = runIn(world, 'deploy-gcp.sh', [
      '--create-db',
      '--project',
      'acme',
      '--image',
      'europe-docker.pkg.dev/acme/sluice/sluice:0.1.0',
    ]);
    expect(result.status, result.stderr).toBe(0);
    const received = world.received('gcloud');
    const password = /"--password": "([0-9a-f]{48})"/.exec(received)?.[1];
    expect(password, `gcloud never received the password:\n${received}`).toBeDefined();
    expect(received).toContain('mode=600');
    // Secret Manager got the full store URL on standard input.
    expect(received).toContain(
      `postgres://sluice:${password}@/sluice?host=/cloudsql/acme:europe-west3:sluice`,
    );
    const calls = world
      .calls()
      .filter((c) => c.name === 'gcloud')
      .map((c) => c.args.join(' '));
    expect(
      calls.some((c) =>
        c.startsWith('sql users create sluice --project acme --instance sluice --flags-file '),
      ),
    ).toBe(true);
    expect(calls).toContain(
      'secrets create sluice-store-url --project acme --replication-policy automatic --data-file=-',
    );
    expect(result.stderr).toContain('as the secret sluice-store-url (the password is not shown)');
    expectNoLeak(world, result, [password as string, ...CANARY_VALUES]);

    // An existing secret gets a new version instead; the dry run shows no password either.
    const again = fakeWorld();
    const update = runIn(
      again,
      'deploy-gcp.sh',
      ['--create-db', '--project', 'acme', '--image', 'img'],
      { FAKE_SECRET_EXISTS: '0' },
    );
    expect(update.status, update.stderr).toBe(0);
    expect(again.calls().map((c) => c.args.join(' '))).toContain(
      'secrets versions add sluice-store-url --project acme --data-file=-',
    );
    const second = /"--password": "([0-9a-f]{48})"/.exec(again.received('gcloud'))?.[1] as string;
    expect(second).not.toBe(password);
    expectNoLeak(again, update, [second, ...CANARY_VALUES]);
    const dry = runIn(fakeWorld(), 'deploy-gcp.sh', [
      '--dry-run',
      '--create-db',
      '--project',
      'acme',
      '--image',
      'img',
    ]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /\+ gcloud sql users create sluice --project acme --instance sluice --flags-file \S+/,
    );
    expect(dry.stdout).toContain('(standard input: ');
    expect(dry.stdout + dry.stderr).not.toMatch(/[0-9a-f]{48}/);
  });

  it('backup.sh takes the PostgreSQL URL from a variable, a file or stdin and hands the password to pg_dump/pg_restore in a mode-600 PGPASSFILE', () => {
    const password = 'canary-store-password-7f3a';
    for (const [label, args, input] of [
      ['--pg-url-env', ['backup', '--pg-url-env', 'SLUICE_STORE_URL', '--file', 'b.dump']],
      [
        '--pg-url-file -',
        ['backup', '--pg-url-file', '-', '--file', 'b.dump'],
        `${CANARIES.SLUICE_STORE_URL}\n`,
      ],
      ['restore --pg-url-env', ['restore', '--pg-url-env', 'SLUICE_STORE_URL', '--file', 'b.dump']],
    ] as [string, string[], string | undefined][]) {
      const world = fakeWorld();
      writeFileSync(join(world.dir, 'b.dump'), 'dump');
      const result = runIn(world, 'backup.sh', args, {}, input);
      expect(result.status, `${label}: ${result.stderr}`).toBe(0);
      const tool = args[0] === 'backup' ? 'pg_dump' : 'pg_restore';
      const call = world.calls().find((c) => c.name === tool);
      expect(call?.args, label).toContain('postgres://sluice@db.internal:5432/sluice');
      expect(world.received(tool), label).toContain(`mode=600\n*:*:*:*:${password}\n`);
      expectNoLeak(world, result, CANARY_VALUES);
    }
    // A URL file, with a password in the query and characters that need escaping in .pgpass.
    const world = fakeWorld();
    const urlFile = join(world.dir, 'store-url');
    writeFileSync(
      urlFile,
      'postgresql://sluice@db.internal/sluice?sslmode=require&password=canary%3Aquery%5Cpass\n',
      { mode: 0o600 },
    );
    const result = runIn(world, 'backup.sh', [
      'backup',
      '--pg-url-file',
      urlFile,
      '--file',
      'q.dump',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(world.calls().find((c) => c.name === 'pg_dump')?.args).toContain(
      'postgresql://sluice@db.internal/sluice?sslmode=require',
    );
    expect(world.received('pg_dump')).toContain('*:*:*:*:canary\\:query\\\\pass\n');
    expectNoLeak(world, result, ['canary:query\\pass', 'canary%3Aquery', ...CANARY_VALUES]);
  });

  it('backup.sh refuses a password on its own command line without echoing it', () => {
    const world = fakeWorld();
    for (const args of [
      ['backup', '--pg-url', 'postgres://u:canary-argv-password-44@h/db', '--file', 'x'],
      ['backup', '--pg-url', 'postgres://u@h/db?password=canary-argv-password-44', '--file', 'x'],
      ['backup', '--pg-url=postgres://u:canary-argv-password-44@h/db', '--file', 'x'],
    ]) {
      const result = runIn(world, 'backup.sh', args);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/must not contain a password|unknown option: --pg-url$/m);
      expect(result.stdout + result.stderr).not.toContain('canary-argv-password-44');
    }
    expect(world.calls().filter((c) => c.name === 'pg_dump')).toEqual([]);
  });

  it.each([
    [
      'deploy-aws.sh',
      [
        '--create-db',
        '--image',
        'acct.dkr.ecr.eu-central-1.amazonaws.com/sluice:0.1.0',
        '--subnets',
        'subnet-a',
        '--security-groups',
        'sg-1',
      ],
    ],
    ['install.sh', ['--config', 'sluice.yaml']],
    ['docker-build.sh', ['--image', 'registry.example/sluice', '--push']],
  ] as [string, string[]][])(
    '%s passes no secret of its environment to any command or output',
    (script, args) => {
      const world = fakeWorld();
      const result = runIn(world, script, args);
      expect(result.status, result.stderr).toBe(0);
      if (script === 'deploy-aws.sh') {
        const rds = world
          .calls()
          .find(
            (c) => c.name === 'aws' && c.args[0] === 'rds' && c.args[1] === 'create-db-instance',
          );
        // RDS generates the master password and keeps it in Secrets Manager: the script never sees it.
        expect(rds?.args).toContain('--manage-master-user-password');
        expect(rds?.args.join(' ')).not.toContain('--master-user-password');
      }
      expectNoLeak(world, result, CANARY_VALUES);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// The data folder lock (issue 13 point 2) as scripts see it: backup.sh speaks the store's lock
// protocol (scripts/lib/data-dir-lock.sh <-> packages/store/src/data-dir-lock.ts).

function lockText(fields: Record<string, string | number>): string {
  return (
    ['sluice-data-dir-lock 1', ...Object.entries(fields).map(([k, v]) => `${k}=${v}`)].join('\n') +
    '\n'
  );
}

function localIdentity() {
  const stat = (pid: number) => {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] as string;
  };
  return {
    host: hostname(),
    boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    pidns: readlinkSync('/proc/self/ns/pid'),
    startOf: stat,
  };
}

describe('backup.sh and the data folder ownership lock', () => {
  function folder() {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-backup-lock-'));
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'PG_VERSION'), '17');
    return { dir, data, lock: join(data, 'sluice.lock') };
  }

  it('refuses to back up or restore a folder owned by a live process, naming the folder and its pid', () => {
    const { dir, data, lock } = folder();
    const me = localIdentity();
    const text = lockText({
      pid: process.pid,
      host: me.host,
      boot: me.boot,
      pidns: me.pidns,
      start: me.startOf(process.pid),
      since: '2026-11-25T08:00:00Z',
      program: 'node cli.js',
      token: 'live-owner',
    });
    writeFileSync(lock, text);
    const file = join(dir, 'b.tgz');
    const backup = run('backup.sh', ['backup', '--data-dir', data, '--file', file]);
    expect(backup.status).toBe(1);
    expect(backup.stderr).toContain(
      `PGlite data folder ${realpathSync(data)} is in use by process ${process.pid} (node cli.js on this machine`,
    );
    expect(existsSync(file)).toBe(false);
    const restoreFrom = join(dir, 'other.tgz');
    execFileSync('tar', ['-czf', restoreFrom, '-C', dir, 'data']);
    const restore = run('backup.sh', ['restore', '--data-dir', data, '--file', restoreFrom]);
    expect(restore.status).toBe(1);
    expect(restore.stderr).toContain(`is in use by process ${process.pid}`);
    // Nothing was moved aside, and the owner's lock is untouched.
    expect(readdirSync(dir).filter((f) => f.startsWith('data.before-restore-'))).toEqual([]);
    expect(readFileSync(lock, 'utf8')).toBe(text);
  });

  it('takes over a lock left by a dead process or a reused pid, and leaves no lock in the archive', () => {
    const { dir, data, lock } = folder();
    const me = localIdentity();
    for (const [pid, start] of [
      [99_999_999, '1'],
      [process.pid, '1'], // a live pid, but not the process that took the lock
    ] as [number, string][]) {
      writeFileSync(
        lock,
        lockText({
          pid,
          host: me.host,
          boot: me.boot,
          pidns: me.pidns,
          start,
          since: 'then',
          program: 'node cli.js',
          token: `t${pid}`,
        }),
      );
      const file = join(dir, `b-${pid}.tgz`);
      const result = run('backup.sh', ['backup', '--data-dir', data, '--file', file]);
      expect(result.status, result.stderr).toBe(0);
      expect(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n')).toContain(
        'data/PG_VERSION',
      );
      expect(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' })).not.toContain(
        'sluice.lock',
      );
      expect(existsSync(lock)).toBe(false);
    }
  });

  it('judges an owner on another machine by its heartbeat', async () => {
    const { dir, data, lock } = folder();
    writeFileSync(
      lock,
      lockText({
        pid: 4242,
        host: 'other-host',
        boot: 'b',
        pidns: 'pid:[1]',
        start: '7',
        since: 'then',
        program: 'node cli.js',
        token: 'remote',
      }),
    );
    let beat = 0;
    const heart = setInterval(() => {
      beat += 1;
      const at = new Date(Date.now() + beat * 1000);
      utimesSync(lock, at, at);
    }, 300);
    const beating = await runAsync('backup.sh', [
      'backup',
      '--data-dir',
      data,
      '--file',
      join(dir, 'a.tgz'),
    ]);
    clearInterval(heart);
    expect(beating.status).toBe(1);
    expect(beating.stderr).toContain('is in use by process 4242 (node cli.js on host other-host');
    // No heartbeat for 10 s: the remote owner is gone.
    const started = Date.now();
    const stale = await runAsync('backup.sh', [
      'backup',
      '--data-dir',
      data,
      '--file',
      join(dir, 'b.tgz'),
    ]);
    expect(stale.status, stale.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9000);
    expect(existsSync(lock)).toBe(false);
  }, 60_000);

  it('excludes the store and scripts both ways: a script lock refuses the store, a store lock refuses the script, a killed script does not block', async () => {
    const { dir, data, lock } = folder();
    const script = `. '${join(root, 'scripts/lib/common.sh')}'; . '${join(root, 'scripts/lib/data-dir-lock.sh')}'; data_dir_lock '${data}' lock-test; echo locked; exec sleep 60`;
    const holder = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const gone = new Promise((done) => holder.once('exit', done));
    await new Promise<void>((ready) =>
      holder.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && ready()),
    );
    const refused = await acquireDataDirLock(data).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as DataDirLockedError).owner).toMatchObject({
      pid: holder.pid,
      program: 'lock-test',
      local: true,
    });
    holder.kill('SIGKILL');
    await gone;
    const started = Date.now();
    const lockOfStore = await acquireDataDirLock(data);
    expect(Date.now() - started).toBeLessThan(2000);
    try {
      const result = await runAsync('backup.sh', [
        'backup',
        '--data-dir',
        data,
        '--file',
        join(dir, 'c.tgz'),
      ]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`is in use by process ${process.pid}`);
    } finally {
      await lockOfStore.release();
    }
    expect(existsSync(lock)).toBe(false);
  });
});

function runAsync(
  script: string,
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('bash', [join(root, 'scripts', script), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('close', (status) => done({ status, stdout, stderr }));
  });
}
