import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { signWebhook } from '@parley-rtc/protocol/webhooks';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const SECRET = 'cli-webhook-secret-0123456789';

function verify(body: string, signature: string, secret = SECRET): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', cli, 'webhook-verify', '--signature', signature], {
    input: body,
    encoding: 'utf8',
    env: { ...process.env, PARLEY_WEBHOOK_SECRET: secret },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('parley webhook-verify accepts a genuine body and refuses an altered one or a wrong secret', async () => {
  const body = JSON.stringify({
    id: 'e1',
    event: 'participant_joined',
    createdAt: Date.now(),
    room: 'demo',
    seq: 3,
    participant: { id: 'm', name: 'Ada' },
  });
  const signature = await signWebhook(body, SECRET);
  const good = verify(body, signature);
  assert.equal(good.status, 0, good.stderr);
  assert.equal((JSON.parse(good.stdout) as { participant: { name: string } }).participant.name, 'Ada');
  const altered = verify(body.replace('Ada', 'Eve'), signature);
  assert.equal(altered.status, 1);
  assert.match(altered.stderr, /not genuine \(mismatch\)/);
  assert.equal(verify(body, signature, 'some-other-secret-0123456789').status, 1);
  const noSignature = spawnSync(process.execPath, ['--import', 'tsx', cli, 'webhook-verify'], { input: body, encoding: 'utf8' });
  assert.equal(noSignature.status, 2);
  assert.match(noSignature.stderr, /needs --signature/);
});
