// `sluice serve` as a bench's server under test: the built CLI started on a free loopback port,
// its URL read from the start-up log line, stopped with SIGTERM (SIGKILL after 30 s, and on the
// bench's own exit: a server left running would keep claiming jobs from the same store in the
// next run). Shared by the benches that measure through the real server process.
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'apps', 'server', 'dist', 'cli.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `sluice serve --config <configPath>` with `env` added to this process's environment;
 * resolves with its `child`, `url` and `stop()`.
 */
export async function startServe(configPath, env = {}) {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--config', configPath, '--port', '0', '--host', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c).length > 20_000 && (stderr = stderr.slice(-10_000)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error('server did not start within 60 s')), 60_000);
    lines.on('line', (line) => {
      // Keep draining stdout so the server never blocks on a full pipe.
      if (!line.includes('sluice is serving')) return;
      try {
        clearTimeout(timer);
        resolve(JSON.parse(line).url);
      } catch (error) {
        reject(error);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  }).catch((error) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    url,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
