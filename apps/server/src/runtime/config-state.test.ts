import { describe, expect, it } from 'vitest';
import type { PluginRegistry, SluiceStore } from '@sluice/core';
import { ConfigState } from './config-state.js';

// refusedReferences reads only the file's document and folder: no store or registry is touched.
const state = new ConfigState({
  store: {} as SluiceStore,
  registry: {} as PluginRegistry,
  env: { USED: 'used-secret', OTHER: 'other-secret' },
  baseDir: '/etc/sluice',
  file: {
    server: { apiKeys: [{ name: 'admin', key: '${env:USED}', scopes: ['admin'] }] },
    destinations: { out: { kind: 'file', root: '/data', token: '${file:./secrets/token}' } },
  },
});
const texts = (value: unknown, admin: boolean) =>
  state.refusedReferences(value, admin).map((r) => r.text);

describe('ConfigState.refusedReferences', () => {
  it('refuses every reference from a key without admin scope, including ones the file uses', () => {
    expect(texts({ a: '${env:USED}', b: 'x${env:OTHER}y', c: '$${env:OTHER}' }, false)).toEqual([
      '${env:USED}',
      '${env:OTHER}',
    ]);
  });
  it('lets an admin key use what the file uses, under any spelling of the same file', () => {
    const value = {
      a: '${env:USED}',
      b: '${file:/etc/sluice/secrets/token}',
      c: '${file:secrets/../secrets/token}',
      d: '${file:./secrets/token}',
    };
    expect(texts(value, true)).toEqual([]);
  });
  it('refuses from an admin key what the file does not use, references in keys, unknown schemes and malformed ones', () => {
    const value = {
      a: '${env:OTHER}',
      b: '${file:/etc/shadow}',
      '${env:USED}': 1,
      c: '${vault:USED}',
      d: '${env:${env:USED}}',
      e: '${ENV:USED}',
    };
    expect(texts(value, true)).toEqual([
      '${env:OTHER}',
      '${file:/etc/shadow}',
      '${env:USED}',
      '${vault:USED}',
      '${env:${env:USED}',
      '${ENV:USED}',
    ]);
  });
  it('follows the file on reload', () => {
    const reloaded = new ConfigState({
      store: {} as SluiceStore,
      registry: {} as PluginRegistry,
      env: {},
      baseDir: '/etc/sluice',
      file: { x: '${env:A}' },
    });
    expect(reloaded.refusedReferences('${env:A}', true)).toEqual([]);
    reloaded.setFile({ x: '${env:B}' });
    expect(reloaded.refusedReferences('${env:A}', true).map((r) => r.text)).toEqual(['${env:A}']);
  });
});
