// The README's configuration example must stay valid.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import { loadConfig, parseConfigText, parseSluiceConfig } from './index.js';

const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../README.md'), 'utf8');

describe('README', () => {
  it('has a YAML example that validates', () => {
    const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const parsed = parseConfigText(block!);
    expect(parsed.problems).toEqual([]);
    const config = parseSluiceConfig(parsed.value);
    expect(Object.keys(config.pipelines)).toEqual(['ga4-daily']);
  });
  it('shows error output that matches the loader', () => {
    const text = 'server:\n  port: "8080"\n';
    expect(() => loadConfig(text)).toThrow(ConfigError);
    expect(() => loadConfig(text)).toThrow(
      'server.port: expected number, got "8080" (line 2, column 9)',
    );
  });
});
