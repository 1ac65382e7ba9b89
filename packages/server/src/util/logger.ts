import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

/** `pretty`: coloured, one line per record, for people; `json`: one JSON object per line, for machines. */
export type LogFormat = 'auto' | 'pretty' | 'json';

/** `auto` means pretty when standard output is a terminal and JSON otherwise (files, journald, pipes). */
export function resolveLogFormat(format: LogFormat, stdoutIsTty = process.stdout.isTTY === true): 'pretty' | 'json' {
  return format === 'auto' ? (stdoutIsTty ? 'pretty' : 'json') : format;
}

/** One root logger per server; modules take a child with `{ module: 'name' }`. */
export function createLogger(level: string, format: LogFormat = 'json'): Logger {
  const options = { level, base: { service: 'parley' } };
  if (resolveLogFormat(format) === 'json') return pino(options);
  // Synchronous, so the last lines before an exit are not lost; colours only on a terminal.
  const stream = pretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    ignore: 'pid,hostname,service',
    translateTime: 'SYS:HH:MM:ss.l',
  });
  return pino(options, stream);
}
