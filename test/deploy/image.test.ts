// Deployment configurations that start (issue 23). No container engine runs here, so the
// container image's file tree is assembled exactly as the Dockerfile's runtime stage says — its
// ENV, WORKDIR, `COPY --from=build` and `RUN mkdir` lines, under a temporary root — and its
// ENTRYPOINT + CMD is run there until the server answers /readyz; and `scripts/install.sh
// --prefix <dir>` writes a starter configuration that validates and a command that starts it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'apps/server/dist/cli.js');
const children: ChildProcess[] = [];

beforeAll(() => {
  expect(existsSync(cli), 'build first: npx nx run-many -t build').toBe(true);
});
afterEach(async () => {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
});

/** The runtime stage of the Dockerfile as instructions (continuation lines joined, comments dropped). */
function runtimeStage(): { op: string; args: string }[] {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const start = lines.findIndex((l) => /^FROM \S+ AS runtime$/i.test(l));
  expect(start, 'the Dockerfile has a runtime stage').toBeGreaterThan(0);
  return lines.slice(start + 1).map((line) => {
    const [op, ...rest] = line.split(/\s+/);
    return { op: op!.toUpperCase(), args: rest.join(' ') };
  });
}

interface Image {
  root: string;
  env: Record<string, string>;
  workdir: string;
  command: string[];
}

/** The image's path `path` inside the temporary root. */
const inImage = (image: { root: string }, path: string) => join(image.root, path);

/**
 * Copies what `COPY --from=build /src/<x> <dest>` copies: the build stage's /src is this
 * repository (built). A directory's contents go into the destination, as Docker copies them.
 * node_modules (600 MB) is linked entry by entry instead of copied, its workspace links pointing
 * into the image's own packages/ and apps/, as the copied symlinks do in the image.
 */
function copyFromBuild(image: Image, sources: string[], dest: string): void {
  const target = dest.startsWith('/') ? dest : join(image.workdir, dest);
  for (const source of sources) {
    expect(source.startsWith('/src/'), `COPY from the build stage's /src: ${source}`).toBe(true);
    const from = join(root, source.slice('/src/'.length));
    expect(existsSync(from), `${source} exists in the build stage`).toBe(true);
    const to = statSync(from).isDirectory()
      ? target
      : dest.endsWith('/') || sources.length > 1
        ? join(target, basename(from))
        : target;
    if (basename(from) === 'node_modules') {
      linkNodeModules(from, inImage(image, to));
      continue;
    }
    mkdirSync(inImage(image, statSync(from).isDirectory() ? to : join(to, '..')), {
      recursive: true,
    });
    cpSync(from, inImage(image, to), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (path) => !/\/(\.vite|\.sluice)(\/|$)/.test(path),
    });
  }
}

function linkNodeModules(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    const path = join(from, entry);
    if (entry.startsWith('@') && lstatSync(path).isDirectory()) {
      linkNodeModules(path, join(to, entry));
      continue;
    }
    // Workspace packages are relative links (../../packages/core): kept relative, they resolve inside the image.
    const link = lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
    symlinkSync(link !== undefined && !link.startsWith('/') ? link : path, join(to, entry));
  }
}

