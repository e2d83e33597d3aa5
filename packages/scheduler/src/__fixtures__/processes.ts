/**
 * Starts and stops scheduler instances as child processes. Not exported.
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HOOKS = fileURLToPath(new URL('./ts-hooks.mjs', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./instance-process.ts', import.meta.url));

/** A running child instance. */
export interface InstanceProcess {
  child: ChildProcess;
  /** Everything it wrote to stderr (for failure messages). */
  stderr(): string;
  /** Kills it with SIGKILL, like a crash. */
  kill9(): Promise<void>;
  /** SIGTERM, then waits for a graceful exit. */
  stop(): Promise<void>;
}

/**
 * Starts `instance-process.ts` with `args` and waits until it printed "ready".
 *
 * @example
 * ```ts
 * const a = await startInstance({ url, queueName, instance: 'a', mode: 'cron', pipeline: 'tick' });
 * ```
 */
export async function startInstance(
  args: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<InstanceProcess> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@sluice/source',
      '--import',
      HOOKS,
      '--no-warnings',
      SCRIPT,
      JSON.stringify(args),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`instance did not start in ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited with ${code} before it was ready: ${stderr}`));
    });
  });
  return {
    child,
    stderr: () => stderr,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
