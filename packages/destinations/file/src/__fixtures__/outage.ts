import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileConfig } from '../config.js';

// Root runs the tests here, so permissions cannot simulate an outage: a plain file where the
// output folder must go makes every write fail until it is removed.
export const blockOutputFolder = {
  inject: (config: FileConfig) => {
    const blocker = join(config.root, 'out');
    mkdirSync(config.root, { recursive: true });
    rmSync(blocker, { recursive: true, force: true });
    writeFileSync(blocker, 'not a folder');
    return () => rmSync(blocker, { force: true });
  },
};
