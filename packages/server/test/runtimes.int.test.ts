// Parley on the other supported Node releases (22 and 24; the suite itself runs on the machine's
// Node): the room log on node:sqlite (no compiler needed there), and the compiled server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { connectSocket, request } from '@parley-rtc/test-support/server';
import { nodeBinary } from './otherNode.ts';
import { repoRoot, userEnv } from '@parley-rtc/test-support/packed';
import { spawnListening } from './serverProcess.ts';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'parley-runtimes-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

for (const major of [22, 24]) {
  describe(`Node ${major}`, () => {
    test('the room-log suite passes on node:sqlite', async () => {
      const node = nodeBinary(major);
      const file = join(repoRoot, 'packages/server/test/sqliteLogStore.int.test.ts');
      // Without NODE_TEST_CONTEXT the child reports to its stdout, not to this test runner.
      const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_EXPECT_SQLITE: 'node:sqlite' };
      delete env['NODE_TEST_CONTEXT'];
      const { stdout } = await run(node, ['--import', 'tsx', '--test', '--test-reporter=spec', file], {
        cwd: repoRoot,
        env,
        maxBuffer: 16 << 20,
      });
      assert.match(stdout, /SQLite on node:sqlite/);
      assert.match(stdout, /ℹ fail 0/);
      assert.doesNotMatch(stdout, /ℹ pass 0\b/);
    });

    test('the compiled server runs: health, a join, a clean SIGTERM', async () => {
      const node = nodeBinary(major);
      const dataDir = mkdtempSync(join(scratch, `node${major}-`));
      const server = await spawnListening(
        node,
        [join(repoRoot, 'packages/server/dist/cli.js'), 'serve', '--port', '0', '--data-dir', dataDir, '--log-format', 'json'],
        {
          cwd: dataDir,
          env: userEnv(),
        },
      );
      try {
        assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
        const socket = await connectSocket(server.url);
        try {
          const ack = await request(socket, 'join', { room: `node${major}`, name: 'Ada' });
          assert.equal(ack.ok, true, JSON.stringify(ack));
          const chat = await request(socket, 'chat_message', { text: 'stored on node:sqlite' });
          assert.equal(chat.ok, true, JSON.stringify(chat));
        } finally {
          socket.close();
        }
        server.child.kill('SIGTERM');
        assert.equal((await server.exited).code, 0);
      } finally {
        await server.kill();
      }
    });
  });
}
