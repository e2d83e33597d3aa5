/** Reads back everything the file destination wrote under a root (hidden state files excluded). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import type { SluiceRecord } from '@sluice/core';

export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (!name.startsWith('.')) out.push(full);
    }
  };
  walk(root);
  return out;
}

export function readText(file: string): string {
  const raw = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

export function readRecords(root: string, format: 'ndjson' | 'json' | 'csv'): SluiceRecord[] {
  return listFiles(root).flatMap((file) => {
    const text = readText(file);
    if (format === 'ndjson')
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as SluiceRecord);
    if (format === 'json') return JSON.parse(text) as SluiceRecord[];
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    return rows.map((r) => ({
      id: Number(r.id),
      name: r.name!,
      score: Number(r.score),
      active: r.active === 'true',
    }));
  });
}
