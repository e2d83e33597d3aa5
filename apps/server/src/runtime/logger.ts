/**
 * The server's pino logger: JSON lines for machines, readable lines for people. `auto` picks
 * readable lines when standard output is a terminal, so `sluice serve` in a shell is legible and
 * the same command under systemd, Docker or a pipe writes JSON for the log collector.
 *
 * @packageDocumentation
 */
import pino, { type Logger as PinoLogger, type LoggerOptions } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogFormat, LogLevel } from '@sluice/config';

/** Options of {@link createServerLogger}. */
export interface ServerLoggerOptions {
  level: LogLevel;
  /** `json`, `pretty`, or `auto` (pretty on a terminal). */
  format: LogFormat;
  /** Applied to the arguments of every log call: secrets never reach a line. */
  redact?: (args: unknown[]) => unknown[];
  /** Whether standard output is a terminal (default `process.stdout.isTTY`). */
  isTTY?: boolean;
  /** Where lines go (default: standard output, written synchronously so the last line before an exit is not lost). */
  destination?: NodeJS.WritableStream;
}

/**
 * The format `auto` stands for here: `pretty` on a terminal, `json` otherwise.
 *
 * @example
 * ```ts
 * resolveLogFormat('auto', false); // 'json'
 * ```
 */
export function resolveLogFormat(format: LogFormat, isTTY: boolean): 'json' | 'pretty' {
  return format === 'auto' ? (isTTY ? 'pretty' : 'json') : format;
}

/**
 * Creates the server's logger.
 *
 * @example
 * ```ts
 * const logger = createServerLogger({ level: 'info', format: 'auto' });
 * logger.info({ url }, 'sluice is serving');
 * ```
 */
export function createServerLogger(options: ServerLoggerOptions): PinoLogger {
  const redact = options.redact;
  const pinoOptions: LoggerOptions = {
    level: options.level,
    ...(redact
      ? {
          hooks: {
            // Secrets never reach a log line, whichever library echoed them.
            logMethod(args, method) {
              method.apply(this, redact(args) as typeof args);
            },
          },
        }
      : {}),
  };
  const isTTY = options.isTTY ?? process.stdout.isTTY === true;
  if (resolveLogFormat(options.format, isTTY) === 'json') {
    return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
  }
  const pretty = pinoPretty({
    // In this thread, not a worker: no extra thread's memory, and nothing is lost at exit.
    ...(options.destination
      ? { destination: options.destination }
      : { destination: 1, sync: true }),
    colorize: isTTY && process.env.NO_COLOR === undefined,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,component',
    // `[scheduler] run succeeded {"runId":…}`: one line per event, the component first.
    messageFormat: '{if component}[{component}] {end}{msg}',
    singleLine: true,
    // Errors inline with the other fields, not as an indented block.
    errorLikeObjectKeys: [],
  });
  return pino(pinoOptions, pretty);
}
