// The upper bound for bench/log.ts: a bare Socket.IO server with the same events as Parley's
// room log (join with lastSeq catch-up, chat_message with an ack, broadcast) that validates
// nothing and keeps entries only in memory (no durability at all). Prints `READY <port>`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

interface Entry {
  seq: number;
  ts: number;
  kind: 'chat';
  from: { id: string; name: string };
  text: string;
}

const http = createServer();
const io = new Server(http, { serveClient: false, maxHttpBufferSize: 256 * 1024 });
const rooms = new Map<string, Entry[]>();

io.on('connection', (socket) => {
  let room = '';
  let name = '';
  socket.on('join', (req: { room: string; name: string; lastSeq?: number }, ack: (r: unknown) => void) => {
    room = req.room;
    name = req.name;
    void socket.join(room);
    const log = rooms.get(room) ?? [];
    const entries = req.lastSeq === undefined ? log.slice(-50) : log.slice(req.lastSeq);
    ack({ ok: true, data: { self: { id: socket.id, name }, peers: [], iceServers: [], lastSeq: log.length, entries, truncated: false } });
  });
  socket.on('chat_message', (req: { text: string }, ack: (r: unknown) => void) => {
    let log = rooms.get(room);
    if (!log) rooms.set(room, (log = []));
    const entry: Entry = { seq: log.length + 1, ts: Date.now(), kind: 'chat', from: { id: socket.id, name }, text: req.text };
    log.push(entry);
    io.to(room).emit('chat_message', entry);
    ack({ ok: true, data: { seq: entry.seq, ts: entry.ts } });
  });
});

http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${(http.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  void io.close();
  http.close(() => process.exit(0));
});
