import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@parley-rtc/test-support/poll';

const ffmpegModule = fileURLToPath(new URL('../../src/media/sources/ffmpeg.ts', import.meta.url));

function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('helper processes die with the server', () => {
  it('a SIGKILLed parent leaves no orphaned child behind', { skip: existsSync('/usr/bin/setpriv') ? false : 'no setpriv' }, async () => {
    const script = `import { spawnTied } from ${JSON.stringify(ffmpegModule)};
const c = spawnTied('/bin/sleep', ['120'], { stdio: 'ignore' });
process.stdout.write(String(c.pid) + '\\n');
setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /^\d+\n/.test(out), 15_000, 'the child pid');
    const pid = Number(out.trim());
    await waitFor(() => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep', 5000, 'setpriv to exec the program');
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    parent.kill('SIGKILL');
    await exited;
    await waitFor(() => !alive(pid), 5000, `child ${pid} to die with its parent`);
    assert.equal(alive(pid), false);
  });
});
