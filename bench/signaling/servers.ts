// Servers the signaling benchmark starts as child processes: `tsx servers.ts parley|socketio PORT`.
// Each prints `READY <port>` on stdout once it listens.
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { createApp } from '../../packages/server/src/app.ts';

import { BENCH_SECRET } from './secret.ts';

const [kind, portArg] = process.argv.slice(2);
const port = Number(portArg ?? 0);

if (kind === 'parley') {
  // Everything on: tokens, schema validation, rate limiting (limits raised so a saturating
  // client is measured, not throttled), metrics, the SQLite room log.
  const app = await createApp({
    port,
    logLevel: 'silent',
    dataDir: mkdtempSync(join(tmpdir(), 'parley-bench-')),
    auth: { secret: BENCH_SECRET },
    rateLimits: { eventsPerSec: 100_000, eventBurst: 100_000, connectionsPerMin: 1e6, connectionBurst: 1e6, maxConnectionsPerIp: 100_000 },
    limits: { maxPeersPerRoom: 1000, maxRooms: 100_000 },
  });
  process.stdout.write(`READY ${new URL(app.url).port}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
} else if (kind === 'socketio') {
  // The upper bound: a bare Socket.IO relay with rooms, no validation, no auth, no limits.
  const http = createServer();
  const io = new Server(http, { serveClient: false });
  io.on('connection', (socket) => {
    socket.on('join', (req: { room: string }, ack: (r: unknown) => void) => {
      void socket.join(req.room);
      ack({ ok: true, data: { self: { id: socket.id } } });
    });
    for (const event of ['offer', 'answer', 'candidate']) {
      socket.on(event, (msg: { to: string } & Record<string, unknown>, ack: (r: unknown) => void) => {
        const { to, ...rest } = msg;
        io.to(to).emit(event, { from: socket.id, ...rest });
        ack({ ok: true, data: null });
      });
    }
  });
  http.listen(port, '127.0.0.1', () => {
    const address = http.address();
    process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : port}\n`);
  });
  process.on('SIGTERM', () => void io.close(() => process.exit(0)));
} else {
  process.stderr.write('usage: servers.ts parley|socketio [port]\n');
  process.exit(2);
}
