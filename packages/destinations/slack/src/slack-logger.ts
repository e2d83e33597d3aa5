/**
 * Routes the Slack SDK's own log lines into the plugin's logger instead of the console.
 *
 * @packageDocumentation
 */
import { LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from '@sluice/core';

const ORDER = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];

/**
 * Adapts a Sluice (pino-style) logger to the `Logger` interface `WebClient` expects.
 *
 * @example
 * ```ts
 * new WebClient(token, { logger: slackLoggerFor(ctx.logger) });
 * ```
 */
export function slackLoggerFor(logger: Logger): SlackLogger {
  let level = LogLevel.INFO;
  let name = 'web-api';
  const at =
    (wanted: LogLevel, write: (obj: object, msg?: string) => void) =>
    (...msg: unknown[]) => {
      if (ORDER.indexOf(wanted) < ORDER.indexOf(level)) return;
      write(
        { slackSdk: name },
        msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' '),
      );
    };
  return {
    debug: at(LogLevel.DEBUG, (o, m) => logger.debug(o, m)),
    info: at(LogLevel.INFO, (o, m) => logger.debug(o, m)),
    warn: at(LogLevel.WARN, (o, m) => logger.warn(o, m)),
    error: at(LogLevel.ERROR, (o, m) => logger.error(o, m)),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: (next) => {
      name = next;
    },
  };
}
