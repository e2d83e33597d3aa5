// The sources tools/new-package.mjs writes for a first-party plugin package: the one layout of
// tools/lib/skeleton.mjs around a small working example (a connector yielding a numbered
// sequence; a destination writing one NDJSON file per batch), contract-tested from the start.
// The outsider's scaffold with the same examples is packages/create-plugin/templates/.

/** `google-sheets` -> `googleSheets`. */
const camelCase = (text) => text.replace(/[-_.]+([a-z0-9])/g, (_, c) => c.toUpperCase());

/**
 * @param {{ kind: 'connector' | 'destination', folder: string, packageName: string, description: string }} options
 *   `folder`: the package folder's name, also the plugin kind (`kind: <folder>` in sluice.yaml)
 * @returns {Record<string, string>} path inside the package -> text
 */
export function pluginSources({ kind, folder, packageName, description }) {
  const camel = camelCase(folder);
  const pascal = camel[0].toUpperCase() + camel.slice(1);
  const definition = `${camel}${kind === 'connector' ? 'Connector' : 'Destination'}`;
  const factory = `create${pascal}${kind === 'connector' ? 'Connector' : 'Destination'}`;
  const plugin = `${camel}Plugin`;
  const group = kind === 'connector' ? 'connectors' : 'destinations';

  const files = {
    'src/index.ts': `/**
 * \`${packageName}\`: ${description}
 *
 * @example
 * \`\`\`ts
 * import { PluginRegistry } from '@sluice/core';
 * import ${plugin} from '${packageName}';
 * const registry = new PluginRegistry().register(${plugin});
 * \`\`\`
 *
 * @packageDocumentation
 */
import { ${plugin} } from './plugin.js';

export { ${plugin} } from './plugin.js';
export { ${factory}, ${definition} } from './${kind}.js';
export { ${camel}ConfigSchema, type ${pascal}Config } from './config.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so \`plugins: ["${packageName}"]\` in sluice.yaml loads it by package name.
export default ${plugin};
`,
    'src/plugin.ts': `import { definePlugin } from '@sluice/core';
import { ${definition} } from './${kind}.js';

/**
 * The plugin bundling the \`${folder}\` ${kind}, for \`PluginRegistry.register\`.
 *
 * @example
 * \`\`\`ts
 * import { PluginRegistry } from '@sluice/core';
 * import { ${plugin} } from '${packageName}';
 * const registry = new PluginRegistry().register(${plugin});
 * \`\`\`
 */
export const ${plugin} = definePlugin({
  name: '${packageName}',
  version: '0.1.0',
  sluice: '^1',
  ${group}: [${definition}],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so \`plugins: ["${packageName}"]\` in sluice.yaml loads it by package name.
export default ${plugin};
`,
  };

  if (kind === 'connector') {
    files['src/config.ts'] = `import * as v from 'valibot';

/** The options of \`kind: ${folder}\`: validated, typed in \`create\`, exported as JSON Schema. */
export const ${camel}ConfigSchema = v.object({
  /** How many records a full read yields. */
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 10),
  /** Records per page: the engine commits the page's checkpoint once every destination has them. */
  pageSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 100),
});

/** The validated config of the \`${folder}\` connector. */
export type ${pascal}Config = v.InferOutput<typeof ${camel}ConfigSchema>;
`;
    files['src/connector.ts'] = `import * as v from 'valibot';
import { FatalError, defineConnector, type ConnectorInstance, type PluginContext } from '@sluice/core';
import { ${camel}ConfigSchema, type ${pascal}Config } from './config.js';

/** The checkpoint saved with each page: where the next read starts. */
const checkpointSchema = v.object({ next: v.pipe(v.number(), v.integer(), v.minValue(0)) });

/**
 * One \`${folder}\` connector instance: yields the records \`{ id, value }\` for ids 0 to
 * \`count - 1\`, page by page. Replace the body of \`read\` with calls to the source; keep the
 * shape: pages of plain JSON records, a checkpoint per page, the signal checked before each page.
 */
export function ${factory}(config: ${pascal}Config, ctx: PluginContext): ConnectorInstance {
  return {
    async *read(request, signal) {
      let next = 0;
      if (request.state !== undefined) {
        // A checkpoint from an older version must not silently restart the read.
        const saved = v.safeParse(checkpointSchema, request.state);
        if (!saved.success) throw new FatalError(\`state.next: the saved checkpoint \${JSON.stringify(request.state)} is not { next: <whole number> }\`);
        next = saved.output.next;
      }
      while (next < config.count) {
        signal.throwIfAborted();
        const end = Math.min(next + config.pageSize, config.count);
        const records = [];
        for (let id = next; id < end; id++) records.push({ id, value: \`record \${id}\` });
        next = end;
        ctx.logger.debug({ next }, 'page read');
        yield { records, state: { next } };
      }
    },
    async discover() {
      return [{ name: '${folder}', fields: [{ name: 'id', type: 'number' }, { name: 'value', type: 'string' }] }];
    },
  };
}

/**
 * The \`${folder}\` connector definition.
 *
 * @example
 * \`\`\`yaml
 * source: { kind: ${folder}, count: 250, pageSize: 100 }
 * \`\`\`
 */
export const ${definition} = defineConnector({
  kind: '${folder}',
  version: '0.1.0',
  // Records are a function of the position: a re-read from the same state is identical.
  rereads: 'same',
  description: ${JSON.stringify(description || `The ${folder} connector.`)},
  configSchema: ${camel}ConfigSchema,
  create: (config, ctx) => ${factory}(config, ctx),
});
`;
    files['src/contract.test.ts'] = `import { testConnector } from '@sluice/testing';
import { ${definition} } from './connector.js';

// The contract every Sluice connector runs: paging, resuming from any checkpoint without losing
// a record, abort, check()/discover(). Give it \`errors\` cases once the source can fail.
testConnector({
  name: '${folder}',
  definition: ${definition},
  config: () => ({ count: 250, pageSize: 100 }),
  key: (record) => String(record.id),
  expectedCount: 250,
});
`;
    return files;
  }

  files['src/config.ts'] = `import * as v from 'valibot';

/** The options of \`kind: ${folder}\`: validated, typed in \`create\`, exported as JSON Schema. */
export const ${camel}ConfigSchema = v.object({
  /** Folder the batches are written to, one \`<batch id>.ndjson\` file per batch. */
  dir: v.pipe(v.string(), v.minLength(1, 'a folder is required')),
});

/** The validated config of the \`${folder}\` destination. */
export type ${pascal}Config = v.InferOutput<typeof ${camel}ConfigSchema>;
`;
  files['src/errors.ts'] = `import { FatalError, RetryableError } from '@sluice/core';

// What a retry cannot fix: the engine stops instead of retrying.
const FATAL_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * Maps a failed write onto a Sluice error: a permission problem is fatal, anything else (a full
 * disk, a missing folder) is retried.
 */
export function map${pascal}Error(error: unknown, file: string): FatalError | RetryableError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = \`dir: cannot write \${file}: \${(error as Error).message}\`;
  return FATAL_CODES.has(code) ? new FatalError(message, { cause: error }) : new RetryableError(message, { cause: error });
}
`;
  files['src/destination.ts'] = `import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineDestination, type DestinationInstance, type PluginContext } from '@sluice/core';
import { ${camel}ConfigSchema, type ${pascal}Config } from './config.js';
import { map${pascal}Error } from './errors.js';

/**
 * One \`${folder}\` destination instance: writes each batch as \`<dir>/<batch id>.ndjson\`.
 * Replace the body of \`write\` with calls to the target; keep the rules: resolve only when every
 * record is durably accepted, throw a RetryableError for what a retry can fix, a FatalError for
 * what it cannot.
 */
export function ${factory}(config: ${pascal}Config, _ctx: PluginContext): DestinationInstance {
  return {
    async write(batch, { signal }) {
      const file = join(config.dir, \`\${batch.id}.ndjson\`);
      const text = batch.records.map((record) => \`\${JSON.stringify(record)}\\n\`).join('');
      try {
        await mkdir(config.dir, { recursive: true });
        // Write, then rename: a crash never leaves half a batch under the final name.
        await writeFile(\`\${file}.partial\`, text, { signal });
        await rename(\`\${file}.partial\`, file);
      } catch (error) {
        if (signal.aborted) throw error;
        throw map${pascal}Error(error, file);
      }
    },
  };
}

/**
 * The \`${folder}\` destination definition.
 *
 * @example
 * \`\`\`yaml
 * destinations:
 *   out: { kind: ${folder}, dir: ./out }
 * \`\`\`
 */
export const ${definition} = defineDestination({
  kind: '${folder}',
  version: '0.1.0',
  description: ${JSON.stringify(description || `The ${folder} destination.`)},
  configSchema: ${camel}ConfigSchema,
  // A batch's id is deterministic, so a repeat rewrites the same file: writing twice leaves one copy.
  capabilities: { idempotent: true, idempotency: 'batch', maxBatch: 1000 },
  create: (config, ctx) => ${factory}(config, ctx),
});
`;
  files['src/contract.test.ts'] =
    `import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { SluiceRecord } from '@sluice/core';
import { testDestination } from '@sluice/testing';
import { ${definition} } from './destination.js';

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function readNdjson(dir: string): SluiceRecord[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.ndjson'))
    .flatMap((file) => readFileSync(join(dir, file), 'utf8').split('\\n').filter(Boolean))
    .map((line) => JSON.parse(line) as SluiceRecord);
}

// The contract every Sluice destination runs: a batch arrives whole, a transient failure is
// retryable and the retry delivers, a repeated batch leaves one copy, bad config names its path.
testDestination({
  name: '${folder}',
  definition: ${definition},
  config: () => {
    const folder = mkdtempSync(join(tmpdir(), '${folder}-'));
    folders.push(folder);
    return { dir: join(folder, 'out') };
  },
  readBack: async (config) => readNdjson(config.dir),
  invalidConfigs: [
    { name: 'no dir', config: {}, path: 'dir' },
    { name: 'empty dir', config: { dir: '' }, path: 'dir' },
  ],
  // Files are named by batch id, so a new instance (a take-over after a crash) absorbs the repeat too.
  repeatBatch: { acrossInstances: true },
  // A file where the output folder should be makes every write fail until it is removed.
  transientFailure: {
    inject: (config) => {
      writeFileSync(config.dir, 'not a folder');
      return () => rmSync(config.dir);
    },
  },
});
`;
  return files;
}
