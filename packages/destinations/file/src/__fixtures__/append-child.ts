// A process that appends batches to one file with the file destination and prints `ack <n>`
// after batch n was acknowledged, until it is killed (the kill -9 test of append mode).
// Arguments: the destination config (JSON) and how many batches to send.
import { createPluginContext, parseConfig } from '@sluice/core';
import { fileDestination } from '../destination.js';
import { batchOf } from './append-batches.js';

const [configJson, countText] = process.argv.slice(2);
const config = parseConfig(fileDestination.configSchema, JSON.parse(configJson!));
const instance = await fileDestination.create(config, createPluginContext());
await instance.open?.();
const signal = new AbortController().signal;
process.stdout.write('ready\n');
for (let n = 0; n < Number(countText); n++) {
  await instance.write(batchOf(n), { signal });
  process.stdout.write(`ack ${n}\n`);
}
process.stdout.write('done\n');