/** Builds the image's file tree under a temporary root from the Dockerfile's runtime stage. */
function assembleImage(): Image {
  const image: Image = {
    root: mkdtempSync(join(tmpdir(), 'sluice-image-')),
    env: {},
    workdir: '/',
    command: [],
  };
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  for (const { op, args } of runtimeStage()) {
    switch (op) {
      case 'ENV':
        for (const [, key, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g))
          image.env[key!] = value!.replace(/^"|"$/g, '');
        break;
      case 'WORKDIR':
        image.workdir = args.startsWith('/') ? args : join(image.workdir, args);
        mkdirSync(inImage(image, image.workdir), { recursive: true });
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        expect(words[0], 'every COPY of the runtime stage is from the build stage').toBe(
          '--from=build',
        );
        const paths = words.slice(1).filter((w) => !w.startsWith('--'));
        copyFromBuild(image, paths.slice(0, -1), paths.at(-1)!);
        break;
      }
      case 'RUN':
        // The runtime stage only creates folders (and hands them to the node user).
        for (const command of args.split('&&').map((c) => c.trim())) {
          if (command.startsWith('chown ')) continue;
          const mkdir = /^mkdir -p (.+)$/.exec(command);
          expect(mkdir, `a RUN step this test can reproduce: ${command}`).not.toBeNull();
          for (const dir of mkdir![1]!.split(/\s+/))
            mkdirSync(inImage(image, dir), { recursive: true });
        }
        break;
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(args) as string[];
        break;
      case 'CMD':
        cmd = JSON.parse(args) as string[];
        break;
      case 'USER':
      case 'EXPOSE':
      case 'HEALTHCHECK':
        break;
      default:
        throw new Error(`Dockerfile instruction this test does not reproduce: ${op} ${args}`);
    }
  }
  image.command = [...entrypoint, ...cmd];
  return image;
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** Starts `command` (argv), keeping its output, and waits until GET /readyz answers 200. */
async function startUntilReady(
  command: string[],
  options: { cwd: string; env: Record<string, string>; port: number },
): Promise<{ output: () => string }> {
  let output = '';
  const child = spawn(command[0]!, command.slice(1), {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const until = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the server exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`http://127.0.0.1:${options.port}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (ready === 200) return { output: () => output };
    if (Date.now() > until) throw new Error(`the server was not ready within 90 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const baseEnv = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: tmpdir(),
  TMPDIR: tmpdir(),
});

describe('the container image', () => {
  it("starts with its own configuration: the quick start and the secret files it references, in the image's tree", async () => {
    const image = assembleImage();
    // The image passes no --config, so SLUICE_CONFIG (injected by the cloud scripts) can win.
    expect(image.command).not.toContain('--config');
    expect(image.env['SLUICE_CONFIG_FILE']).toBe('/etc/sluice/sluice.yaml');
    const config = inImage(image, image.env['SLUICE_CONFIG_FILE']!);
    expect(existsSync(config)).toBe(true);
    for (const secret of ['quickstart-api-key', 'webhook-secret'])
      expect(existsSync(join(config, '..', secret)), secret).toBe(true);

    const port = await freePort();
    const env = {
      ...baseEnv(),
      ...Object.fromEntries(
        Object.entries(image.env).map(([k, v]) => [k, v.startsWith('/') ? inImage(image, v) : v]),
      ),
    };
    const argv = image.command.map((arg) => (arg.startsWith('/') ? inImage(image, arg) : arg));
    expect(argv[0]).toBe('node');
    // The image's CMD, on a free port instead of 8080 (other servers on this machine).
    await startUntilReady([process.execPath, ...argv.slice(1), '--port', String(port)], {
      cwd: inImage(image, image.workdir),
      env,
      port,
    });
    const key = readFileSync(join(config, '..', 'quickstart-api-key'), 'utf8').trim();
    const pipelines = await fetch(`http://127.0.0.1:${port}/api/v1/pipelines`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(pipelines.status).toBe(200);
    expect(
      ((await pipelines.json()) as { items: { name: string }[] }).items.map((p) => p.name).sort(),
    ).toEqual(['alerts', 'traffic']);
    // Its data went to the writable working directory, not next to the code.
    expect(existsSync(inImage(image, join(image.workdir, '.sluice/data')))).toBe(true);
  }, 180_000);

  it('SLUICE_CONFIG, as deploy-aws.sh and deploy-gcp.sh inject it, replaces the bundled configuration', async () => {
    const image = assembleImage();
    const port = await freePort();
    const injected = `store: { dataDir: ./injected-data }\nserver: { auth: false }\ndestinations:\n  out: { kind: file, root: ./out, path: x.ndjson }\npipelines:\n  injected:\n    source: { kind: sample }\n    routes: [{ name: all, to: [out] }]\n`;
    const env = {
      ...baseEnv(),
      ...Object.fromEntries(
        Object.entries(image.env).map(([k, v]) => [k, v.startsWith('/') ? inImage(image, v) : v]),
      ),
      SLUICE_CONFIG: injected,
    };
    const argv = image.command.map((arg) => (arg.startsWith('/') ? inImage(image, arg) : arg));
    await startUntilReady([process.execPath, ...argv.slice(1), '--port', String(port)], {
      cwd: inImage(image, image.workdir),
      env,
      port,
    });
    const pipelines = (await (await fetch(`http://127.0.0.1:${port}/api/v1/pipelines`)).json()) as {
      items: { name: string }[];
    };
    expect(pipelines.items.map((p) => p.name)).toEqual(['injected']);
  }, 180_000);
});

describe('scripts/install.sh --prefix', () => {
  it('writes a starter config that validates and prints a command that starts it', async () => {
    // npm ci and the build are this repository's (already done): fakes on the PATH stand for them.
    const work = mkdtempSync(join(tmpdir(), 'sluice-install-prefix-'));
    const bin = join(work, 'bin');
    mkdirSync(bin);
    for (const tool of ['npm', 'npx'])
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "$0 $*" >> '${join(work, 'calls')}'\n`, {
        mode: 0o755,
      });
    const prefix = join(work, 'inst');
    const env = { ...baseEnv(), PATH: `${bin}:${process.env.PATH ?? ''}` };
    const install = spawnSync('bash', [join(root, 'scripts/install.sh'), '--prefix', prefix], {
      cwd: work,
      env,
      encoding: 'utf8',
    });
    expect(install.status, install.stderr).toBe(0);
    expect(readFileSync(join(work, 'calls'), 'utf8')).toContain('npm ci');
    for (const secret of ['quickstart-api-key', 'webhook-secret']) {
      expect(statSync(join(prefix, secret)).mode & 0o777, secret).toBe(0o600);
      // Fresh values, never the repository's demo ones.
      expect(readFileSync(join(prefix, secret), 'utf8')).not.toBe(
        readFileSync(join(root, 'examples/quickstart', secret), 'utf8'),
      );
    }
    expect(install.stdout + install.stderr).not.toContain(
      readFileSync(join(prefix, 'quickstart-api-key'), 'utf8').trim(),
    );

    const validate = spawnSync(process.execPath, [cli, 'validate', join(prefix, 'sluice.yaml')], {
      cwd: work,
      env,
      encoding: 'utf8',
    });
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);

    const command = /start with: (.+)$/m.exec(install.stderr)?.[1];
    expect(command, install.stderr).toMatch(
      /^cd .+ && node .+\/apps\/server\/bin\/sluice\.js serve --config sluice\.yaml$/,
    );
    const port = await freePort();
    // `exec`: the server is the process this test stops.
    await startUntilReady(
      ['bash', '-c', `${command!.replace(' && node ', ' && exec node ')} --port ${port}`],
      { cwd: work, env, port },
    );
    const key = readFileSync(join(prefix, 'quickstart-api-key'), 'utf8').trim();
    expect(
      (
        await fetch(`http://127.0.0.1:${port}/api/v1/pipelines`, {
          headers: { authorization: `Bearer ${key}` },
        })
      ).status,
    ).toBe(200);
  }, 180_000);
});
