// A root under a folder that refuses new entries with ENOENT (procfs) must fail, not hang: Node's
// recursive mkdir never returns there, and used to hold a run `running` for ever.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { confineTo } from './confined-root.js';

describe.runIf(existsSync('/proc/self'))('a root that cannot be created', () => {
  it('openFolder rejects at once, naming the folder', async () => {
    const confined = confineTo('/proc/sluice-unwritable-root/deeper');
    await confined.pin();
    const started = Date.now();
    await expect(confined.openFolder('a/b')).rejects.toThrow(
      /cannot create the folder \/proc\/sluice-unwritable-root: ENOENT/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 10_000);

  it('realRoot rejects too, and is tried again on the next call', async () => {
    const confined = confineTo('/proc/sluice-unwritable-root');
    await expect(confined.realRoot()).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(confined.realRoot()).rejects.toMatchObject({ code: 'ENOENT' });
  }, 10_000);
});
