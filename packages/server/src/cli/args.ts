import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '@parley-rtc/bots/cli/common';

export { UsageError };

type Options = NonNullable<ParseArgsConfig['options']>;

/** The help flag every command takes. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const satisfies Options;

/**
 * Parses a command's flags strictly (unknown flags, missing values and stray arguments are
 * errors) and turns node's parse errors into a UsageError naming the command.
 */
export function parseCommand<O extends Options>(
  command: string,
  args: string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    if (isParseArgsError(err)) {
      throw new UsageError(`${command}: ${err.message.replace(/\. To specify a positional argument.*$/s, '')} (parley ${command} --help)`);
    }
    throw err;
  }
}

/** True for node's parseArgs errors and our own usage errors: the user typed something wrong. */
export function isUsageError(err: unknown): err is Error {
  return err instanceof UsageError || isParseArgsError(err);
}

/** node:util parseArgs reports bad flags as TypeErrors with an ERR_PARSE_ARGS_* code. */
function isParseArgsError(err: unknown): err is TypeError {
  return err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS');
}
