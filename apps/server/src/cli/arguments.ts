/** Parsers of option values shared by the commands; a bad value is a usage error commander prints. */
import { InvalidArgumentError } from 'commander';

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port number 0-65535');
  return n;
}

export function logFormat(value: string): 'auto' | 'json' | 'pretty' {
  if (value !== 'auto' && value !== 'json' && value !== 'pretty')
    throw new InvalidArgumentError('json, pretty or auto');
  return value;
}

export function date(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new InvalidArgumentError('a date as YYYY-MM-DD');
  return value;
}
