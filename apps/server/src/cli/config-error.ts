import type { ConfigError } from '@sluice/core';

/**
 * A configuration error as the CLI prints it: one line per problem, `file:line:column` first when
 * the problem has a position (as compilers print them, so editors and terminals link them), then
 * the path by name and the message.
 */
export function formatConfigError(error: ConfigError, file?: string): string {
  const lines = error.issues.map((issue) => {
    if (issue.line === undefined) return `  ${issue.path || '(root)'}: ${issue.message}`;
    const message = issue.message.replace(/ \(line \d+, column \d+\)$/, '');
    return `  ${file ?? 'line'}:${issue.line}:${issue.column}  ${issue.path || '(root)'}: ${message}`;
  });
  const count = error.issues.length;
  const title = error.message.split('\n')[0]!.replace(/:$/, '');
  return `${title}${file ? ` in ${file}` : ''} (${count} problem${count === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}
