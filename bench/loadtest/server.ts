// Load-test bench server: the real Parley app (Socket.IO signaling, SFU rooms, SQLite room log) on
// 127.0.0.1, a free port and a temporary data directory, with limits raised for one large room.
// Prints `READY <port>` (bench/lib/spawnReady.ts); SIGTERM closes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../packages/server/src/app.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-loadtest-'));
const app = await createApp({
  host: '127.0.0.1',
  port: 0,
  dataDir,
  logLevel: 'warn',
  media: { bindAddress: '127.0.0.1', maxPeers: 5000 },
  limits: { maxPeersPerRoom: 2000 },
  rateLimits: { connectionsPerMin: 100_000, connectionBurst: 10_000, maxConnectionsPerIp: 10_000, httpPerSec: 10_000, httpBurst: 10_000 },
});
process.stdout.write(`READY ${new URL(app.url).port}\n`);
process.once('SIGTERM', () => {
  void app.close().finally(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
