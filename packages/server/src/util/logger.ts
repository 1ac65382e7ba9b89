import pino from 'pino';

export type Logger = pino.Logger;

/** One root logger per server; modules take a child with `{ module: 'name' }`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'parley' } });
}
