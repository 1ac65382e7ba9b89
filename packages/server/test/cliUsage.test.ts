import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLAG_KEYS } from '../src/config.ts';
import { SERVE_FLAG_HELP, serveUsage } from '../src/cli/serve.ts';
import { parseCommand, isUsageError } from '../src/cli/args.ts';
import { resolveLogFormat } from '../src/util/logger.ts';

test('parley serve --help documents every config flag, and only those', () => {
  const flags = ['config', ...Object.keys(FLAG_KEYS)].sort();
  assert.deepEqual(Object.keys(SERVE_FLAG_HELP).sort(), flags);
  for (const flag of flags) assert.match(serveUsage(), new RegExp(`--${flag} +\\S`), `--${flag} has a line`);
});

test('commands refuse unknown flags, missing values and stray arguments with a usage error', () => {
  const options = { room: { type: 'string' }, help: { type: 'boolean' } } as const;
  assert.deepEqual({ ...parseCommand('token', ['--room', 'r'], options) }, { room: 'r' });
  for (const args of [['--rom', 'r'], ['--room'], ['stray'], ['--help=yes']]) {
    assert.throws(
      () => parseCommand('token', args, options),
      (err: unknown) => isUsageError(err) && /parley token --help/.test(err.message),
      args.join(' '),
    );
  }
});

test('log format: auto is pretty on a terminal and JSON otherwise', () => {
  assert.equal(resolveLogFormat('auto', true), 'pretty');
  assert.equal(resolveLogFormat('auto', false), 'json');
  assert.equal(resolveLogFormat('json', true), 'json');
  assert.equal(resolveLogFormat('pretty', false), 'pretty');
});
